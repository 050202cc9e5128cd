//! The settlement benchmark's client side: posts signed intents to a relayer's HTTP API as a dApp
//! would, follows each one with `GET /intents/{hash}` until it ends, and reports throughput and
//! latency; [`gas_per_intent`] then reads what the batches burnt from the chain. The sandbox
//! benchmark (`integration-tests/benches/settlement.rs`) and a mock-RPC test run this same code.

use near_jsonrpc_client::{methods, JsonRpcClient};
use near_primitives::hash::CryptoHash;
use near_primitives::types::AccountId;
use near_primitives::views::{FinalExecutionOutcomeViewEnum, TxExecutionStatus};
use outpost_protocol::abi::relay::{RelayState, RelayStatus};
use outpost_protocol::{IntentHash, SignedIntent};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct SettlementReport {
    pub posted: usize,
    /// Accepted by `POST /intents` (202).
    pub accepted: usize,
    pub executed: usize,
    pub failed: usize,
    /// Still pending when the run gave up.
    pub unsettled: usize,
    /// From the first post to the last intent seen ended.
    pub elapsed: Duration,
    /// Per executed intent, from its `POST` to the poll that first saw it executed (so each is
    /// late by at most one polling sweep, reported as `sweep`).
    pub latencies: Vec<Duration>,
    /// The longest polling sweep: the resolution of `latencies`.
    pub sweep: Duration,
    /// Distinct `execute_intents` transactions the executed intents name.
    pub tx_hashes: BTreeSet<String>,
    /// The accounts the statuses named as the signers of those transactions.
    pub tx_senders: BTreeSet<String>,
    /// Failure codes and how many intents ended with each.
    pub failures: HashMap<String, usize>,
}

impl SettlementReport {
    /// Executed intents per second over the whole run.
    pub fn per_second(&self) -> f64 {
        self.executed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile (0–100) of the latencies.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let last = sorted.len().checked_sub(1)?;
        Some(sorted[((p / 100.0) * last as f64).round() as usize])
    }

    /// A Markdown table of the figures.
    pub fn markdown(&self, title: &str) -> String {
        let ms = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3));
        format!(
            "# {title}\n\n| figure | value |\n|---|---|\n| intents posted / accepted | {} / {} |\n| executed / failed / unsettled | {} / {} / {} |\n| elapsed | {:.2} s |\n| executed per second | {:.1} |\n| latency p50 / p99 / max (POST to executed) | {} / {} / {} |\n| polling resolution | {} |\n| execute_intents transactions | {} |\n| failures | {:?} |\n",
            self.posted,
            self.accepted,
            self.executed,
            self.failed,
            self.unsettled,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(100.0)),
            ms(Some(self.sweep)),
            self.tx_hashes.len(),
            self.failures,
        )
    }
}

/// One HTTP/1.1 exchange (`Connection: close`): the status and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(|e| e.to_string())?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no HTTP header end")?;
    let status_line = String::from_utf8_lossy(&response[..split]);
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("no HTTP status")?;
    let head_text = status_line.to_ascii_lowercase();
    let mut body = response[split + 4..].to_vec();
    if head_text.contains("transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).map_err(|e| e.to_string())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).ok_or("short chunk")?;
    }
}

/// Runs `f` over `items` with at most `concurrency` at a time, in order of completion.
async fn bounded<T, R, F, Fut>(items: Vec<T>, concurrency: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    use futures::stream::StreamExt;
    futures::stream::iter(items.into_iter().map(f)).buffer_unordered(concurrency.max(1)).collect().await
}

/// Posts every intent to the relayer's HTTP API at `addr` (`concurrency` requests at a time),
/// then polls each until it ends or `timeout` passes.
pub async fn run(addr: SocketAddr, intents: &[SignedIntent], concurrency: usize, timeout: Duration) -> Result<SettlementReport, String> {
    let start = Instant::now();
    let posts = bounded(intents.to_vec(), concurrency, |signed| async move {
        let body = serde_json::to_vec(&signed).map_err(|e| e.to_string())?;
        let sent = Instant::now();
        let (status, body) = http(addr, "POST", "/intents", &body).await?;
        let hash = outpost_protocol::nep413::Payload::of(&signed).hash(&outpost_protocol::DalekCrypto);
        Ok::<_, String>((hash, sent, status, body))
    })
    .await;
    let mut report = SettlementReport { posted: intents.len(), ..Default::default() };
    let mut pending: HashMap<IntentHash, Instant> = HashMap::new();
    for post in posts {
        let (hash, sent, status, body) = post?;
        if status == 202 {
            report.accepted += 1;
            pending.insert(hash, sent);
        } else {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            *report.failures.entry(format!("refused: {code}")).or_default() += 1;
        }
    }
    let deadline = start + timeout;
    while !pending.is_empty() && Instant::now() < deadline {
        let sweep_start = Instant::now();
        let hashes: Vec<IntentHash> = pending.keys().copied().collect();
        let statuses = bounded(hashes, concurrency, |hash| async move {
            let (status, body) = http(addr, "GET", &format!("/intents/{hash}"), &[]).await?;
            let seen = Instant::now();
            let parsed = if status == 200 { serde_json::from_slice::<RelayStatus>(&body).ok() } else { None };
            Ok::<_, String>((hash, seen, parsed))
        })
        .await;
        for status in statuses {
            let (hash, seen, parsed) = status?;
            let Some(parsed) = parsed else { continue };
            match parsed.status {
                RelayState::Pending => {}
                RelayState::Executed => {
                    let sent = pending.remove(&hash).expect("pending");
                    report.executed += 1;
                    report.latencies.push(seen - sent);
                    report.tx_hashes.extend(parsed.tx_hash);
                    report.tx_senders.extend(parsed.sender_account_id);
                }
                RelayState::Failed => {
                    pending.remove(&hash);
                    report.failed += 1;
                    *report.failures.entry(parsed.code.unwrap_or_default()).or_default() += 1;
                }
            }
        }
        report.sweep = report.sweep.max(sweep_start.elapsed());
        report.elapsed = start.elapsed();
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    report.unsettled = pending.len();
    Ok(report)
}

/// Gas burnt by the transactions `tx_hashes` (signed by `sender`), all their receipts included,
/// divided by `intents`; also the total.
pub async fn gas_per_intent(rpc_url: &str, sender: &AccountId, tx_hashes: &BTreeSet<String>, intents: usize) -> Result<(u64, u64), String> {
    let client = JsonRpcClient::connect(rpc_url);
    let mut total: u64 = 0;
    for hash in tx_hashes {
        let tx_hash: CryptoHash = hash.parse().map_err(|e| format!("tx hash {hash}: {e:?}"))?;
        let request = methods::tx::RpcTransactionStatusRequest {
            transaction_info: methods::tx::TransactionInfo::TransactionId { tx_hash, sender_account_id: sender.clone() },
            wait_until: TxExecutionStatus::Final,
        };
        let response = client.call(request).await.map_err(|e| format!("tx {hash}: {e}"))?;
        let outcome = match response.final_execution_outcome {
            Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcome(o)) => o,
            Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcomeWithReceipt(o)) => o.final_outcome,
            None => return Err(format!("tx {hash}: no outcome")),
        };
        total += outcome.transaction_outcome.outcome.gas_burnt.as_gas();
        total += outcome.receipts_outcome.iter().map(|r| r.outcome.gas_burnt.as_gas()).sum::<u64>();
    }
    Ok((total / intents.max(1) as u64, total))
}
