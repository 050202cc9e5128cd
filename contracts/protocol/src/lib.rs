//! The one definition of Outpost's intents, shared by the contracts, the dApp and the p2p nodes.
//!
//! * [`intent`]: `Intent`, its actions and `SignedIntent` (the JSON that crosses every boundary);
//! * [`nep413`]: the NEP-413 payload and the hash a wallet signs;
//! * [`crypto`]: the `Crypto` trait (sha256 + ed25519 verify): host functions on chain,
//!   ed25519-dalek elsewhere (feature `dalek`);
//! * [`validate`]: the stateless rules, in the order DESIGN.md §2 gives;
//! * [`error`]: stable error codes;
//! * [`gossip`]: the p2p envelope and its size limit;
//! * [`json`]: the strict JSON reader and writer the contract uses instead of serde_json, and
//!   every target uses to parse a signed message;
//! * [`abi`]: JSON shapes of the intents contract's results that relayers and the dApp read;
//! * [`queue`]: the offline queue's record and its state machine (feature `dalek`).
//!
//! Nothing here panics on user data: every rule returns an [`IntentError`].

pub mod abi;
pub mod base58;
pub mod crypto;
pub mod error;
pub mod gossip;
pub mod intent;
pub mod json;
pub mod limits;
pub mod nep413;
#[cfg(feature = "dalek")]
pub mod queue;
pub mod text;
pub mod validate;
#[cfg(feature = "wasm-bindgen")]
pub mod wasm;

pub use crypto::Crypto;
#[cfg(feature = "dalek")]
pub use crypto::{DalekCrypto, SecretKey};
pub use error::{ErrorCode, IntentError};
pub use intent::{Action, Fee, Intent, SignedIntent};
pub use near_account_id::{AccountId, AccountIdRef};
pub use nep413::Payload;
pub use text::{Amount, Deadline, IntentHash, Nonce, PublicKey, Signature, SignedAmount, TokenId};
pub use validate::{verify_signed_intent, VerifiedIntent};
