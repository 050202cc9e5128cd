//! What peers exchange on the gossip topics (DESIGN.md §6): signed intents, and relayers' reports
//! of how they ended. Decoding enforces the size limit before parsing.

use crate::error::{reject, ErrorCode, IntentError};
use crate::intent::SignedIntent;
use crate::limits::MAX_GOSSIP_MESSAGE_BYTES;
use crate::text::IntentHash;
use serde::{Deserialize, Serialize};

/// One gossip message. JSON: `{"kind": "intent", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GossipMessage {
    /// A signed intent looking for a relayer.
    Intent { intent: SignedIntent },
    /// A relayer's report on an intent it submitted.
    Status { intent_hash: IntentHash, status: IntentStatus },
}

/// How an intent ended on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum IntentStatus {
    Executed { tx_hash: String },
    Failed { code: String, reason: String },
}

/// The gossipsub topic for intents of one network and contract, e.g.
/// `outpost/testnet/intents.outpost.testnet/intents/1`.
pub fn intents_topic(chain_id: &str, contract: &str) -> String {
    format!("outpost/{chain_id}/{contract}/intents/1")
}

/// The topic on which relayers publish outcomes.
pub fn status_topic(chain_id: &str, contract: &str) -> String {
    format!("outpost/{chain_id}/{contract}/status/1")
}

impl GossipMessage {
    pub fn encode(&self) -> Vec<u8> {
        // Our own types always serialise.
        serde_json::to_vec(self).expect("gossip JSON")
    }

    /// Decodes a message from the wire, rejecting oversized input before parsing it.
    pub fn decode(bytes: &[u8]) -> Result<GossipMessage, IntentError> {
        if bytes.len() > MAX_GOSSIP_MESSAGE_BYTES {
            return Err(reject(
                ErrorCode::MessageTooLarge,
                format!("{} bytes, at most {MAX_GOSSIP_MESSAGE_BYTES}", bytes.len()),
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| reject(ErrorCode::MessageMalformed, e.to_string()))
    }
}
