//! The Outpost dApp's model, in plain Rust (DESIGN.md §5): everything the browser app does that is
//! not drawing or I/O, so it is tested natively.
//!
//! * [`keys`]: generate/import keys (NEAR seed phrases), the passphrase vault;
//! * [`compose`]: forms → validated intents with per-field errors, signing;
//! * [`queue`]: the offline queue (records are `outpost_protocol::queue`'s);
//! * [`sync`]: the sync loop (channels, backoff, polling) behind small I/O traits;
//! * [`gossip`]: the browser libp2p node's state as a sync channel sees it;
//! * [`relayer`], [`rpc`]: the HTTP shapes of the relayer and NEAR JSON-RPC;
//! * [`tx`]: direct submission, borsh transactions built by hand;
//! * [`verify`]: checking an intent someone handed over;
//! * [`history`]: payments seen made to the user, deposits made through the wallet;
//! * [`network`]: the deploy scripts' network config;
//! * [`qr`]: QR codes for the receive screen;
//! * [`wallet`]: what the dApp asks a NEAR wallet (near-connect) for, and checks in its answers.

pub mod compose;
pub mod gossip;
pub mod history;
pub mod keys;
pub mod mnemonic;
pub mod network;
pub mod qr;
pub mod queue;
pub mod relayer;
pub mod rpc;
pub mod sync;
pub mod tx;
pub mod verify;
pub mod wallet;
pub mod words;

#[cfg(test)]
pub(crate) mod testutil;

pub use words::Problem;
#[cfg(test)]
mod sync_tests;
