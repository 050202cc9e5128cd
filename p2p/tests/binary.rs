//! The `outpost-node` binary as a process: `--help`, a persistent identity, the HTTP API, and a
//! relayer killed with SIGKILL that loses nothing. Its RPC is the local JSON-RPC server of
//! `mock_rpc` (this does not prove chain behaviour).

mod mock_rpc;

use mock_rpc::*;
use outpost_p2p::testkit::{forged_intent, valid_intent, CHAIN, CONTRACT};
use outpost_protocol::SignedIntent;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_outpost-node");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary; returns it and its peer id (from the "node started" log line).
fn start(dir: &Path, http: u16, extra: &[&str]) -> (Child, String) {
    let tcp = free_port();
    let mut child = Command::new(BIN)
        .args(["--chain-id", CHAIN, "--contract", CONTRACT, "--listen", &format!("/ip4/127.0.0.1/tcp/{tcp}")])
        .args(["--http", &format!("127.0.0.1:{http}"), "--identity-file"])
        .arg(dir.join("node.key"))
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("peer_id=") {
                let id: String = line[at + 8..].chars().take_while(|c| c.is_alphanumeric()).collect();
                let _ = tx.send(id);
            }
        }
    });
    let peer_id = rx.recv_timeout(Duration::from_secs(20)).expect("node started");
    (child, peer_id)
}

async fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("HTTP API not up: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The raw response (status line, headers and body) to `request`.
async fn raw(port: u16, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn json(s: &SignedIntent) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn help_lists_the_options() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen", "--bootstrap", "--identity-file", "--http", "--relayer", "--rpc-url", "--relayer-key-file", "--store", "--max-batch-tgas",
        "--tls-cert", "--tls-key", "--max-connections-per-ip", "--trusted-ip", "--metrics-listen", "--http-rate", "--relayer-keys",
        "--print-relayer-keys",
    ] {
        assert!(text.contains(flag), "--help mentions {flag}");
    }
    let bad = Command::new(BIN).args(["--contract", "x", "--listen", "not-a-multiaddr"]).output().unwrap();
    assert!(!bad.status.success(), "a bad address is refused");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let no_cert = Command::new(BIN)
        .args(["--contract", "x.near", "--listen", "/ip4/127.0.0.1/tcp/0/tls/ws", "--http", "127.0.0.1:0", "--identity-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!no_cert.status.success());
    assert!(String::from_utf8_lossy(&no_cert.stderr).contains("needs --tls-cert"), "{}", String::from_utf8_lossy(&no_cert.stderr));
}

#[test]
fn relayer_keys_are_derived_from_the_key_file_and_printed_with_the_command_to_add_them() {
    let dir = tempfile::tempdir().unwrap();
    let main = near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, "binary test relayer");
    let file = dir.path().join("relayer.json");
    std::fs::write(&file, serde_json::json!({"account_id": "relayer.testnet", "public_key": main.public_key(), "private_key": main}).to_string()).unwrap();
    let print = || {
        let out = Command::new(BIN)
            .args(["--contract", "intents.testnet", "--relayer-keys", "3", "--print-relayer-keys", "--relayer-key-file"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = print();
    assert_eq!(text, print(), "the same keys every time");
    let derived = outpost_p2p::relayer::derived_keys(&main, 3);
    assert_eq!(derived.len(), 2);
    for key in &derived {
        assert!(text.contains(&format!(
            "near account add-key relayer.testnet grant-function-call-access --allowance unlimited --contract-account-id intents.testnet --function-names execute_intents use-manually-provided-public-key {}",
            key.public_key()
        )), "{text}");
    }
    assert!(!text.contains(&main.to_string()), "no secret is printed");
    assert!(!text.contains(&derived[0].to_string()), "no secret is printed");
}

#[tokio::test]
async fn identity_persists_and_the_http_api_validates() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut node, id1) = start(dir.path(), port, &[]);

    let valid = valid_intent(1);
    let (status, body) = http(port, "POST", "/intents", &json(&valid)).await;
    assert_eq!(status, 202, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["outcome"], "queued", "no peers yet: kept for the first one");
    let hash = reply["intent_hash"].as_str().unwrap().to_owned();

    let (status, body) = http(port, "POST", "/intents", &json(&forged_intent(2))).await;
    assert_eq!((status, serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"].clone()), (400, "SIGNATURE_INVALID".into()));
    let (status, body) = http(port, "POST", "/intents", "{\"message\": 1}").await;
    assert_eq!(status, 400);
    assert!(body.contains("MESSAGE_MALFORMED"), "{body}");
    let (status, _) = http(port, "POST", "/intents", &"x".repeat(20_000)).await;
    assert_eq!(status, 413, "bodies over the gossip size limit are refused unread");

    let (status, body) = http(port, "GET", &format!("/intents/{hash}"), "").await;
    assert_eq!(status, 200);
    let seen: outpost_protocol::abi::relay::RelayStatus = serde_json::from_str(&body).unwrap();
    assert_eq!(seen.status, outpost_protocol::abi::relay::RelayState::Pending, "{body}");
    let (status, _) = http(port, "GET", "/intents/11111111111111111111111111111111", "").await;
    assert_eq!(status, 404);
    let (status, _) = http(port, "GET", "/intents/not-a-hash", "").await;
    assert_eq!(status, 400);
    let (status, metrics) = http(port, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("outpost_intents_published_total 1"), "{metrics}");
    assert!(metrics.contains("libp2p_swarm"), "libp2p's own metrics are exported too");

    node.kill().unwrap();
    node.wait().unwrap();
    let (mut node, id2) = start(dir.path(), port, &[]);
    assert_eq!(id1, id2, "the identity file keeps the peer id across restarts");
    node.kill().unwrap();
}

fn key_file(dir: &Path) -> std::path::PathBuf {
    let key = relayer_key();
    let path = dir.join("relayer.json");
    let json = serde_json::json!({ "account_id": RELAYER, "public_key": key.public_key().to_string(), "private_key": key.to_string() });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// `outpost-node` flags for relayer mode on the mock chain at `url`, its files in `dir`.
fn relayer_args(dir: &Path, url: &str) -> Vec<String> {
    let key = key_file(dir);
    let store = dir.join("relayer.redb");
    ["--relayer", "--rpc-url", url, "--relayer-key-file", key.to_str().unwrap(), "--store", store.to_str().unwrap()].map(String::from).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayer_killed_with_sigkill_loses_nothing() {
    let chain = new_chain();
    chain.lock().unwrap().down = true;
    let url = mock_rpc(chain.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let args = relayer_args(dir.path(), &url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let port = free_port();
    let (mut relayer, _) = start(dir.path(), port, &args);

    let intents: Vec<SignedIntent> = (0..3).map(|n| valid_intent(40 + n)).collect();
    let mut hashes = Vec::new();
    for s in &intents {
        let (status, body) = http(port, "POST", "/intents", &json(s)).await;
        assert_eq!(status, 202, "{body}");
        hashes.push(serde_json::from_str::<serde_json::Value>(&body).unwrap()["intent_hash"].as_str().unwrap().to_owned());
    }
    let (_, body) = http(port, "GET", &format!("/intents/{}", hashes[0]), "").await;
    assert!(body.contains("\"pending\""), "{body}");
    // SIGKILL right after the 202s: no shutdown code runs.
    relayer.kill().unwrap();
    relayer.wait().unwrap();
    assert!(chain.lock().unwrap().sent.is_empty());

    chain.lock().unwrap().down = false;
    let (mut relayer, _) = start(dir.path(), port, &args);
    let deadline = Instant::now() + Duration::from_secs(30);
    for h in &hashes {
        loop {
            let (_, body) = http(port, "GET", &format!("/intents/{h}"), "").await;
            if body.contains("\"executed\"") {
                break;
            }
            assert!(Instant::now() < deadline, "{h} not executed after restart: {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    relayer.kill().unwrap();
    let chain = chain.lock().unwrap();
    assert_eq!(chain.sent.len(), 1);
    assert_eq!(chain.sent[0].items, 3);
}

/// A relayer whose own key the chain refuses (a function-call key given a deposit, as on a real
/// node before "who pays") says so on `/health`, on each intent's status and in its metrics, and
/// keeps the intents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_relayer_key_shows_on_health_statuses_and_metrics() {
    let chain = new_chain();
    chain.lock().unwrap().refuse_key = true;
    let url = mock_rpc(chain.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let args = relayer_args(dir.path(), &url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let port = free_port();
    let (mut relayer, _) = start(dir.path(), port, &args);
    let (status, body) = http(port, "GET", "/health", "").await;
    assert_eq!((status, body.contains("\"ok\"")), (200, true), "{body}");

    let (status, body) = http(port, "POST", "/intents", &json(&valid_intent(70))).await;
    assert_eq!(status, 202, "{body}");
    let hash = serde_json::from_str::<serde_json::Value>(&body).unwrap()["intent_hash"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        let (status, body) = http(port, "GET", "/health", "").await;
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "never reported halted: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "halted");
    assert_eq!(health["code"], "RELAYER_KEY_REJECTED");
    assert!(health["detail"].as_str().unwrap().contains("DepositWithFunctionCall"), "{health}");
    let (_, body) = http(port, "GET", &format!("/intents/{hash}"), "").await;
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((st["status"].as_str(), st["code"].as_str()), (Some("pending"), Some("RELAYER_KEY_REJECTED")), "{body}");
    let (_, metrics) = http(port, "GET", "/metrics", "").await;
    assert!(metrics.contains("outpost_relayer_halted 1"), "{metrics}");
    assert!(metrics.contains("outpost_relayer_rpc_errors_total{kind=\"permanent\"} 1"), "{metrics}");
    // Halted means quiet: one refused send, not a retry storm.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(chain.lock().unwrap().calls["send_tx"], 1);
    relayer.kill().unwrap();
    relayer.wait().unwrap();
}

/// `--metrics-listen` moves /metrics off the public API; the API answers CORS preflights and
/// refuses a client over its budget with 429 (what a browser can read: CORS headers included).
#[tokio::test]
async fn metrics_on_their_own_address_and_the_api_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_at = format!("127.0.0.1:{metrics_port}");
    let (mut node, _) = start(dir.path(), port, &["--metrics-listen", &metrics_at, "--http-rate", "1", "--http-burst", "4"]);

    let (status, metrics) = http(metrics_port, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("outpost_connected_peers"), "{metrics}");
    let (status, _) = http(port, "GET", "/metrics", "").await;
    assert_eq!(status, 404, "not on the public API");

    let preflight = raw(
        port,
        "OPTIONS /intents HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://dapp.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n",
    )
    .await
    .to_ascii_lowercase();
    assert!(preflight.starts_with("http/1.1 200"), "{preflight}");
    assert!(preflight.contains("access-control-allow-origin: *"), "{preflight}");
    assert!(preflight.contains("access-control-allow-methods:") && preflight.contains("post"), "{preflight}");

    // The preflight is answered before the limiter; the 404 above (every path counts) and three
    // /health spend the budget of 4.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(http(port, "GET", "/health", "").await.0);
    }
    assert_eq!(&statuses[..3], &[200; 3], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let limited = raw(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://dapp.example\r\nConnection: close\r\n\r\n").await.to_ascii_lowercase();
    assert!(limited.starts_with("http/1.1 429"), "{limited}");
    assert!(limited.contains("access-control-allow-origin: *"), "a page can read the 429: {limited}");
    // The metrics address has no limit.
    for _ in 0..10 {
        assert_eq!(http(metrics_port, "GET", "/metrics", "").await.0, 200);
    }
    node.kill().unwrap();
    node.wait().unwrap();
}
