//! The `outpost-deploy` binary as a user runs it, without any network: help, argument errors and
//! key-file errors all happen before a node is contacted.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outpost-deploy")).args(args).output().expect("run outpost-deploy")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A folder with stand-in contracts (valid wasm headers) so a run gets past loading them.
fn fake_wasm_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("outpost-deploy-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for c in ["outpost_intents", "outpost_token"] {
        std::fs::write(dir.join(format!("{c}.wasm")), b"\0asm\x01\0\0\0").unwrap();
    }
    dir
}

#[test]
fn help_lists_every_option() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let (stdout, _) = text(&out);
    for flag in ["--network", "--account", "--intents-account", "--token-account", "--credentials-dir", "--out", "--wasm-dir", "--rpc-url", "--relayer-url", "--peer", "--serve", "--yes-mainnet", "--help", "--version"] {
        assert!(stdout.contains(flag), "{flag} missing:\n{stdout}");
    }
    assert!(stdout.contains("[default: sandbox]"), "{stdout}");
}

#[test]
fn argument_errors_exit_2_with_a_sentence() {
    for (args, want) in [
        (&["--network", "mainnet", "--account", "alice.near"][..], "add --yes-mainnet to confirm"),
        (&["--network", "devnet"][..], "invalid value 'devnet'"),
        (&["--network", "testnet", "--token-account", "t.testnet"][..], "--account <ACCOUNT_ID>"),
    ] {
        let out = run(args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_key_file_is_named_before_any_network_is_contacted() {
    let wasm = fake_wasm_dir("nokey");
    let creds = wasm.join("creds");
    let out = run(&["--network", "testnet", "--account", "alice.testnet", "--credentials-dir", creds.to_str().unwrap(), "--wasm-dir", wasm.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let expected = creds.join("testnet").join("alice.testnet.json");
    assert!(stderr.contains(&format!("error: no key for alice.testnet: {} does not exist", expected.display())), "{stderr}");
    assert!(!stderr.contains("==>"), "nothing may start before the key is found: {stderr}");

    // A key file for someone else is refused, naming the file.
    std::fs::create_dir_all(creds.join("testnet")).unwrap();
    std::fs::write(&expected, r#"{"account_id":"bob.testnet","public_key":"ed25519:x","private_key":"ed25519:x"}"#).unwrap();
    let (_, stderr) = text(&run(&["--network", "testnet", "--account", "alice.testnet", "--credentials-dir", creds.to_str().unwrap(), "--wasm-dir", wasm.to_str().unwrap()]));
    assert!(stderr.contains(&expected.display().to_string()) && stderr.contains("not a NEAR secret key"), "{stderr}");
    std::fs::remove_dir_all(&wasm).unwrap();
}

#[test]
fn missing_contracts_say_how_to_build_them() {
    let dir = std::env::temp_dir().join(format!("outpost-deploy-cli-empty-{}", std::process::id()));
    let out = run(&["--network", "testnet", "--wasm-dir", dir.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("outpost_intents.wasm") && stderr.contains("scripts/build-contracts.sh"), "{stderr}");
}
