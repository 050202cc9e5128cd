//! Tier 2: runs `outpost-deploy --network sandbox` as a user would and checks what it wrote.
//! Skipped (and says so) when NEAR_SANDBOX_BIN_PATH does not name a sandbox binary.

use std::process::Command;

fn main() {
    let has_sandbox = std::env::var_os("NEAR_SANDBOX_BIN_PATH").is_some_and(|p| std::path::Path::new(&p).is_file())
        || std::env::var("OUTPOST_SANDBOX_DOWNLOAD").is_ok_and(|v| v == "1");
    if !has_sandbox {
        println!("tier 2 (deploy to sandbox) SKIPPED: NEAR_SANDBOX_BIN_PATH does not name a neard sandbox binary (and OUTPOST_SANDBOX_DOWNLOAD=1 is not set).");
        println!("sandbox_deploy: 0 passed, 0 failed, 1 skipped");
        return;
    }
    let out = std::env::temp_dir().join(format!("outpost-deploy-sandbox-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_outpost-deploy"))
        .args(["--network", "sandbox", "--out"])
        .arg(&out)
        .args(["--relayer-url", "http://127.0.0.1:8787"])
        .output()
        .expect("run outpost-deploy");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let mut failures = Vec::new();
    if !run.status.success() {
        failures.push(format!("exit {}: {stderr}", run.status));
    }
    let dir = out.join("sandbox");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let intents = read("dev-account");
    if !intents.starts_with("intents.") {
        failures.push(format!("dev-account: {intents:?}"));
    }
    if !read("dev-account.env").contains(&format!("CONTRACT_NAME={intents}\n")) {
        failures.push("dev-account.env lacks CONTRACT_NAME".into());
    }
    let network: serde_json::Value = serde_json::from_str(&read("network.json")).unwrap_or_default();
    if network["intents_contract"] != intents.as_str() || network["relayer_url"] != "http://127.0.0.1:8787" || network["name"] != "sandbox" {
        failures.push(format!("network.json: {network}"));
    }
    let relayer = read("dev-account.env").lines().find_map(|l| l.strip_prefix("RELAYER_ACCOUNT=").map(str::to_owned)).unwrap_or_default();
    if !dir.join(format!("{relayer}.json")).is_file() {
        failures.push(format!("no key file for the relayer account `{relayer}`"));
    }
    if !stdout.contains("intents contract") {
        failures.push(format!("summary missing: {stdout}"));
    }
    let _ = std::fs::remove_dir_all(&out);
    if failures.is_empty() {
        println!("test deploy_to_sandbox ... ok");
        println!("sandbox_deploy: 1 passed, 0 failed, 0 skipped");
    } else {
        println!("test deploy_to_sandbox ... FAILED\n{}", failures.join("\n"));
        println!("sandbox_deploy: 0 passed, 1 failed, 0 skipped");
        std::process::exit(1);
    }
}
