//! The node's HTTP API: `POST /intents` (a `SignedIntent` as JSON), `GET /intents/{hash}` and
//! Prometheus `GET /metrics`. Intents posted here are validated and gossiped exactly like intents
//! from peers, and in relayer mode they are settled too.

use crate::node::{NodeError, NodeHandle, PublishOutcome};
use crate::relayer::store::Store;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_protocol::limits::MAX_GOSSIP_MESSAGE_BYTES;
use outpost_protocol::{ErrorCode, IntentError, IntentHash, SignedIntent};
use prometheus_client::registry::Registry;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub node: NodeHandle,
    /// Present in relayer mode: the source of truth for intent states.
    pub store: Option<Arc<Store>>,
    pub registry: Arc<Registry>,
}

fn error(status: StatusCode, e: &IntentError) -> Response {
    (status, Json(json!({ "code": e.code.as_str(), "detail": e.detail }))).into_response()
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
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "code": "STORE", "detail": e.to_string() }))).into_response();
                }
            }
            let outcome = match outcome {
                PublishOutcome::Published => "published",
                PublishOutcome::Queued => "queued",
                PublishOutcome::Duplicate => "duplicate",
            };
            (StatusCode::ACCEPTED, Json(json!({ "intent_hash": hash.to_string(), "outcome": outcome }))).into_response()
        }
        Err(NodeError::Invalid(e)) => error(StatusCode::BAD_REQUEST, &e),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "code": "UNAVAILABLE", "detail": e.to_string() }))).into_response(),
    }
}

async fn get_intent(State(state): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash: IntentHash = match hash.parse() {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if let Some(store) = &state.store {
        match store.state(&hash) {
            Ok(Some(s)) => return (StatusCode::OK, Json(json!({ "intent_hash": hash.to_string(), "status": s }))).into_response(),
            Ok(None) => {}
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
    match state.node.has_seen(hash).await {
        Ok(true) => (StatusCode::OK, Json(json!({ "intent_hash": hash.to_string(), "status": { "state": "seen" } }))).into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, Json(json!({ "code": "UNKNOWN_INTENT", "detail": "this node has not seen that intent" })))
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

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/intents", post(post_intent))
        .route("/intents/{hash}", get(get_intent))
        .route("/metrics", get(metrics))
        // A signed intent is at most a gossip message; refuse bigger bodies before reading them.
        .layer(DefaultBodyLimit::max(MAX_GOSSIP_MESSAGE_BYTES))
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
