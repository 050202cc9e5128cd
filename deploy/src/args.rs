//! Command line, parsed by hand (five flags do not need a parser crate in the build).

use std::path::PathBuf;

pub const USAGE: &str = "\
outpost-deploy: deploy Outpost's contracts and write neardev/ files

USAGE: outpost-deploy [--network sandbox|testnet] [options]

  --network NAME         sandbox (default: starts a local sandbox; needs NEAR_SANDBOX_BIN_PATH
                         here) or testnet (creates or reuses a faucet-funded dev account)
  --out DIR              where neardev files go (default: neardev/ of this repo)
  --wasm-dir DIR         built contracts (default: $OUTPOST_WASM_DIR or target/near)
  --credentials-dir DIR  key files, near-cli layout (default: ~/.near-credentials)
  --relayer-url URL      relayer HTTP endpoint to put in the dApp's network config
  --peer MULTIADDR       libp2p websocket peer for the dApp (repeatable)
  --serve                sandbox only: keep the sandbox running until Ctrl-C
  -h, --help             this text";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Sandbox,
    Testnet,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub network: Network,
    pub out_dir: PathBuf,
    pub wasm_dir: PathBuf,
    pub credentials_dir: PathBuf,
    pub relayer_url: Option<String>,
    pub peers: Vec<String>,
    pub serve: bool,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Parses the arguments; `Ok(None)` means help was asked for.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        network: Network::Sandbox,
        out_dir: repo_root().join("neardev"),
        wasm_dir: std::env::var_os("OUTPOST_WASM_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/near")),
        credentials_dir: std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".near-credentials")).unwrap_or_else(|| PathBuf::from(".near-credentials")),
        relayer_url: None,
        peers: vec![],
        serve: false,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().filter(|v| !v.starts_with("--")).ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--network" => {
                parsed.network = match value("--network")?.as_str() {
                    "sandbox" => Network::Sandbox,
                    "testnet" => Network::Testnet,
                    other => return Err(format!("unknown network `{other}`: use sandbox or testnet")),
                }
            }
            "--out" => parsed.out_dir = value("--out")?.into(),
            "--wasm-dir" => parsed.wasm_dir = value("--wasm-dir")?.into(),
            "--credentials-dir" => parsed.credentials_dir = value("--credentials-dir")?.into(),
            "--relayer-url" => {
                let url = value("--relayer-url")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("--relayer-url must be an http(s) URL, not `{url}`"));
                }
                parsed.relayer_url = Some(url);
            }
            "--peer" => {
                let peer = value("--peer")?;
                if !peer.starts_with('/') || !peer.contains("/ws") {
                    return Err(format!("--peer must be a websocket multiaddr like /ip4/127.0.0.1/tcp/9001/ws/p2p/<id>, not `{peer}`"));
                }
                parsed.peers.push(peer);
            }
            "--serve" => parsed.serve = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if parsed.serve && parsed.network != Network::Sandbox {
        return Err("--serve only applies to --network sandbox".into());
    }
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<Args>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let a = p(&[]).unwrap().unwrap();
        assert_eq!(a.network, Network::Sandbox);
        assert!(a.out_dir.ends_with("neardev"));
        let a = p(&["--network", "testnet", "--out", "/tmp/x", "--relayer-url", "http://127.0.0.1:8080", "--peer", "/ip4/127.0.0.1/tcp/9001/ws", "--peer", "/ip4/127.0.0.1/tcp/9002/ws"]).unwrap().unwrap();
        assert_eq!(a.network, Network::Testnet);
        assert_eq!(a.out_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.relayer_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(a.peers.len(), 2);
        assert_eq!(p(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (args, want) in [
            (&["--network", "mainnet"][..], "unknown network `mainnet`"),
            (&["--network"][..], "--network needs a value"),
            (&["--out", "--serve"][..], "--out needs a value"),
            (&["--frobnicate"][..], "unknown argument `--frobnicate`"),
            (&["--relayer-url", "ftp://x"][..], "--relayer-url must be an http(s) URL"),
            (&["--peer", "127.0.0.1:9000"][..], "--peer must be a websocket multiaddr"),
            (&["--network", "testnet", "--serve"][..], "--serve only applies to --network sandbox"),
        ] {
            let err = p(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}
