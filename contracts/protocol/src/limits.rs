//! Bounds that keep storage, gas and gossip traffic finite. Changing one changes what the contract
//! accepts, so they live here, next to the rules that use them.

/// A deadline may be at most this far ahead of "now" (30 days). Used nonces are kept until their
/// deadline passes, so this bounds how long the contract must remember a nonce.
pub const MAX_DEADLINE_HORIZON_NS: u64 = 30 * 24 * 60 * 60 * 1_000_000_000;
/// The signed `message` (the intent's JSON), in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// A NEP-413 `callback_url`, in bytes (we carry it but do not call it).
pub const MAX_CALLBACK_URL_BYTES: usize = 512;
/// A transfer or withdrawal memo, in bytes.
pub const MAX_MEMO_BYTES: usize = 256;
/// Actions in one intent.
pub const MAX_ACTIONS_PER_INTENT: usize = 16;
/// Tokens in one `token_diff`.
pub const MAX_TOKENS_PER_DIFF: usize = 8;
/// Nonces in one `invalidate_nonces`.
pub const MAX_NONCES_PER_INVALIDATION: usize = 32;
/// Signed intents in one `execute_intents` / `simulate_intents` call.
pub const MAX_BATCH_SIZE: usize = 256;
/// One gossip message on the wire.
pub const MAX_GOSSIP_MESSAGE_BYTES: usize = 8192;
