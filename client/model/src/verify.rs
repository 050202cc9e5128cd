//! Verify a signed intent someone handed over (pasted JSON, a file, or QR text): each offline check
//! reported separately so a person sees which one failed, then the verdict of the protocol crate's
//! `verify_signed_intent` (the contract's own order). Online checks (nonce unused, balances) take
//! the RPC answers as inputs.

use crate::words::{explain, Problem};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use outpost_protocol::gossip::GossipMessage;
use outpost_protocol::nep413::Payload;
use outpost_protocol::validate::{check_deadline, check_sizes, decode_intent, validate_actions};
use outpost_protocol::{verify_signed_intent, Action, Crypto, DalekCrypto, Intent, SignedIntent, TokenId};
use std::collections::BTreeMap;

/// One check and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub text: String,
}

/// The offline verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub signed: SignedIntent,
    pub intent: Option<Intent>,
    pub hash: String,
    pub checks: Vec<Check>,
    /// `Ok` exactly when the contract's stateless rules accept it.
    pub verdict: Result<(), String>,
}

/// Accepts a `SignedIntent` JSON, a gossip message carrying one, or either in base64 (QR codes
/// often carry base64 text).
pub fn parse_any(text: &str) -> Result<SignedIntent, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new("paste a signed intent (JSON) or load it from a file"));
    }
    let json = if text.starts_with('{') {
        text.to_owned()
    } else {
        let bytes = B64
            .decode(text.replace(['\n', '\r', ' '], ""))
            .map_err(|_| Problem::new("this is neither JSON nor base64 of JSON"))?;
        String::from_utf8(bytes).map_err(|_| Problem::new("the base64 text does not hold JSON"))?
    };
    if let Ok(GossipMessage::Intent { intent }) = serde_json::from_slice::<GossipMessage>(json.as_bytes()) {
        return Ok(intent);
    }
    serde_json::from_slice::<SignedIntent>(json.as_bytes()).map_err(|e| Problem::new(format!("not a signed intent: {e}")))
}

/// Runs the offline checks for the intents contract `recipient` at `now_ns`.
pub fn verify_offline(signed: SignedIntent, recipient: &str, now_ns: u64) -> Report {
    let mut checks = Vec::new();
    let hash = Payload::of(&signed).hash(&DalekCrypto);
    let size = check_sizes(&signed);
    checks.push(Check { name: "size", ok: size.is_ok(), text: size.err().map_or("within limits".into(), |e| explain(&e)) });
    let sig_ok = DalekCrypto.ed25519_verify(&signed.signature.0, &hash.0, &signed.public_key.0);
    checks.push(Check {
        name: "signature",
        ok: sig_ok,
        text: if sig_ok { format!("signed by {}", signed.public_key) } else { "the signature does not match the message and key".into() },
    });
    let intent = decode_intent(&signed.message);
    let recipient_ok = signed.recipient == recipient;
    checks.push(Check {
        name: "recipient",
        ok: recipient_ok,
        text: if recipient_ok {
            format!("for {recipient}")
        } else {
            format!("signed for `{}`, but this network's contract is `{recipient}`", signed.recipient)
        },
    });
    match &intent {
        Ok(i) => {
            let d = check_deadline(i.deadline.0, now_ns);
            checks.push(Check {
                name: "deadline",
                ok: d.is_ok(),
                text: d.err().map_or_else(|| format!("valid for {} more", human_duration(i.deadline.0 - now_ns)), |e| explain(&e)),
            });
            let a = validate_actions(i);
            checks.push(Check { name: "actions", ok: a.is_ok(), text: a.err().map_or("follow the rules".into(), |e| explain(&e)) });
        }
        Err(e) => checks.push(Check { name: "message", ok: false, text: explain(e) }),
    }
    let verdict = verify_signed_intent(&DalekCrypto, &signed, recipient, now_ns).map(|_| ()).map_err(|e| explain(&e));
    Report { intent: intent.ok(), hash: hash.to_string(), signed, checks, verdict }
}

fn human_duration(ns: u64) -> String {
    let mins = ns / 60_000_000_000;
    match mins {
        0 => "less than a minute".into(),
        m if m < 120 => format!("{m} minutes"),
        m if m < 48 * 60 => format!("{} hours", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// What the signer must hold for the intent to settle: transfers, withdrawals and what swap
/// offers give, summed per token (checked, so a huge sum is an error rather than a wrap).
pub fn required_balances(intent: &Intent) -> Result<BTreeMap<TokenId, u128>, Problem> {
    let mut need: BTreeMap<TokenId, u128> = BTreeMap::new();
    let mut add = |t: &TokenId, v: u128| -> Result<(), Problem> {
        let e = need.entry(t.clone()).or_insert(0);
        *e = e.checked_add(v).ok_or_else(|| Problem::new(format!("the amounts of {t} add up past the largest number")))?;
        Ok(())
    };
    for a in &intent.actions {
        match a {
            Action::Transfer { token, amount, .. } | Action::Withdraw { token, amount, .. } => add(token, amount.0)?,
            Action::TokenDiff { diff } => {
                for (t, v) in diff.iter().filter(|(_, v)| v.0 < 0) {
                    add(t, v.0.unsigned_abs())?;
                }
            }
            _ => {}
        }
    }
    Ok(need)
}

/// Online checks from RPC answers: the nonce is unused (`nonce_status`; `intent_hash` is the
/// verified intent's, to tell "this very intent already executed" from "spent by another"), and
/// each required balance is there.
pub fn online_checks(
    nonce: Result<outpost_protocol::abi::NonceStatus, String>,
    intent_hash: &str,
    needs: &BTreeMap<TokenId, u128>,
    balances: &BTreeMap<TokenId, Result<u128, String>>,
) -> Vec<Check> {
    use outpost_protocol::abi::NonceStatus;
    let mut out = vec![match nonce {
        Ok(NonceStatus::Unused) => Check { name: "nonce", ok: true, text: "not used yet".into() },
        Ok(NonceStatus::Executed { intent_hash: h }) if h.to_string() == intent_hash => {
            Check { name: "nonce", ok: false, text: "this intent already executed".into() }
        }
        Ok(NonceStatus::Executed { intent_hash: h }) => Check { name: "nonce", ok: false, text: format!("its nonce was spent by another intent ({h})") },
        Ok(NonceStatus::Cancelled) => Check { name: "nonce", ok: false, text: "its nonce was cancelled".into() },
        Err(e) => Check { name: "nonce", ok: false, text: format!("could not ask the chain: {e}") },
    }];
    for (token, need) in needs {
        out.push(match balances.get(token) {
            Some(Ok(have)) if have >= need => Check { name: "balance", ok: true, text: format!("{token}: has {have}, needs {need}") },
            Some(Ok(have)) => Check { name: "balance", ok: false, text: format!("{token}: the balance is too low (has {have}, needs {need})") },
            Some(Err(e)) => Check { name: "balance", ok: false, text: format!("{token}: could not read the balance: {e}") },
            None => Check { name: "balance", ok: false, text: format!("{token}: not checked") },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{key, signed_transfer, signed_transfer_until, NOW_MS};
    use outpost_protocol::Signature;

    const NOW_NS: u64 = NOW_MS * 1_000_000;

    #[test]
    fn good_intent_passes_every_check() {
        let s = signed_transfer(1);
        let json = serde_json::to_string(&s).unwrap();
        for text in [json.clone(), B64.encode(&json), GossipMessage::Intent { intent: s.clone() }.encode().iter().map(|&b| b as char).collect()] {
            let parsed = parse_any(&text).unwrap();
            let r = verify_offline(parsed, "intents.test.near", NOW_NS);
            assert!(r.checks.iter().all(|c| c.ok), "{:?}", r.checks);
            assert_eq!(r.verdict, Ok(()));
            assert_eq!(r.hash, crate::queue::intent_id(&s));
        }
    }

    #[test]
    fn each_failure_is_named() {
        let mut s = signed_transfer(2);
        s.signature = Signature([0; 64]);
        let r = verify_offline(s, "intents.test.near", NOW_NS);
        assert!(!r.checks.iter().find(|c| c.name == "signature").unwrap().ok);
        assert_eq!(r.verdict, Err("the signature does not match the message and key: not signed by ".to_owned() + &key().public_key().to_string()));

        let r = verify_offline(signed_transfer(3), "other.near", NOW_NS);
        let c = r.checks.iter().find(|c| c.name == "recipient").unwrap();
        assert!(!c.ok && c.text.contains("`other.near`"));
        assert!(r.verdict.unwrap_err().starts_with("the intent was signed for another contract"));

        let r = verify_offline(signed_transfer_until(4, NOW_NS - 1), "intents.test.near", NOW_NS);
        assert!(!r.checks.iter().find(|c| c.name == "deadline").unwrap().ok);
        assert!(r.verdict.unwrap_err().starts_with("the intent's deadline has passed"));

        assert!(parse_any("").unwrap_err().0.contains("paste"));
        assert!(parse_any("%%%").unwrap_err().0.contains("neither JSON nor base64"));
        assert!(parse_any("{\"message\":1}").unwrap_err().0.starts_with("not a signed intent"));
    }

    #[test]
    fn balances_and_nonce_online() {
        let intent = decode_intent(&signed_transfer(5).message).unwrap();
        let needs = required_balances(&intent).unwrap();
        assert_eq!(needs, BTreeMap::from([(TokenId::Near, 6)]));
        let enough = BTreeMap::from([(TokenId::Near, Ok(6))]);
        use outpost_protocol::abi::NonceStatus;
        let h = outpost_protocol::IntentHash([3; 32]);
        assert!(online_checks(Ok(NonceStatus::Unused), &h.to_string(), &needs, &enough).iter().all(|c| c.ok));
        let low = BTreeMap::from([(TokenId::Near, Ok(5))]);
        let c = online_checks(Ok(NonceStatus::Unused), &h.to_string(), &needs, &low);
        assert!(!c[1].ok && c[1].text.contains("too low"));
        let executed = online_checks(Ok(NonceStatus::Executed { intent_hash: h }), &h.to_string(), &needs, &enough);
        assert!(!executed[0].ok && executed[0].text.contains("already executed"));
        let other = online_checks(Ok(NonceStatus::Executed { intent_hash: outpost_protocol::IntentHash([4; 32]) }), &h.to_string(), &needs, &enough);
        assert!(!other[0].ok && other[0].text.contains("another intent"));
        assert!(online_checks(Ok(NonceStatus::Cancelled), &h.to_string(), &needs, &enough)[0].text.contains("cancelled"));
    }
}
