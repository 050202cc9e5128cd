//! The two primitives verification needs, behind a trait: on chain they are host functions
//! (`env::sha256`, `env::ed25519_verify`), which are cheaper than hashing in wasm and keep the
//! contract small; natively and in the browser they are sha2 and ed25519-dalek.

/// sha256 and ed25519 verification.
pub trait Crypto {
    fn sha256(&self, data: &[u8]) -> [u8; 32];
    /// True when `signature` is a valid ed25519 signature of `message` by `public_key`.
    /// Must agree with nearcore's `ed25519_verify` host function on every input.
    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool;
}

#[cfg(feature = "dalek")]
mod dalek {
    use super::Crypto;
    use crate::error::{reject, ErrorCode, IntentError};
    use crate::intent::{Intent, SignedIntent};
    use crate::nep413::Payload;
    use crate::text::{Nonce, PublicKey, Signature};
    use core::{fmt, str::FromStr};
    use ed25519_dalek::{Signer as _, Verifier as _};
    use sha2::Digest as _;

    /// [`Crypto`] with sha2 and ed25519-dalek, matching nearcore's host function bit for bit.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct DalekCrypto;

    impl Crypto for DalekCrypto {
        fn sha256(&self, data: &[u8]) -> [u8; 32] {
            sha2::Sha256::digest(data).into()
        }

        fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool {
            // nearcore rejects these before dalek sees them (a pre-v2 dalek check it kept so costs
            // did not change); reject them too so off-chain and on-chain verdicts are identical.
            if signature[63] & 0b1110_0000 != 0 {
                return false;
            }
            let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
                return false;
            };
            key.verify(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
        }
    }

    /// An ed25519 secret key, text form `ed25519:<base58 of seed ‖ public key>` as NEAR tools
    /// write it. Debug never prints the key.
    #[derive(Clone)]
    pub struct SecretKey(ed25519_dalek::SigningKey);

    impl SecretKey {
        pub fn from_seed(seed: [u8; 32]) -> Self {
            SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed))
        }

        pub fn seed(&self) -> [u8; 32] {
            self.0.to_bytes()
        }

        pub fn public_key(&self) -> PublicKey {
            PublicKey(self.0.verifying_key().to_bytes())
        }

        pub fn sign(&self, message: &[u8]) -> Signature {
            Signature(self.0.sign(message).to_bytes())
        }

        /// Signs `intent` as a NEP-413 message for the intents contract `recipient`.
        pub fn sign_intent(&self, intent: &Intent, nonce: Nonce, recipient: &str) -> SignedIntent {
            self.sign_message(intent.to_message(), nonce, recipient, None)
        }

        /// Signs an arbitrary NEP-413 message (the message need not be a valid intent: tests
        /// use this to make well-signed garbage).
        pub fn sign_message(&self, message: String, nonce: Nonce, recipient: &str, callback_url: Option<String>) -> SignedIntent {
            let hash = Payload::new(&message, &nonce, recipient, callback_url.as_deref()).hash(&DalekCrypto);
            SignedIntent {
                signature: self.sign(&hash.0),
                public_key: self.public_key(),
                message,
                nonce,
                recipient: recipient.to_owned(),
                callback_url,
            }
        }
    }

    impl FromStr for SecretKey {
        type Err = IntentError;
        fn from_str(s: &str) -> Result<Self, IntentError> {
            let data = s
                .strip_prefix("ed25519:")
                .ok_or_else(|| reject(ErrorCode::InvalidSecretKey, "expected the prefix `ed25519:`"))?;
            let mut buf = [0u8; 64];
            let n = crate::base58::decode_into(data, &mut buf[..])
                .map_err(|_| reject(ErrorCode::InvalidSecretKey, "not base58, or too long"))?;
            // NEAR writes seed ‖ public key (64 bytes); accept a bare 32-byte seed too.
            let seed: [u8; 32] = match n {
                32 | 64 => buf[..32].try_into().expect("32 bytes"),
                _ => return Err(reject(ErrorCode::InvalidSecretKey, format!("expected 64 bytes, got {n}"))),
            };
            let key = SecretKey::from_seed(seed);
            if n == 64 && buf[32..] != key.public_key().0 {
                return Err(reject(ErrorCode::InvalidSecretKey, "the public half does not match the seed"));
            }
            Ok(key)
        }
    }

    impl fmt::Display for SecretKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&self.seed());
            bytes[32..].copy_from_slice(&self.public_key().0);
            write!(f, "ed25519:{}", crate::base58::encode(&bytes))
        }
    }

    impl fmt::Debug for SecretKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "SecretKey({})", self.public_key())
        }
    }
}

#[cfg(feature = "dalek")]
pub use dalek::{DalekCrypto, SecretKey};
