//! Verifiable builds: each contract's `[package.metadata.near.reproducible_build]` parses (through
//! `cargo metadata`, as cargo-near reads it) and pins a cargo-near image by digest; and the NEP-330
//! `contract_source_metadata` view of each built wasm reports what its build claims (the
//! `<name>.build.json` record scripts/build-contracts.sh writes next to it): version, link and
//! standards always, `build_info` only for a reproducible build.

use outpost_integration_tests::{load_wasm, wasm_dir, Call, Vm, NEWEST_PROTOCOL};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

const CONTRACTS: [&str; 2] = ["outpost-intents", "outpost-token"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo metadata` of the workspace's own packages.
fn packages() -> Vec<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1", "--manifest-path"])
        .arg(repo_root().join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    meta["packages"].as_array().expect("packages").clone()
}

fn package(packages: &[Value], name: &str) -> Value {
    packages.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no package {name}")).clone()
}

#[test]
fn reproducible_build_metadata_pins_an_image_by_digest() {
    let packages = packages();
    let mut pins = Vec::new();
    for name in CONTRACTS {
        let p = package(&packages, name);
        let rb = &p["metadata"]["near"]["reproducible_build"];
        let image = rb["image"].as_str().unwrap_or_else(|| panic!("{name}: no reproducible_build.image: {rb}"));
        assert!(image.starts_with("sourcescan/cargo-near:"), "{name}: {image}");
        let digest = rb["image_digest"].as_str().unwrap_or_else(|| panic!("{name}: no image_digest"));
        let hex = digest.strip_prefix("sha256:").unwrap_or_else(|| panic!("{name}: digest {digest}"));
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{name}: digest {digest}");
        assert!(rb["passed_env"].as_array().is_some_and(|e| e.is_empty()), "{name}: passed_env {rb}");
        let command: Vec<&str> = rb["container_build_command"].as_array().expect("container_build_command").iter().map(|s| s.as_str().expect("string")).collect();
        // cargo-near accepts only its own build command inside the container; --locked makes the
        // build use Cargo.lock as committed.
        assert_eq!(command[..4], ["cargo", "near", "build", "non-reproducible-wasm"], "{name}");
        assert!(command.contains(&"--locked"), "{name}: {command:?}");
        // NEP-330's link comes from the package's repository.
        assert!(p["repository"].as_str().is_some_and(|r| r.starts_with("https://")), "{name}: repository {}", p["repository"]);
        pins.push((image.to_owned(), digest.to_owned(), command.join(" ")));
    }
    assert_eq!(pins[0], pins[1], "both contracts build in the same environment");
}

#[test]
fn nep330_view_reports_what_the_build_claims() {
    let packages = packages();
    for (name, standards) in [("outpost-intents", vec!["nep297", "nep330"]), ("outpost-token", vec!["nep141", "nep145", "nep148", "nep330"])] {
        let p = package(&packages, name);
        let file = name.replace('-', "_");
        let record_path = wasm_dir().join(format!("{file}.build.json"));
        let record: Value = std::fs::read_to_string(&record_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| panic!("{}: missing or not JSON; build with scripts/build-contracts.sh", record_path.display()));
        assert_eq!(record["crate"], name, "{record}");
        let commit = record["commit"].as_str().expect("commit");

        let mut vm = Vm::new(&load_wasm(name), NEWEST_PROTOCOL, "contract.test.near");
        let source = vm.view("contract_source_metadata", json!({}));
        let got: Vec<&str> = source["standards"].as_array().expect("standards").iter().map(|s| s["standard"].as_str().unwrap()).collect();
        assert_eq!(got, standards, "{name}: {source}");
        assert!(source["standards"].as_array().unwrap().iter().any(|s| s["standard"] == "nep330" && s["version"] == "1.3.0"), "{source}");
        let repository = p["repository"].as_str().unwrap();
        let version = p["version"].as_str().unwrap();
        match record["kind"].as_str() {
            Some("plain") => {
                assert_eq!(source["version"], format!("{version}+git.{}", &commit[..12.min(commit.len())]), "{name}: {source}");
                assert_eq!(source["link"], repository, "{name}: {source}");
                // Nobody can rebuild it byte for byte, so it must not say how it was built.
                assert!(source.get("build_info").is_none_or(Value::is_null), "{name}: a plain build claims build_info: {source}");
            }
            Some("reproducible") => {
                let rb = &p["metadata"]["near"]["reproducible_build"];
                let info = &source["build_info"];
                assert_eq!(source["version"], version, "{name}: {source}");
                assert!(source["link"].as_str().is_some_and(|l| l.starts_with(repository)), "{name}: {source}");
                let environment = format!("{}@{}", rb["image"].as_str().unwrap(), rb["image_digest"].as_str().unwrap());
                assert_eq!(info["build_environment"], environment, "{name}: {source}");
                assert_eq!(record["build_environment"], environment, "{name}: {record}");
                assert_eq!(info["build_command"], rb["container_build_command"], "{name}: {source}");
                assert_eq!(info["source_code_snapshot"], format!("git+{repository}?rev={commit}"), "{name}: {source}");
                let dir = PathBuf::from(p["manifest_path"].as_str().unwrap()).parent().unwrap().to_owned();
                let rel = dir.strip_prefix(repo_root().canonicalize().unwrap()).expect("contract inside the repo");
                assert_eq!(info["contract_path"], rel.to_str().unwrap(), "{name}: {source}");
            }
            other => panic!("{}: unknown build kind {other:?}", record_path.display()),
        }
    }
}

/// Appends a wasm custom section: same code, different bytes (and code hash). The tier-2 deploy
/// test upgrades to such a copy; this checks nearcore's VM runs it like the original.
fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = wasm.to_vec();
    out.push(0);
    leb128(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

#[test]
fn a_custom_section_changes_the_hash_not_the_contract() {
    let wasm = load_wasm("outpost-intents");
    let variant = with_custom_section(&wasm, "outpost-upgrade-test", b"2");
    assert_ne!(wasm, variant);
    let mut vm = Vm::new(&variant, NEWEST_PROTOCOL, "intents.test.near");
    vm.call(&Call::new("new", json!({"owner_id": "owner.test.near"}), "intents.test.near")).ok();
    assert_eq!(vm.view("config", json!({}))["owner_id"], "owner.test.near");
    assert_eq!(vm.view("contract_source_metadata", json!({})), Vm::new(&wasm, NEWEST_PROTOCOL, "intents.test.near").view("contract_source_metadata", json!({})));
}
