//! Errors for people: every failure the UI can show is a sentence, with the protocol's stable code
//! kept alongside when there is one.

use outpost_protocol::IntentError;
use std::fmt;

/// A problem explained in words a person understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem(pub String);

impl Problem {
    pub fn new(text: impl Into<String>) -> Self {
        Problem(text.into())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The protocol's sentence for the code, then the detail that says what exactly was wrong.
pub fn explain(e: &IntentError) -> String {
    let text = e.code.description();
    // Details often repeat "action 0 (transfer): <description>"; show the description once.
    let detail = e.detail.trim();
    if detail.is_empty() || detail == text || detail.ends_with(text) {
        let mut s = text.to_owned();
        if let Some(prefix) = detail.strip_suffix(text) {
            let prefix = prefix.trim_end_matches([':', ' ']);
            if !prefix.is_empty() {
                s = format!("{text} ({prefix})");
            }
        }
        s
    } else {
        format!("{text}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_protocol::ErrorCode;

    #[test]
    fn explanations_do_not_repeat_themselves() {
        let e = IntentError::new(ErrorCode::ZeroAmount, "action 0 (transfer): the amount must be greater than zero");
        assert_eq!(explain(&e), "the amount must be greater than zero (action 0 (transfer))");
        let e = IntentError::from(ErrorCode::ZeroAmount);
        assert_eq!(explain(&e), "the amount must be greater than zero");
        let e = IntentError::new(ErrorCode::MemoTooLong, "action 0 (transfer): 300 bytes, at most 256");
        assert_eq!(explain(&e), "the memo is too long: action 0 (transfer): 300 bytes, at most 256");
    }
}
