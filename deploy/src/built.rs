//! The contracts to deploy: the wasm built by scripts/build-contracts.sh, its code hash as
//! explorers show it, and which build made it (the `<name>.build.json` the script writes next to
//! the wasm), so the output says what is going on chain.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub struct Built {
    pub path: PathBuf,
    pub code: Vec<u8>,
    /// sha256 of the wasm, base58: NEAR's code hash.
    pub hash: String,
    /// "plain build of <commit>" or "reproducible build of <commit> in <image>".
    pub build: String,
}

/// NEAR's code hash of `code`: sha256, base58 (what `view_account` and explorers show).
pub fn code_hash(code: &[u8]) -> String {
    bs58::encode(Sha256::digest(code)).into_string()
}

/// Loads `<dir>/<name>.wasm` (e.g. `outpost_intents`).
pub fn load(dir: &Path, name: &str) -> Result<Built, String> {
    let path = dir.join(format!("{name}.wasm"));
    let code = std::fs::read(&path).map_err(|e| format!("{}: {e}; build the contracts first (scripts/build-contracts.sh)", path.display()))?;
    if !code.starts_with(b"\0asm") {
        return Err(format!("{}: not a wasm module", path.display()));
    }
    let build = describe_build(&dir.join(format!("{name}.build.json")));
    Ok(Built { hash: code_hash(&code), path, code, build })
}

fn describe_build(path: &Path) -> String {
    let Some(claims) = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) else {
        return "unknown build (no build record next to the wasm)".into();
    };
    let commit = claims["commit"].as_str().unwrap_or("unknown commit");
    let commit = commit.get(..12).unwrap_or(commit);
    match claims["kind"].as_str() {
        Some("reproducible") => format!("reproducible build of {commit} in {}", claims["build_environment"].as_str().unwrap_or("docker")),
        Some("plain") => format!("plain build of {commit} (not reproducible)"),
        _ => "unknown build".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hash_is_base58_sha256() {
        // sha256("") = e3b0c442...; base58 as nearcore prints it.
        assert_eq!(code_hash(b""), "GKot5hBsd81kMupNCXHaqbhv3huEbxAFMLnpcX2hniwn");
    }

    #[test]
    fn loads_wasm_and_names_its_build() {
        let dir = std::env::temp_dir().join(format!("outpost-built-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = load(&dir, "outpost_intents").err().unwrap();
        assert!(err.contains("outpost_intents.wasm") && err.contains("scripts/build-contracts.sh"), "{err}");
        std::fs::write(dir.join("outpost_intents.wasm"), b"not wasm").unwrap();
        assert!(load(&dir, "outpost_intents").err().unwrap().contains("not a wasm module"));
        std::fs::write(dir.join("outpost_intents.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let b = load(&dir, "outpost_intents").unwrap();
        assert_eq!(b.hash, code_hash(b"\0asm\x01\0\0\0"));
        assert!(b.build.starts_with("unknown build"));
        std::fs::write(dir.join("outpost_intents.build.json"), r#"{"kind":"plain","commit":"0123456789abcdef0123"}"#).unwrap();
        assert_eq!(load(&dir, "outpost_intents").unwrap().build, "plain build of 0123456789ab (not reproducible)");
        std::fs::write(dir.join("outpost_intents.build.json"), r#"{"kind":"reproducible","commit":"0123456789abcdef0123","build_environment":"sourcescan/cargo-near:x@sha256:y"}"#).unwrap();
        assert_eq!(load(&dir, "outpost_intents").unwrap().build, "reproducible build of 0123456789ab in sourcescan/cargo-near:x@sha256:y");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
