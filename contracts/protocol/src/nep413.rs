//! NEP-413: `hash = sha256(borsh(u32 = 2^31 + 413) || borsh(Payload))`; the signature is ed25519
//! over that hash. The tag keeps a signed message from ever being a valid transaction.

use crate::crypto::Crypto;
use crate::intent::SignedIntent;
use crate::text::{IntentHash, Nonce};
use borsh::BorshSerialize;

/// `2^31 + 413`, the NEP-413 prefix tag.
pub const NEP413_TAG: u32 = (1 << 31) + 413;

/// The NEP-413 payload, borsh-serialised after the tag.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct Payload<'a> {
    pub message: &'a str,
    pub nonce: [u8; 32],
    pub recipient: &'a str,
    pub callback_url: Option<&'a str>,
}

impl<'a> Payload<'a> {
    pub fn of(signed: &'a SignedIntent) -> Self {
        Payload {
            message: &signed.message,
            nonce: signed.nonce.0,
            recipient: &signed.recipient,
            callback_url: signed.callback_url.as_deref(),
        }
    }

    pub fn new(message: &'a str, nonce: &Nonce, recipient: &'a str, callback_url: Option<&'a str>) -> Self {
        Payload { message, nonce: nonce.0, recipient, callback_url }
    }

    /// The bytes that are hashed: tag then payload, both borsh.
    pub fn to_signable_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 + self.message.len() + 32 + 4 + self.recipient.len() + 1);
        out.extend_from_slice(&NEP413_TAG.to_le_bytes());
        // Writing to a Vec cannot fail.
        self.serialize(&mut out).expect("borsh into a Vec");
        out
    }

    /// The hash a NEP-413 signature signs; also the intent's id.
    pub fn hash(&self, crypto: &impl Crypto) -> IntentHash {
        IntentHash(crypto.sha256(&self.to_signable_bytes()))
    }
}
