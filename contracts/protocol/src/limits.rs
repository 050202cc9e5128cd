//! Bounds that keep storage, gas and gossip traffic finite. Changing one changes what the contract
//! accepts, so they live here, next to the rules that use them.

const DAY_NS: u64 = 24 * 60 * 60 * 1_000_000_000;

/// A deadline, and a nonce's expiry, may be at most this far ahead of "now" (30 days). Used and
/// cancelled nonces are kept until their expiry plus [`NONCE_PRUNE_GRACE_NS`], so this bounds how
/// long the contract must remember a nonce.
pub const MAX_DEADLINE_HORIZON_NS: u64 = 30 * DAY_NS;
/// A used or cancelled nonce may be pruned only this long after its expiry (30 days): its record
/// is the on-chain evidence that an intent executed (or was cancelled), and a client that was
/// offline for up to this long after the expiry still reads it with `is_nonce_used`.
pub const NONCE_PRUNE_GRACE_NS: u64 = 30 * DAY_NS;
/// Withdrawals (`withdraw` actions) in one intent, and in one batch. Each withdrawal creates an
/// outgoing transfer plus a refund callback and needs about [`GAS_PER_WITHDRAWAL`] of prepaid gas,
/// so these keep every batch that passes `simulate_intents` within [`MAX_BATCH_GAS`].
pub const MAX_WITHDRAWALS_PER_INTENT: usize = 4;
pub const MAX_WITHDRAWALS_PER_BATCH: usize = 8;
/// Prepaid gas a withdrawal takes: 10 TGas for `ft_transfer`, 5 TGas for the callback, and the
/// receipts' creation (measured in the VM; `simulate_intents` adds it per withdrawing item).
pub const GAS_PER_WITHDRAWAL: u64 = 25_000_000_000_000;
/// The gas a batch may need in all: since protocol 83 (the contract needs 85) a call may prepay
/// and burn 1 PGas (nearcore's `max_total_prepaid_gas`, `max_gas_burnt`). `simulate_intents`
/// reports `BATCH_GAS_TOO_HIGH` above it so the relayer splits; a relayer reads the chain's own
/// limit (`EXPERIMENTAL_protocol_config`) and may batch below this.
pub const MAX_BATCH_GAS: u64 = 1_000_000_000_000_000;
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
/// Signed intents in one `execute_intents` / `simulate_intents` call: as many as the `executed`
/// event (47 bytes per intent) fits in the contract's 15 KiB share of NEAR's 16 KiB of logs.
pub const MAX_BATCH_SIZE: usize = 320;
/// One gossip message on the wire.
pub const MAX_GOSSIP_MESSAGE_BYTES: usize = 8192;
