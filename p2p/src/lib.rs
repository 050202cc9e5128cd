//! Outpost's gossip node and relayer (DESIGN.md §6).
//!
//! * [`ratelimit`]: the token bucket both node kinds use;
//! * [`validate`]: what a node checks before forwarding (all rules from `outpost-protocol`);
//! * [`behaviour`]: the composed `NetworkBehaviour` (gossipsub, identify, ping) and its tuning;
//! * [`node`] (native): the swarm over TCP and WebSocket and its event loop;
//! * [`relayer`] (native): collects intents, simulates, batches, submits `execute_intents`;
//! * [`http`] (native): `POST /intents`, `GET /intents/{hash}`, `GET /metrics`;
//! * [`settlement`] (native): the settlement benchmark's client (post, follow, report);
//! * [`browser`] (wasm32): the same behaviour over `websocket-websys`, for the dApp.

pub mod behaviour;
pub mod ratelimit;
pub mod testkit;
pub mod validate;

#[cfg(not(target_arch = "wasm32"))]
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod metrics;
#[cfg(not(target_arch = "wasm32"))]
pub mod node;
#[cfg(not(target_arch = "wasm32"))]
pub mod relayer;
#[cfg(not(target_arch = "wasm32"))]
pub mod settlement;

#[cfg(target_arch = "wasm32")]
pub mod browser;
