//! The node's HTTP API: `POST /intents` (a `SignedIntent` as JSON), `GET /intents/{hash}` and
//! Prometheus `GET /metrics`. Intents posted here are validated and gossiped exactly like intents
//! from peers, and in relayer mode they are settled too.

use crate::node::{NodeError, NodeHandle, PublishOutcome};
use crate::relayer::store::{Record, Store};
use crate::relayer::Health;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_protocol::abi::relay::{RelayAccepted, RelayHealth, RelayRefusal, RelayState, RelayStatus};
use outpost_protocol::limits::MAX_GOSSIP_MESSAGE_BYTES;
use outpost_protocol::{ErrorCode, IntentError, IntentHash, SignedIntent};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub node: NodeHandle,
    /// Present in relayer mode: the source of truth for intent states.
    pub store: Option<Arc<Store>>,
    /// Present in relayer mode: whether the relayer can submit.
    pub health: Option<Health>,
    pub registry: Arc<Registry>,
}

fn error(status: StatusCode, e: &IntentError) -> Response {
    (status, Json(RelayRefusal { code: e.code.as_str().into(), detail: e.detail.clone() })).into_response()
}

async fn post_intent(State(state): State<ApiState>, body: Bytes) -> Response {
    let signed: SignedIntent = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &IntentError::new(ErrorCode::MessageMalformed, e.to_string())),
    };
    match state.node.publish_intent(signed.clone()).await {
        Ok((hash, outcome)) => {
            // Relayer mode: acknowledged means persisted, so `kill -9` right after loses nothing.
            if let Some(store) = &state.store {
                if let Err(e) = store.add_pending(&[(hash, signed)], crate::validate::now_ns()) {
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(RelayRefusal { code: "STORE".into(), detail: e.to_string() })).into_response();
                }
            }
            let outcome = match outcome {
                PublishOutcome::Published => "published",
                PublishOutcome::Queued => "queued",
                PublishOutcome::Duplicate => "duplicate",
            };
            (StatusCode::ACCEPTED, Json(RelayAccepted { intent_hash: hash, outcome: outcome.into() })).into_response()
        }
        Err(NodeError::Invalid(e)) => error(StatusCode::BAD_REQUEST, &e),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(RelayRefusal { code: "UNAVAILABLE".into(), detail: e.to_string() })).into_response(),
    }
}

async fn get_intent(State(state): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash: IntentHash = match hash.parse() {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if let Some(store) = &state.store {
        let found = store.record(&hash).and_then(|r| match r {
            Some(record) => Ok(Some(Err(record))),
            None => store.state(&hash).map(|s| s.map(Ok)),
        });
        match found {
            Ok(Some(Ok(ended))) => return (StatusCode::OK, Json(relay_status(hash, ended))).into_response(),
            Ok(Some(Err(active))) => {
                let halt = state.health.as_ref().and_then(Health::halted);
                return (StatusCode::OK, Json(active_status(hash, active, halt))).into_response();
            }
            Ok(None) => {}
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
    match state.node.has_seen(hash).await {
        // Seen in gossip but not held by this node's relayer: pending as far as it knows.
        Ok(true) => (StatusCode::OK, Json(RelayStatus { intent_hash: hash, status: RelayState::Pending, tx_hash: None, code: None, reason: None }))
            .into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, Json(RelayRefusal { code: "UNKNOWN_INTENT".into(), detail: "this node has not seen that intent".into() }))
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

async fn health(State(state): State<ApiState>) -> Response {
    let halt = state.health.as_ref().and_then(Health::halted);
    let relayer = state.health.is_some();
    match halt {
        None => (StatusCode::OK, Json(RelayHealth { status: "ok".into(), relayer, code: None, detail: None })).into_response(),
        Some(h) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(RelayHealth { status: "halted".into(), relayer, code: Some(h.code.into()), detail: Some(h.detail) }),
        )
            .into_response(),
    }
}

/// An intent the relayer still holds: pending, with what it waits for when anything.
fn active_status(intent_hash: IntentHash, record: Record, halt: Option<crate::relayer::Halt>) -> RelayStatus {
    let mut status = relay_status(intent_hash, record.state);
    if status.status == RelayState::Pending && status.code.is_none() {
        if let Some(h) = halt {
            (status.code, status.reason) = (Some(h.code.into()), Some(h.detail));
        } else if let Some(w) = record.waiting_for {
            (status.code, status.reason) = (Some(w.code), Some(w.detail));
        }
    }
    status
}

/// The relayer's record as the API shape the dApp reads (`outpost_protocol::abi::relay`).
fn relay_status(intent_hash: IntentHash, state: crate::relayer::store::State) -> RelayStatus {
    use crate::relayer::store::State;
    let (status, tx_hash, code, reason) = match state {
        State::Pending => (RelayState::Pending, None, None, None),
        State::Submitted { tx_hash, .. } => (RelayState::Pending, Some(tx_hash), None, None),
        State::Executed { tx_hash } => (RelayState::Executed, tx_hash, None, None),
        State::Failed { code, reason, tx_hash } => (RelayState::Failed, tx_hash, Some(code), Some(reason)),
    };
    RelayStatus { intent_hash, status, tx_hash, code, reason }
}

/// Browsers call the API from the dApp's own origin: allow any origin (the API is public and
/// takes no credentials) and answer preflights.
async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{HeaderValue, Method};
    let mut response = if request.method() == Method::OPTIONS { StatusCode::NO_CONTENT.into_response() } else { next.run(request).await };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
    response
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/intents", post(post_intent))
        .route("/intents/{hash}", get(get_intent))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        // A signed intent is at most a gossip message; refuse bigger bodies before reading them.
        .layer(DefaultBodyLimit::max(MAX_GOSSIP_MESSAGE_BYTES))
        .layer(axum::middleware::from_fn(cors))
        .with_state(state)
}

/// Binds `address` (port 0 picks one) and serves in the background; returns the bound address.
pub async fn serve(address: SocketAddr, state: ApiState) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(state)).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(bound)
}
