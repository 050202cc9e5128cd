//! What a deploy leaves behind, in near-cli's `neardev/` layout plus the dApp's network config:
//! - `dev-account`: the contract account (the intents ledger), as near-cli's dev-deploy wrote it;
//! - `dev-account.env`: `CONTRACT_NAME=...` and the other ids, for shell scripts;
//! - `network.json`: the dApp's network config (RPC URL, explorer, contracts, tokens, peers,
//!   relayer URL).

use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub network: String,
    pub chain_id: String,
    pub rpc_url: String,
    /// Block explorer base URL (none for a sandbox).
    pub explorer_url: Option<String>,
    /// The account that pays for and owns both contracts (near-cli's name for it).
    pub dev_account: String,
    pub intents_contract: String,
    pub token_contract: String,
    pub relayer_id: Option<String>,
    pub relayer_url: Option<String>,
    pub peers: Vec<String>,
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// Writes the three files into `dir` (created if missing), each through a temporary file and a
/// rename, so an interrupted deploy never leaves a half-written file. Returns the files written.
pub fn write(dir: &Path, d: &Deployment) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut env = format!(
        "CONTRACT_NAME={}\nINTENTS_CONTRACT={}\nTOKEN_CONTRACT={}\nDEV_ACCOUNT={}\nNEAR_ENV={}\nNEAR_RPC_URL={}\n",
        d.intents_contract, d.intents_contract, d.token_contract, d.dev_account, d.network, d.rpc_url
    );
    if let Some(r) = &d.relayer_id {
        env.push_str(&format!("RELAYER_ACCOUNT={r}\n"));
    }
    let network = json!({
        "name": d.network,
        "chain_id": d.chain_id,
        "rpc_url": d.rpc_url,
        "explorer_url": d.explorer_url,
        "intents_contract": d.intents_contract,
        "tokens": [
            {"id": "near", "symbol": "NEAR", "decimals": 24},
            {"id": format!("nep141:{}", d.token_contract), "symbol": "ODOL", "decimals": 6},
        ],
        "peers": d.peers,
        "relayer_url": d.relayer_url,
    });
    let mut network = network;
    // The dApp's config has no null fields: an absent relayer or explorer is left out.
    network.as_object_mut().expect("object").retain(|_, v| !v.is_null());
    let mut written = Vec::new();
    for (name, contents) in [
        ("dev-account", d.intents_contract.clone()),
        ("dev-account.env", env),
        ("network.json", serde_json::to_string_pretty(&network).expect("JSON") + "\n"),
    ] {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, contents).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// Reads `dev-account.env` from an earlier deploy, if there is one.
pub fn read_env(dir: &Path) -> Result<Option<BTreeMap<String, String>>, String> {
    let path = dir.join("dev-account.env");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path, e)),
    };
    let mut vars = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| format!("{} line {}: expected KEY=value", path.display(), n + 1))?;
        vars.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(Some(vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment {
            network: "testnet".into(),
            chain_id: "testnet".into(),
            rpc_url: "https://rpc.testnet.near.org".into(),
            explorer_url: Some("https://testnet.nearblocks.io".into()),
            dev_account: "dev-1.testnet".into(),
            intents_contract: "intents.dev-1.testnet".into(),
            token_contract: "token.dev-1.testnet".into(),
            relayer_id: None,
            relayer_url: Some("http://127.0.0.1:8080".into()),
            peers: vec!["/ip4/127.0.0.1/tcp/9001/ws".into()],
        }
    }

    #[test]
    fn writes_neardev_files_and_reads_them_back() {
        let dir = std::env::temp_dir().join(format!("outpost-deploy-test-{}", std::process::id()));
        let written = write(&dir, &deployment()).unwrap();
        assert_eq!(written, ["dev-account", "dev-account.env", "network.json"].map(|f| dir.join(f)));
        assert_eq!(std::fs::read_to_string(dir.join("dev-account")).unwrap(), "intents.dev-1.testnet");
        let env = read_env(&dir).unwrap().unwrap();
        assert_eq!(env["CONTRACT_NAME"], "intents.dev-1.testnet");
        assert_eq!(env["TOKEN_CONTRACT"], "token.dev-1.testnet");
        assert_eq!(env["DEV_ACCOUNT"], "dev-1.testnet");
        let network: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("network.json")).unwrap()).unwrap();
        assert_eq!(network["intents_contract"], "intents.dev-1.testnet");
        assert_eq!(network["tokens"][1]["id"], "nep141:token.dev-1.testnet");
        assert_eq!(network["relayer_url"], "http://127.0.0.1:8080");
        assert_eq!(network["peers"][0], "/ip4/127.0.0.1/tcp/9001/ws");
        assert_eq!(network["explorer_url"], "https://testnet.nearblocks.io");
        // Re-deploying overwrites in place; no temporary files are left.
        let mut again = deployment();
        again.relayer_url = None;
        again.explorer_url = None;
        write(&dir, &again).unwrap();
        let network: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("network.json")).unwrap()).unwrap();
        assert!(network.get("relayer_url").is_none());
        assert!(network.get("explorer_url").is_none());
        let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_dapp_reads_what_deploy_writes() {
        let dir = std::env::temp_dir().join(format!("outpost-deploy-dapp-{}", std::process::id()));
        for (name, chain_id, rpc, explorer) in [
            ("testnet", "testnet", "https://rpc.testnet.near.org", Some("https://testnet.nearblocks.io")),
            ("mainnet", "mainnet", "https://rpc.mainnet.near.org", Some("https://nearblocks.io")),
            ("sandbox", "localnet", "http://127.0.0.1:3030", None),
        ] {
            let d = Deployment {
                network: name.into(),
                chain_id: chain_id.into(),
                rpc_url: rpc.into(),
                explorer_url: explorer.map(str::to_owned),
                intents_contract: format!("intents.alice.{chain_id}"),
                ..deployment()
            };
            write(&dir, &d).unwrap();
            let text = std::fs::read_to_string(dir.join("network.json")).unwrap();
            let parsed = outpost_client_model::network::parse_networks(&text).unwrap_or_else(|e| panic!("{name}: {}\n{text}", e.0));
            assert_eq!(parsed[0].name, name);
            assert_eq!(parsed[0].rpc_url, rpc);
            assert_eq!(parsed[0].explorer_url.as_deref(), explorer);
            assert_eq!(parsed[0].tx_link("T"), explorer.map(|e| format!("{e}/txns/T")));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_file_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("outpost-deploy-env-{}", std::process::id()));
        assert_eq!(read_env(&dir).unwrap(), None);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dev-account.env"), "CONTRACT_NAME=a.testnet\nnonsense\n").unwrap();
        assert!(read_env(&dir).unwrap_err().contains("line 2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
