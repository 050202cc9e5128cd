//! The relayer's HTTP API as the dApp reads it (p2p/ serves it):
//! `POST /intents` with one `SignedIntent` → 202 `{"intent_hash"}` or 400 `{"code","detail"}`;
//! `GET /intents/{hash}` → `{"intent_hash","status":"pending"|"executed"|"failed","tx_hash"?,
//! "code"?,"reason"?}`, 404 when unknown. Parsing lives here so it is tested natively.

use crate::sync::{ChannelStatus, SendOutcome};
use outpost_protocol::ErrorCode;
// The shapes are the protocol crate's, the same ones the relayer serves.
use outpost_protocol::abi::relay::{RelayAccepted as Accepted, RelayRefusal as Refusal, RelayState, RelayStatus as StatusBody};

/// A code's sentence when it is one of ours, plus the relayer's detail.
pub fn reason_for(code: &str, detail: &str) -> String {
    match (ErrorCode::parse(code), detail.is_empty()) {
        (Some(c), true) => c.description().to_owned(),
        (Some(c), false) => format!("{}: {detail}", c.description()),
        (None, true) => code.to_owned(),
        (None, false) => format!("{code}: {detail}"),
    }
}

/// Interprets the answer to `POST /intents` for intent `id`.
pub fn post_outcome(status: u16, body: &str, id: &str) -> SendOutcome {
    match status {
        200..=299 => match serde_json::from_slice::<Accepted>(body.as_bytes()) {
            Ok(a) if a.intent_hash.to_string() == id => SendOutcome::Accepted,
            // A relayer that hashes differently would track the wrong id: do not trust it.
            Ok(a) => SendOutcome::Rejected {
                code: "RELAYER_MISMATCH".into(),
                reason: format!("the relayer computed intent hash {} instead of {id}", a.intent_hash),
            },
            Err(_) => SendOutcome::Unavailable { reason: format!("unreadable answer (HTTP {status})"), maybe_delivered: true },
        },
        400 | 422 => match serde_json::from_slice::<Refusal>(body.as_bytes()) {
            Ok(r) => SendOutcome::Rejected { reason: reason_for(&r.code, &r.detail), code: r.code },
            Err(_) => SendOutcome::Rejected { code: "REJECTED".into(), reason: format!("the relayer refused it (HTTP {status})") },
        },
        // Overload and server errors pass; the request may have been processed.
        _ => SendOutcome::Unavailable { reason: format!("relayer answered HTTP {status}"), maybe_delivered: true },
    }
}

/// Interprets the answer to `GET /intents/{id}`.
pub fn status_outcome(status: u16, body: &str) -> Result<ChannelStatus, String> {
    match status {
        404 => Ok(ChannelStatus::Unknown),
        200..=299 => {
            let b: StatusBody = serde_json::from_slice(body.as_bytes()).map_err(|e| format!("unreadable status: {e}"))?;
            match b.status {
                RelayState::Pending => Ok(ChannelStatus::Pending),
                RelayState::Executed => Ok(ChannelStatus::Executed { tx_hash: b.tx_hash, sender: b.sender_account_id }),
                RelayState::Failed => {
                    let code = b.code.unwrap_or_else(|| "FAILED".into());
                    let reason = reason_for(&code, b.reason.as_deref().unwrap_or(""));
                    Ok(ChannelStatus::Failed { code, reason, tx_hash: b.tx_hash })
                }
            }
        }
        _ => Err(format!("relayer answered HTTP {status}")),
    }
}

/// `<base>/intents` and `<base>/intents/<id>`, tolerant of a trailing slash in the config.
pub fn intents_url(base: &str) -> String {
    format!("{}/intents", base.trim_end_matches('/'))
}
pub fn status_url(base: &str, id: &str) -> String {
    format!("{}/intents/{id}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_protocol::IntentHash;

    fn h(n: u8) -> String {
        IntentHash([n; 32]).to_string()
    }

    #[test]
    fn post_answers() {
        let abc = h(1);
        let abc = abc.as_str();
        assert_eq!(post_outcome(202, &format!(r#"{{"intent_hash":"{abc}"}}"#), abc), SendOutcome::Accepted);
        assert!(matches!(post_outcome(202, &format!(r#"{{"intent_hash":"{}","outcome":"queued"}}"#, h(2)), abc), SendOutcome::Rejected { code, .. } if code == "RELAYER_MISMATCH"));
        assert_eq!(
            post_outcome(400, r#"{"code":"DEADLINE_EXPIRED","detail":"deadline 1 is before now (2)"}"#, abc),
            SendOutcome::Rejected {
                code: "DEADLINE_EXPIRED".into(),
                reason: "the intent's deadline has passed: deadline 1 is before now (2)".into()
            }
        );
        assert!(matches!(post_outcome(503, "", abc), SendOutcome::Unavailable { maybe_delivered: true, .. }));
        assert!(matches!(post_outcome(400, "<html>", abc), SendOutcome::Rejected { .. }));
        assert!(matches!(post_outcome(202, "garbage", abc), SendOutcome::Unavailable { .. }));
    }

    #[test]
    fn status_answers() {
        assert_eq!(status_outcome(404, ""), Ok(ChannelStatus::Unknown));
        assert_eq!(status_outcome(200, &format!(r#"{{"intent_hash":"{}","status":"pending"}}"#, h(1))), Ok(ChannelStatus::Pending));
        assert_eq!(
            status_outcome(200, &format!(r#"{{"intent_hash":"{}","status":"executed","tx_hash":"T"}}"#, h(1))),
            Ok(ChannelStatus::Executed { tx_hash: Some("T".into()), sender: None })
        );
        assert_eq!(
            status_outcome(200, &format!(r#"{{"intent_hash":"{}","status":"executed","tx_hash":"T","sender_account_id":"relayer.near"}}"#, h(1))),
            Ok(ChannelStatus::Executed { tx_hash: Some("T".into()), sender: Some("relayer.near".into()) })
        );
        assert_eq!(
            status_outcome(200, &format!(r#"{{"intent_hash":"{}","status":"failed","code":"NONCE_USED","reason":"twice"}}"#, h(1))),
            Ok(ChannelStatus::Failed {
                code: "NONCE_USED".into(),
                reason: "this intent (nonce) was already used or cancelled: twice".into(),
                tx_hash: None
            })
        );
        assert!(status_outcome(200, r#"{"status":"weird"}"#).is_err());
        assert!(status_outcome(500, "").is_err());
        assert_eq!(intents_url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/intents");
        assert_eq!(status_url("http://h", "X"), "http://h/intents/X");
    }
}
