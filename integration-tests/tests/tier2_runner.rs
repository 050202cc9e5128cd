//! Tier 2's runner in tier 1: flows that need no sandbox go through the same code the sandbox
//! suites use, so a broken harness (a flow spawned outside the runtime, an exit that skips
//! cleanup, a skip that counts as a pass) fails here, not on a machine that has a sandbox.

use outpost_integration_tests::tier2::{live_descendants, run, Flow, Options, Summary};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The leftover-process check looks at this whole process: tests that spawn must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

/// An environment that counts its live clones, as a sandbox handle would be alive.
#[derive(Clone)]
struct Env(Arc<AtomicUsize>);

const FLOWS: &[Flow<Env>] = &[
    Flow { needs: None, name: "adds_up", run: |env| Box::pin(async move { env.0.fetch_add(1, Ordering::SeqCst); }) },
    Flow { needs: None, name: "panics", run: |_| Box::pin(async { panic!("boom: the flow's own assertion") }) },
    Flow {
        needs: None,
        name: "awaits_the_runtime",
        // Needs the runtime's timer: a flow polled outside a Tokio runtime would panic here.
        run: |env| Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            env.0.fetch_add(1, Ordering::SeqCst);
        }),
    },
];

fn options() -> Options {
    Options { filter: vec![], flow_timeout: Duration::from_secs(30), check_leftovers: true, leftover_patience: Duration::from_secs(1), skips_fail: false }
}

fn run_to_string(flows: &[Flow<Env>], options: &Options, available: Result<(), String>, env: Option<Env>) -> (Summary, String) {
    let mut out = Vec::new();
    let summary = run("suite", flows, options, available, || async move { env.ok_or_else(|| "could not start".to_owned()) }, &mut out);
    (summary, String::from_utf8(out).unwrap())
}

#[test]
fn flows_run_in_the_runtime_failures_are_counted_and_the_environment_is_gone_before_it_returns() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let counter = Arc::new(AtomicUsize::new(0));
    let (summary, out) = run_to_string(FLOWS, &options(), Ok(()), Some(Env(counter.clone())));
    assert_eq!(summary.passed, vec!["adds_up", "awaits_the_runtime"], "{out}");
    assert_eq!(summary.failed, vec!["panics".to_owned()]);
    assert_eq!(summary.exit_code(), 1, "any failure fails the suite");
    assert!(out.contains("test panics ... FAILED") && out.contains("boom"), "{out}");
    assert!(out.lines().last() == Some("suite: 2 passed, 1 failed, 0 skipped"), "{out}");
    assert_eq!(counter.load(Ordering::SeqCst), 2);
    assert_eq!(Arc::strong_count(&counter), 1, "every clone of the environment was dropped before run returned");
}

#[test]
fn without_a_sandbox_every_selected_flow_is_skipped_loudly_and_nothing_starts() {
    let mut out = Vec::new();
    let options = Options { filter: vec!["adds".into(), "awaits".into()], ..options() };
    let summary = run("suite", FLOWS, &options, Err("no sandbox binary here".into()), || async { panic!("must not start") }, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(summary, Summary { passed: vec![], failed: vec![], skipped: 2 });
    assert_eq!(summary.exit_code(), 0);
    assert!(out.contains("SKIPPED: no sandbox binary here"), "{out}");
    assert!(out.contains("adds_up, awaits_the_runtime"), "{out}");
    assert!(out.ends_with("suite: 0 passed, 0 failed, 2 skipped\n"), "{out}");
}

#[test]
fn an_environment_that_does_not_start_fails_every_flow() {
    let (summary, out) = run_to_string(FLOWS, &Options { check_leftovers: false, ..options() }, Ok(()), None);
    assert_eq!(summary.failed.len(), 3);
    assert_eq!(summary.exit_code(), 1);
    assert!(out.contains("did not start: could not start"), "{out}");
}

#[test]
fn a_flow_past_its_time_limit_fails_and_does_not_hold_the_suite() {
    const SLOW: &[Flow<Env>] = &[Flow { needs: None, name: "hangs", run: |_| Box::pin(std::future::pending()) }];
    let options = Options { flow_timeout: Duration::from_millis(200), check_leftovers: false, ..options() };
    let (summary, out) = run_to_string(SLOW, &options, Ok(()), Some(Env(Default::default())));
    assert_eq!(summary.failed, vec!["hangs".to_owned()], "{out}");
    assert!(out.contains("still running after"), "{out}");
}

#[test]
fn a_process_left_behind_fails_the_suite_and_is_killed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const LEAKS: &[Flow<Env>] = &[Flow {
        needs: None,
        name: "leaks_a_process",
        run: |_| Box::pin(async {
            // Like a sandbox whose handle was forgotten instead of dropped.
            let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
            std::mem::forget(child);
        }),
    }];
    let (summary, out) = run_to_string(LEAKS, &options(), Ok(()), Some(Env(Default::default())));
    assert_eq!(summary.passed, vec!["leaks_a_process"]);
    assert_eq!(summary.failed, vec!["processes left behind".to_owned()], "{out}");
    assert!(out.contains("(sleep)"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(live_descendants(std::process::id()).iter().all(|(_, comm)| comm != "sleep"), "killed");
}

#[test]
fn a_flow_missing_its_prerequisites_is_skipped_saying_what_is_missing_never_passed() {
    const NEEDY: &[Flow<Env>] = &[
        Flow {
            name: "needs_a_browser",
            run: |env| Box::pin(async move { env.0.fetch_add(100, Ordering::SeqCst); }),
            needs: Some(|| Err("no Chromium at /nowhere/chromium".into())),
        },
        Flow { name: "has_what_it_needs", run: |env| Box::pin(async move { env.0.fetch_add(1, Ordering::SeqCst); }), needs: Some(|| Ok(())) },
    ];
    let counter = Arc::new(AtomicUsize::new(0));
    let opts = Options { check_leftovers: false, ..options() };
    let (summary, out) = run_to_string(NEEDY, &opts, Ok(()), Some(Env(counter.clone())));
    assert_eq!(summary, Summary { passed: vec!["has_what_it_needs"], failed: vec![], skipped: 1 }, "{out}");
    assert_eq!(counter.load(Ordering::SeqCst), 1, "the flow that lacks its prerequisites never ran");
    assert!(out.contains("test needs_a_browser ... SKIPPED (not run, not passed): no Chromium at /nowhere/chromium"), "{out}");
    assert!(out.ends_with("suite: 1 passed, 0 failed, 1 skipped\n"), "{out}");
    // Where the caller provided the prerequisites, a missing one is a broken setup: a failure.
    let strict = Options { skips_fail: true, ..opts };
    let (summary, out) = run_to_string(NEEDY, &strict, Ok(()), Some(Env(counter.clone())));
    assert_eq!(summary.failed, vec!["needs_a_browser".to_owned()], "{out}");
    assert_eq!((summary.passed.len(), summary.skipped, summary.exit_code()), (1, 0, 1), "{out}");
    assert!(out.contains("test needs_a_browser ... FAILED: its prerequisites are missing"), "{out}");
}
