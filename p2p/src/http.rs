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
    /// Present in relayer mode: the account that signs its transactions, named beside each
    /// `tx_hash` so clients can look the transaction up (`tx` RPC) and read its events.
    pub relayer_account: Option<String>,
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
            let mut held = true;
            if let Some(store) = &state.store {
                match store.add_pending(&[(hash, signed)], crate::validate::now_ns()) {
                    Err(e) => {
                        return (StatusCode::INTERNAL_SERVER_ERROR, Json(RelayRefusal { code: "STORE".into(), detail: e.to_string() })).into_response()
                    }
                    // Not added and not known: admission refused it (fee below this relayer's, its
                    // pools full). It was still gossiped for other relayers.
                    Ok(0) => held = matches!(store.state(&hash), Ok(Some(_))),
                    Ok(_) => {}
                }
            }
            let outcome = match outcome {
                _ if !held => "not_held",
                PublishOutcome::Published => "published",
                PublishOutcome::Queued => "queued",
                PublishOutcome::Duplicate => "duplicate",
            };
            (StatusCode::ACCEPTED, Json(RelayAccepted { intent_hash: hash, outcome: outcome.into() })).into_response()
        }
        Err(NodeError::Invalid(e)) => error(StatusCode::BAD_REQUEST, &e),
        Err(NodeError::Busy(detail)) => (StatusCode::TOO_MANY_REQUESTS, Json(RelayRefusal { code: "SIGNER_RATE_LIMITED".into(), detail })).into_response(),
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
            Ok(Some(Ok(ended))) => return (StatusCode::OK, Json(relay_status(hash, ended, &state.relayer_account))).into_response(),
            Ok(Some(Err(active))) => {
                let halt = state.health.as_ref().and_then(Health::halted);
                return (StatusCode::OK, Json(active_status(hash, active, halt, &state.relayer_account))).into_response();
            }
            Ok(None) => {}
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
    match state.node.has_seen(hash).await {
        // Seen in gossip but not held by this node's relayer: pending as far as it knows.
        Ok(true) => (StatusCode::OK, Json(RelayStatus { intent_hash: hash, status: RelayState::Pending, tx_hash: None, sender_account_id: None, code: None, reason: None }))
            .into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, Json(RelayRefusal { code: "UNKNOWN_INTENT".into(), detail: "this node has not seen that intent".into() }))
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
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
fn active_status(intent_hash: IntentHash, record: Record, halt: Option<crate::relayer::Halt>, sender: &Option<String>) -> RelayStatus {
    let mut status = relay_status(intent_hash, record.state, sender);
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
fn relay_status(intent_hash: IntentHash, state: crate::relayer::store::State, sender: &Option<String>) -> RelayStatus {
    use crate::relayer::store::State;
    let (status, tx_hash, code, reason) = match state {
        State::Pending => (RelayState::Pending, None, None, None),
        State::Submitted { tx_hash, .. } => (RelayState::Pending, Some(tx_hash), None, None),
        State::Executed { tx_hash } => (RelayState::Executed, tx_hash, None, None),
        State::Failed { code, reason, tx_hash } => (RelayState::Failed, tx_hash, Some(code), Some(reason)),
    };
    let sender_account_id = tx_hash.as_ref().and(sender.clone());
    RelayStatus { intent_hash, status, tx_hash, sender_account_id, code, reason }
}

/// Per-client request budget of the HTTP API (a token bucket per client address).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HttpRateLimit {
    /// Sustained requests per second per client.
    pub per_second: u32,
    /// Requests a client may make at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for HttpRateLimit {
    /// A dApp polls a few intents' states every second or two; 10/s with a burst of 60 leaves it
    /// room while one address cannot make the node verify and fsync more than 10 intents a second.
    fn default() -> Self {
        HttpRateLimit { per_second: 10, burst: 60 }
    }
}

/// How the API is served.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// `None`: no limit (tests, or a node only reachable by its operator).
    pub rate_limit: Option<HttpRateLimit>,
    /// Serve `GET /metrics` on the public API too. Off when metrics have their own address.
    pub public_metrics: bool,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions { rate_limit: Some(HttpRateLimit::default()), public_metrics: true }
    }
}

/// The rate-limit key: the client's IPv4 address, or its IPv6 /64 (one subscriber usually gets a
/// whole /64, so keying by full IPv6 address would give each of them 2^64 budgets).
#[derive(Clone, Copy, Debug)]
pub struct ClientKey;

impl tower_governor::key_extractor::KeyExtractor for ClientKey {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, tower_governor::GovernorError> {
        use std::net::{IpAddr, Ipv6Addr};
        let ip = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or(tower_governor::GovernorError::UnableToExtractKey)?;
        Ok(match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !0xffff_ffff_ffff_ffff)),
            IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
            v4 => v4,
        })
    }
}

type Governor = tower_governor::governor::GovernorConfig<ClientKey, ::governor::middleware::NoOpMiddleware>;

fn make_governor(limit: HttpRateLimit) -> Option<Arc<Governor>> {
    let period = std::time::Duration::from_nanos(1_000_000_000 / u64::from(limit.per_second.max(1)));
    tower_governor::governor::GovernorConfigBuilder::default()
        .key_extractor(ClientKey)
        .period(period)
        .burst_size(limit.burst)
        .finish()
        .map(Arc::new)
}

/// The API's routes. CORS (tower-http) is outermost so that a browser can read a 429 too; the
/// rate limit comes next, before any body is read or any signature checked. `/metrics`, when
/// public, shares the rate limit but has no CORS headers: a page on another origin has no
/// business reading it.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` (as [`serve`] does): the
/// rate limit needs the client's address, and answers 500 without it.
pub fn router(state: ApiState, options: &ApiOptions) -> Router {
    router_with(state, options, options.rate_limit.and_then(make_governor))
}

fn router_with(state: ApiState, options: &ApiOptions, governor: Option<Arc<Governor>>) -> Router {
    use axum::http::Method;
    use tower_http::cors::{Any, CorsLayer};
    // The API is public and takes no credentials: any origin may call it.
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::POST]).allow_headers([header::CONTENT_TYPE]);
    let mut api = Router::new()
        .route("/intents", post(post_intent))
        .route("/intents/{hash}", get(get_intent))
        .route("/health", get(health))
        // A signed intent is at most a gossip message; refuse bigger bodies before reading them.
        .layer(DefaultBodyLimit::max(MAX_GOSSIP_MESSAGE_BYTES))
        .with_state(state.clone());
    if let Some(g) = &governor {
        api = api.layer(tower_governor::GovernorLayer::new(g.clone()));
    }
    let mut app = api.layer(cors);
    if options.public_metrics {
        let mut metrics = metrics_router(state.registry.clone());
        if let Some(g) = &governor {
            metrics = metrics.layer(tower_governor::GovernorLayer::new(g.clone()));
        }
        app = app.merge(metrics);
    }
    app
}

/// `GET /metrics` alone, for `--metrics-listen` (a private address: no CORS, no rate limit).
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(registry)
}

async fn serve_router(address: SocketAddr, router: Router, what: &'static str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "{what} server stopped");
        }
    });
    Ok(bound)
}

/// Binds `address` (port 0 picks one) and serves the API in the background; returns the bound
/// address.
pub async fn serve(address: SocketAddr, state: ApiState, options: &ApiOptions) -> std::io::Result<SocketAddr> {
    let governor = options.rate_limit.and_then(make_governor);
    if let Some(g) = &governor {
        // The limiter keeps one entry per client address; forget idle ones so it stays bounded.
        let limiter = Arc::downgrade(g);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(g) = limiter.upgrade() else { break };
                g.limiter().retain_recent();
                g.limiter().shrink_to_fit();
            }
        });
    }
    serve_router(address, router_with(state, options, governor), "HTTP").await
}

/// Serves only `GET /metrics` on `address` (for an address reachable by the operator's scraper
/// alone).
pub async fn serve_metrics(address: SocketAddr, registry: Arc<Registry>) -> std::io::Result<SocketAddr> {
    serve_router(address, metrics_router(registry), "metrics").await
}
