//! The HTTP API's layers in process: the per-client rate limit (keyed by the connection's
//! address, IPv6 by /64), tower-http's CORS, and /metrics only where configured.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::*;
use outpost_p2p::http::{router, ApiOptions, ApiState, HttpRateLimit};
use outpost_p2p::node::RateLimit;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

async fn app(options: ApiOptions) -> Router {
    let node = start_node(RateLimit::default()).await;
    let state = ApiState { node: node.handle, store: None, health: None, relayer_account: None, registry: Arc::new(Registry::default()) };
    router(state, &options)
}

/// One request from `from` (what `into_make_service_with_connect_info` records per connection).
async fn call(app: &Router, from: &str, method: Method, path: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut request = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    app.clone().oneshot(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_budget_gets_429_while_others_get_through() {
    let app = app(ApiOptions { rate_limit: Some(HttpRateLimit { per_second: 1, burst: 3 }), public_metrics: true }).await;
    let greedy = "203.0.113.7:40000";
    for i in 0..3 {
        assert_eq!(call(&app, greedy, Method::GET, "/health", &[]).await.status(), StatusCode::OK, "request {i} within the burst");
    }
    let refused = call(&app, greedy, Method::GET, "/health", &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER), "says when to come back");
    // Another port of the same address is the same client; POSTs are limited before parsing.
    assert_eq!(call(&app, "203.0.113.7:40001", Method::POST, "/intents", &[]).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(call(&app, greedy, Method::GET, "/metrics", &[]).await.status(), StatusCode::TOO_MANY_REQUESTS, "/metrics shares the budget");
    // Everyone else is unaffected.
    for other in ["203.0.113.8:40000", "198.51.100.1:1234", "[2001:db8:1::1]:443"] {
        assert_eq!(call(&app, other, Method::GET, "/health", &[]).await.status(), StatusCode::OK, "{other}");
    }
    // IPv6: one /64 is one client (a subscriber gets a whole /64).
    for i in 2..4 {
        assert_eq!(call(&app, &format!("[2001:db8:1::{i}]:443"), Method::GET, "/health", &[]).await.status(), StatusCode::OK);
    }
    assert_eq!(call(&app, "[2001:db8:1::ffff]:443", Method::GET, "/health", &[]).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(call(&app, "[2001:db8:2::1]:443", Method::GET, "/health", &[]).await.status(), StatusCode::OK, "another /64");
    // The budget refills at 1/s.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(call(&app, greedy, Method::GET, "/health", &[]).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_are_answered_and_metrics_carry_no_cors() {
    let app = app(ApiOptions::default()).await;
    let from = "192.0.2.1:5000";
    let preflight = call(
        &app,
        from,
        Method::OPTIONS,
        "/intents",
        &[("origin", "https://dapp.example"), ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type")],
    )
    .await;
    assert_eq!(preflight.status(), StatusCode::OK);
    let h = preflight.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(h[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));
    assert!(h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().contains("content-type"));

    let health = call(&app, from, Method::GET, "/health", &[("origin", "https://dapp.example")]).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let unknown = call(&app, from, Method::GET, "/intents/11111111111111111111111111111111", &[("origin", "https://dapp.example")]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "errors are readable by the page too");

    let metrics = call(&app, from, Method::GET, "/metrics", &[("origin", "https://evil.example")]).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "no page on another origin may read /metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_left_off_the_public_api() {
    let app = app(ApiOptions { rate_limit: None, public_metrics: false }).await;
    assert_eq!(call(&app, "192.0.2.1:5000", Method::GET, "/metrics", &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(call(&app, "192.0.2.1:5000", Method::GET, "/health", &[]).await.status(), StatusCode::OK);
    // No limit configured: no 429 however many.
    for _ in 0..100 {
        assert_eq!(call(&app, "192.0.2.1:5000", Method::GET, "/health", &[]).await.status(), StatusCode::OK);
    }
}
