//! A valid-but-useless flood at a relayer: 100,000 well-signed intents from 10,000 fresh keys
//! with no balance and no fee, arriving as the node hands them over after gossip, while 50 honest
//! intents that pay a fee arrive among them. The relayer's store stays bounded (the low-priority
//! pool, per-signer places), its memory stays bounded, nothing of the flood is ever sent, and
//! every honest intent settles. The chain is the local mock JSON-RPC server (it does not prove
//! chain behaviour). Prints the figures p2p/BENCHMARKS.md quotes.

mod mock_rpc;

use mock_rpc::*;
use outpost_p2p::relayer::store::{HoldPolicy, Store};
use outpost_p2p::testkit::CONTRACT;
use outpost_p2p::validate::now_ns;
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::{Action, Amount, Deadline, Fee, Intent, Nonce, SecretKey, SignedIntent, TokenId};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEYS: u32 = 10_000;
const PER_KEY: u32 = 10;
const HONEST: u32 = 50;

fn signed(seed: u32, n: u32, fee: Option<Fee>) -> SignedIntent {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&seed.to_le_bytes());
    bytes[31] = 0x5A;
    let key = SecretKey::from_seed(bytes);
    let deadline = now_ns() + 3_600_000_000_000;
    let intent = Intent {
        signer_id: key.public_key().implicit_account_id(),
        deadline: Deadline(deadline),
        actions: vec![Action::Transfer { token: TokenId::Near, amount: Amount(1), receiver_id: "bob.test.near".parse().unwrap(), memo: None }],
        fee,
    };
    let mut random = [0u8; 24];
    random[..4].copy_from_slice(&n.to_le_bytes());
    key.sign_intent(&intent, Nonce::new(deadline, random), CONTRACT)
}

/// CPU seconds this process used (user + system), from /proc (clock ticks of 1/100 s).
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some((rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_useless_intents_stays_bounded_and_honest_ones_still_settle() {
    let chain = new_chain();
    let url = mock_rpc(chain.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relayer.redb");
    let policy = HoldPolicy::default();
    let store = Arc::new(Store::open_with(&path, policy.clone()).unwrap());
    let (relayer, log) = test_relayer(&url, store.clone());
    let (intake, rx) = tokio::sync::mpsc::channel(10_000);
    let task = tokio::spawn(relayer.run(rx));

    let (rss_before, cpu_before) = (rss_kib(), cpu_s());
    let started = Instant::now();
    let fee = Some(Fee { token: TokenId::Near, amount: Amount(10) });
    let mut honest = Vec::new();
    let mut honest_sent = Duration::ZERO;
    for k in 0..KEYS {
        for n in 0..PER_KEY {
            let s = signed(k, n, None);
            if n == 0 {
                chain.lock().unwrap().broke.insert(nonce_key(&s).0);
            }
            intake.send((hash_of(&s), Arc::new(s))).await.unwrap();
        }
        // The honest ones arrive in the middle of the flood.
        if k == KEYS / 2 {
            honest_sent = started.elapsed();
            for h in 0..HONEST {
                let s = signed(1_000_000 + h, 0, fee.clone());
                honest.push(hash_of(&s));
                intake.send((hash_of(&s), Arc::new(s))).await.unwrap();
            }
        }
    }
    let fed = started.elapsed();
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let executed = {
            let st = log.0.lock().unwrap();
            honest.iter().filter(|h| st.iter().any(|(x, s)| x == *h && matches!(s, IntentStatus::Executed { .. }))).count()
        };
        if executed == honest.len() {
            break;
        }
        assert!(Instant::now() < until, "only {executed} of {HONEST} honest intents executed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settled = started.elapsed();
    // The writer may still be draining the last of the flood from the intake.
    let flood = u64::from(KEYS * PER_KEY);
    while store.active_count().unwrap() + store.refused().values().sum::<u64>() < flood && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (rss_after, cpu) = (rss_kib(), cpu_s() - cpu_before);
    let refused: u64 = store.refused().values().sum();
    let held = store.active_count().unwrap();
    let file = std::fs::metadata(&path).unwrap().len();
    println!(
        "flood: {flood} useless intents + {HONEST} honest fed in {:.1} s ({:.0}/s); held {held}, refused {refused} ({:?}); \
         store file {:.1} MiB; RSS {:.0} -> {:.0} MiB; CPU {cpu:.1} s (test signing included); honest {HONEST}/{HONEST} executed within {:.1} s of arriving",
        fed.as_secs_f64(),
        (flood + u64::from(HONEST)) as f64 / fed.as_secs_f64(),
        store.refused(),
        file as f64 / 1048576.0,
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (settled - honest_sent).as_secs_f64(),
    );
    assert!(held <= policy.free_pool as u64, "the store holds at most the low-priority pool: {held}");
    assert_eq!(held + refused, flood, "every flood intent was either held in the pool or refused");
    assert!(file < 64 * 1024 * 1024, "store file {file} bytes");
    assert!(rss_after.saturating_sub(rss_before) < 256 * 1024, "RSS grew {} KiB", rss_after - rss_before);
    let c = chain.lock().unwrap();
    assert_eq!(c.used.len(), HONEST as usize, "only the honest intents ever executed");
    assert!(c.sent.iter().all(|s| s.items <= HONEST as usize));
    drop(c);
    task.abort();
}
