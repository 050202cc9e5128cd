//! Tier 2's runner: the flows of a suite on one shared environment (a NEAR sandbox), with an honest
//! skip when there is none. It is plain code over any environment, so tier 1 runs it too
//! (`tests/tier2_runner.rs`) with flows that need no sandbox: the part of tier 2 that can break
//! here is tested here.
//!
//! Guarantees, whatever the flows do:
//! * a flow fails by panicking (or by running past its time limit); the others still run;
//! * the environment and the runtime are dropped before [`run`] returns, so a sandbox is stopped
//!   before the caller exits, and any child process still alive then is reported as a failure
//!   (and killed): a second run starts from nothing;
//! * a flow whose prerequisites ([`Flow::needs`]: a built dApp, a browser, …) are missing is not
//!   run: it is reported SKIPPED with what is missing (or FAILED under [`Options::skips_fail`]),
//!   never passed;
//! * the closing line is `<suite>: N passed, N failed, N skipped`, and [`Summary::exit_code`] is
//!   non-zero when anything failed.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub type FlowFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One named flow over an environment `E` (each gets its own clone).
pub struct Flow<E> {
    pub name: &'static str,
    pub run: fn(E) -> FlowFuture,
    /// What the flow needs besides the environment, checked before it runs: `Err` says what is
    /// missing, and the flow is skipped (or failed, see [`Options::skips_fail`]).
    pub needs: Option<fn() -> Result<(), String>>,
}

/// What a suite did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: Vec<&'static str>,
    /// Names of failed flows, plus `processes left behind` when cleanup found any.
    pub failed: Vec<String>,
    pub skipped: usize,
}

impl Summary {
    pub fn line(&self, suite: &str) -> String {
        format!("{suite}: {} passed, {} failed, {} skipped", self.passed.len(), self.failed.len(), self.skipped)
    }

    pub fn exit_code(&self) -> i32 {
        i32::from(!self.failed.is_empty())
    }
}

/// Whether tier 2 can run: a sandbox binary named by NEAR_SANDBOX_BIN_PATH, or leave to download
/// one (OUTPOST_SANDBOX_DOWNLOAD=1, on a machine with internet). `Err` says why not.
pub fn sandbox_availability() -> Result<(), String> {
    if crate::sandbox_available() {
        return Ok(());
    }
    Err(match std::env::var_os("NEAR_SANDBOX_BIN_PATH") {
        Some(p) => format!("NEAR_SANDBOX_BIN_PATH={} is not a file", p.to_string_lossy()),
        None => "NEAR_SANDBOX_BIN_PATH does not name a neard sandbox binary (and OUTPOST_SANDBOX_DOWNLOAD=1 is not set to let near-workspaces download one)".into(),
    })
}

/// The `main` of a sandbox suite: its flows on one near-workspaces sandbox (or all skipped, saying
/// why), then exit: non-zero on any failure, and only after the sandbox has stopped.
pub fn sandbox_suite(suite: &str, flows: &[Flow<near_workspaces::Worker<near_workspaces::network::Sandbox>>]) -> ! {
    let summary = run(
        suite,
        flows,
        &Options::from_args(),
        sandbox_availability(),
        || async { near_workspaces::sandbox().await.map_err(|e| format!("near_workspaces::sandbox(): {e}")) },
        &mut std::io::stdout(),
    );
    std::process::exit(summary.exit_code())
}

/// Options of one run.
pub struct Options {
    /// Flow names containing any of these run (all when empty).
    pub filter: Vec<String>,
    pub flow_timeout: Duration,
    /// Look for child processes still alive after cleanup (off only where other tests of the
    /// same process spawn children concurrently).
    pub check_leftovers: bool,
    /// How long cleanup may take (a sandbox shutting down) before a child still alive counts.
    pub leftover_patience: Duration,
    /// A flow whose prerequisites are missing fails instead of being skipped (set where the
    /// caller provided them, so a missing one is a broken setup: `OUTPOST_TIER2_NO_SKIPS=1`).
    pub skips_fail: bool,
}

impl Options {
    /// From the command line, as `cargo test --test sandbox -- NAME` passes it.
    pub fn from_args() -> Self {
        Options {
            filter: std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect(),
            flow_timeout: Duration::from_secs(600),
            check_leftovers: true,
            leftover_patience: Duration::from_secs(10),
            skips_fail: std::env::var("OUTPOST_TIER2_NO_SKIPS").is_ok_and(|v| v == "1"),
        }
    }
}

/// Runs the selected flows on the environment `start` makes, or reports them all skipped when
/// `available` is `Err`. Prints each verdict and the closing line to `out`.
pub fn run<E, S, F>(suite: &str, flows: &[Flow<E>], options: &Options, available: Result<(), String>, start: S, out: &mut impl Write) -> Summary
where
    E: Clone + Send + 'static,
    S: FnOnce() -> F,
    F: Future<Output = Result<E, String>>,
{
    let selected: Vec<&Flow<E>> =
        flows.iter().filter(|f| options.filter.is_empty() || options.filter.iter().any(|n| f.name.contains(n.as_str()))).collect();
    let mut summary = Summary::default();
    if let Err(why) = available {
        let _ = writeln!(out, "tier 2 ({suite}) SKIPPED: {why}");
        let _ = writeln!(out, "  flows not run: {}", selected.iter().map(|f| f.name).collect::<Vec<_>>().join(", "));
        summary.skipped = selected.len();
        let _ = writeln!(out, "{}", summary.line(suite));
        return summary;
    }
    let before = if options.check_leftovers { live_descendants(std::process::id()) } else { Vec::new() };
    {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
        match rt.block_on(start()) {
            Err(e) => {
                let _ = writeln!(out, "tier 2 ({suite}): the environment did not start: {e}");
                summary.failed.extend(selected.iter().map(|f| f.name.to_owned()));
            }
            Ok(env) => {
                for flow in &selected {
                    if let Some(Err(missing)) = flow.needs.map(|needs| needs()) {
                        if options.skips_fail {
                            let _ = writeln!(out, "test {} ... FAILED: its prerequisites are missing (OUTPOST_TIER2_NO_SKIPS=1): {missing}", flow.name);
                            summary.failed.push(flow.name.to_owned());
                        } else {
                            let _ = writeln!(out, "test {} ... SKIPPED (not run, not passed): {missing}", flow.name);
                            summary.skipped += 1;
                        }
                        continue;
                    }
                    let started = Instant::now();
                    let task = rt.spawn((flow.run)(env.clone()));
                    // A flow fails by panicking: the spawned task catches it, the others go on.
                    let verdict = rt.block_on(async {
                        match tokio::time::timeout(options.flow_timeout, task).await {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err(format!("still running after {} s", options.flow_timeout.as_secs())),
                        }
                    });
                    let took = started.elapsed().as_secs_f64();
                    match verdict {
                        Ok(()) => {
                            let _ = writeln!(out, "test {} ... ok ({took:.1} s)", flow.name);
                            summary.passed.push(flow.name);
                        }
                        Err(e) => {
                            let _ = writeln!(out, "test {} ... FAILED ({took:.1} s): {e}", flow.name);
                            summary.failed.push(flow.name.to_owned());
                        }
                    }
                }
                // Inside the runtime: the sandbox's process handle wants its reactor to stop it.
                rt.block_on(async move { drop(env) });
            }
        }
        // Dropping the runtime ends what flows left running and drops their clones of the
        // environment: the sandbox stops here, before anyone calls `exit`.
        rt.shutdown_timeout(Duration::from_secs(10));
    }
    if options.check_leftovers {
        let left = wait_for_no_new_descendants(&before, options.leftover_patience);
        if !left.is_empty() {
            let names: Vec<String> = left.iter().map(|(pid, comm)| format!("{pid} ({comm})")).collect();
            let _ = writeln!(out, "tier 2 ({suite}): processes left behind after cleanup, killed now: {}", names.join(", "));
            for (pid, _) in &left {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
            summary.failed.push("processes left behind".into());
        }
    }
    let _ = writeln!(out, "{}", summary.line(suite));
    summary
}

fn wait_for_no_new_descendants(before: &[(u32, String)], patience: Duration) -> Vec<(u32, String)> {
    let deadline = Instant::now() + patience;
    loop {
        let left: Vec<(u32, String)> =
            live_descendants(std::process::id()).into_iter().filter(|(pid, _)| !before.iter().any(|(p, _)| p == pid)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Live (not zombie) descendants of `root`, as (pid, command name), from /proc. Empty where
/// /proc does not exist.
pub fn live_descendants(root: u32) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    // (pid, parent, name, zombie)
    let procs: Vec<(u32, u32, String, bool)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid, ppid, comm, state == "Z" || state == "X"))
        })
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, comm, zombie) in &procs {
            if *ppid == parent {
                frontier.push(*pid);
                if !zombie {
                    out.push((*pid, comm.clone()));
                }
            }
        }
    }
    out
}
