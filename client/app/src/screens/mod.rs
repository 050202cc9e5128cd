//! One module per screen, each over the plain-Rust model (`outpost-client-model`).

pub mod compose;
pub mod history;
pub mod keys;
pub mod network;
pub mod queue;
pub mod receive;
pub mod verify;
pub mod wallet;
