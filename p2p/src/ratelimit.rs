//! A token bucket, with time passed in (seconds as `f64`) so the same code runs natively
//! (`Instant`) and in the browser (`Date.now()`), and tests drive it without sleeping.

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last_s: f64,
}

impl TokenBucket {
    /// A bucket that starts full at `now_s`.
    pub fn full(limit: RateLimit, now_s: f64) -> Self {
        TokenBucket { tokens: limit.burst, last_s: now_s }
    }

    /// Takes one token when there is one. A clock that goes backwards refills nothing.
    pub fn take(&mut self, limit: RateLimit, now_s: f64) -> bool {
        let elapsed = (now_s - self.last_s).max(0.0);
        self.tokens = (self.tokens + elapsed * limit.per_second).min(limit.burst);
        self.last_s = self.last_s.max(now_s);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// True when the bucket is full again (it can be forgotten: a new one starts full).
    pub fn is_full(&self, limit: RateLimit, now_s: f64) -> bool {
        self.tokens + (now_s - self.last_s).max(0.0) * limit.per_second >= limit.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limit = RateLimit { per_second: 2.0, burst: 3.0 };
        let mut b = TokenBucket::full(limit, 100.0);
        assert_eq!((0..5).filter(|_| b.take(limit, 100.0)).count(), 3, "the burst");
        assert!(!b.take(limit, 100.2), "0.4 of a token is not one");
        assert!(b.take(limit, 100.5), "one token after half a second at 2/s");
        assert!(!b.take(limit, 100.5));
        assert_eq!((0..10).filter(|_| b.take(limit, 1000.0)).count(), 3, "refill stops at the burst");
        assert!(!b.take(limit, 50.0), "a clock going backwards refills nothing");
        assert!(b.is_full(limit, 2000.0));
    }
}
