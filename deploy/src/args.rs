//! Command line (clap). `Cli` is what the user typed; `Cli::check` turns it into `Args` after the
//! rules clap cannot express (which flags go together), so every combination fails with a
//! sentence instead of a half-done deploy.

use clap::{Parser, ValueEnum};
use near_workspaces::AccountId;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// A local sandbox: started here (needs NEAR_SANDBOX_BIN_PATH offline), or a running one
    /// given by --rpc-url.
    Sandbox,
    /// NEAR testnet.
    Testnet,
    /// NEAR mainnet: real money, so it also needs --yes-mainnet and --account.
    Mainnet,
}

impl Network {
    pub fn name(self) -> &'static str {
        match self {
            Network::Sandbox => "sandbox",
            Network::Testnet => "testnet",
            Network::Mainnet => "mainnet",
        }
    }
}

fn repo_root() -> PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn default_credentials_dir() -> PathBuf {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".near-credentials")).unwrap_or_else(|| PathBuf::from(".near-credentials"))
}

fn http_url(url: &str) -> Result<String, String> {
    if (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len() && !url.contains(char::is_whitespace) {
        Ok(url.to_owned())
    } else {
        Err(format!("must be an http(s) URL, not `{url}`"))
    }
}

fn ws_multiaddr(peer: &str) -> Result<String, String> {
    if peer.starts_with('/') && peer.contains("/ws") {
        Ok(peer.to_owned())
    } else {
        Err(format!("must be a websocket multiaddr like /ip4/127.0.0.1/tcp/9001/ws/p2p/<id>, not `{peer}`"))
    }
}

/// Deploys Outpost's contracts (the intents ledger and the demo token) and writes neardev/ files
/// and the dApp's network config.
///
/// With --account, your own account pays and owns them: `intents.<account>` and
/// `token.<account>` are created under it, using its key from the near-cli credentials folder
/// (`<credentials-dir>/<network>/<account>.json`). Without it, testnet uses a dev account from the
/// faucet helper (reused from neardev/ on later runs), and sandbox a fresh account.
///
/// Re-runs upgrade the intents contract through its owner-only `upgrade` method: after the first
/// deploy the intents account keeps no full-access key. The demo token keeps the key it was
/// created with and is redeployed directly.
#[derive(Parser, Debug)]
#[command(name = "outpost-deploy", version)]
pub struct Cli {
    /// Where to deploy.
    #[arg(long, value_enum, default_value_t = Network::Sandbox)]
    pub network: Network,
    /// Your account: pays for and owns the contracts; its full-access key must be in the
    /// credentials folder [default: none: a faucet dev account on testnet, a new account on a
    /// sandbox started here].
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<AccountId>,
    /// The intents contract's account [default: intents.<account>]. Created when missing (it must
    /// then be a sub-account of --account).
    #[arg(long, value_name = "ACCOUNT_ID", requires = "account")]
    pub intents_account: Option<AccountId>,
    /// The demo token's account [default: token.<account>]. Created when missing (it must then be
    /// a sub-account of --account).
    #[arg(long, value_name = "ACCOUNT_ID", requires = "account")]
    pub token_account: Option<AccountId>,
    /// Key files in near-cli's layout: `<dir>/<network>/<account>.json`.
    #[arg(long, value_name = "DIR", default_value_os_t = default_credentials_dir())]
    pub credentials_dir: PathBuf,
    /// Where the neardev files go (sandbox: its `sandbox/` sub-folder).
    #[arg(long = "out", value_name = "DIR", default_value_os_t = repo_root().join("neardev"))]
    pub out_dir: PathBuf,
    /// The built contracts (scripts/build-contracts.sh).
    #[arg(long, value_name = "DIR", env = "OUTPOST_WASM_DIR", default_value_os_t = repo_root().join("target/near"))]
    pub wasm_dir: PathBuf,
    /// JSON-RPC endpoint [default: the network's public RPC]. With --network sandbox: a running
    /// sandbox to deploy to (with --account) instead of starting one.
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub rpc_url: Option<String>,
    /// Relayer HTTP endpoint to put in the dApp's network config [default: none].
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub relayer_url: Option<String>,
    /// libp2p websocket peer for the dApp's network config, repeatable [default: none].
    #[arg(long = "peer", value_name = "MULTIADDR", value_parser = ws_multiaddr)]
    pub peers: Vec<String>,
    /// Sandbox started here: keep it running until Ctrl-C [default: off: exit after deploying].
    #[arg(long)]
    pub serve: bool,
    /// Confirms that --network mainnet spends real NEAR [default: off].
    #[arg(long)]
    pub yes_mainnet: bool,
}

/// How the contracts are paid for and owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Funding {
    /// `--account`: the user's own account, key from the credentials folder.
    Own { account: AccountId, intents: AccountId, token: AccountId },
    /// No `--account`: testnet's faucet helper (or the dev account of an earlier run), or a new
    /// sandbox account.
    Dev,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub network: Network,
    pub funding: Funding,
    /// Where this network's key files are: `<credentials-dir>/<network>`.
    pub credentials_dir: PathBuf,
    pub out_dir: PathBuf,
    pub wasm_dir: PathBuf,
    pub rpc_url: Option<String>,
    pub relayer_url: Option<String>,
    pub peers: Vec<String>,
    pub serve: bool,
}

fn sub(name: &str, parent: &AccountId) -> Result<AccountId, String> {
    format!("{name}.{parent}").parse().map_err(|e| format!("`{name}.{parent}` is not a valid account id: {e}"))
}

impl Cli {
    /// The rules between flags.
    pub fn check(self) -> Result<Args, String> {
        let network = self.network;
        if self.serve && (network != Network::Sandbox || self.rpc_url.is_some()) {
            return Err("--serve only applies to a sandbox started here (--network sandbox without --rpc-url)".into());
        }
        if self.yes_mainnet && network != Network::Mainnet {
            return Err("--yes-mainnet only applies to --network mainnet".into());
        }
        if network == Network::Mainnet {
            if !self.yes_mainnet {
                return Err("--network mainnet spends real NEAR: add --yes-mainnet to confirm".into());
            }
            if self.account.is_none() {
                return Err("--network mainnet needs --account <your account> (there is no faucet on mainnet)".into());
            }
        }
        if network == Network::Sandbox && self.rpc_url.is_some() && self.account.is_none() {
            return Err("--network sandbox with --rpc-url needs --account (an account on that sandbox with its key)".into());
        }
        if network == Network::Sandbox && self.rpc_url.is_none() && self.account.is_some() {
            return Err("--account on sandbox needs --rpc-url of a running sandbox (a sandbox started here has only its root account)".into());
        }
        let funding = match self.account {
            None => Funding::Dev,
            Some(account) => {
                let intents = match self.intents_account {
                    Some(a) => a,
                    None => sub("intents", &account)?,
                };
                let token = match self.token_account {
                    Some(a) => a,
                    None => sub("token", &account)?,
                };
                // Deploying onto the owner would delete the owner's own full-access key.
                for (flag, id) in [("--intents-account", &intents), ("--token-account", &token)] {
                    if *id == account {
                        return Err(format!("{flag} must differ from --account ({account} owns the contracts and keeps its key)"));
                    }
                }
                if intents == token {
                    return Err(format!("--intents-account and --token-account are both {intents}: they need one account each"));
                }
                Funding::Own { account, intents, token }
            }
        };
        Ok(Args {
            network,
            funding,
            credentials_dir: self.credentials_dir.join(network.name()),
            out_dir: self.out_dir,
            wasm_dir: self.wasm_dir,
            rpc_url: self.rpc_url,
            relayer_url: self.relayer_url,
            peers: self.peers,
            serve: self.serve,
        })
    }
}

/// Parses the command line (without the program name). `Err` carries clap's own error for bad
/// syntax and `--help`/`--version`, or our sentence for a bad combination.
pub fn parse<I, T>(args: I) -> Result<Args, ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(std::iter::once(std::ffi::OsString::from("outpost-deploy")).chain(args.into_iter().map(Into::into)))
        .map_err(ParseError::Clap)?;
    cli.check().map_err(ParseError::Rule)
}

#[derive(Debug)]
pub enum ParseError {
    Clap(clap::Error),
    Rule(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().copied()).map_err(|e| match e {
            ParseError::Clap(e) => e.to_string(),
            ParseError::Rule(s) => s,
        })
    }

    fn id(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    #[test]
    fn defaults() {
        let a = p(&[]).unwrap();
        assert_eq!(a.network, Network::Sandbox);
        assert_eq!(a.funding, Funding::Dev);
        assert!(a.out_dir.ends_with("neardev"));
        assert!(a.credentials_dir.ends_with(".near-credentials/sandbox"), "{:?}", a.credentials_dir);
        assert!(!a.serve);
        assert_eq!(a.rpc_url, None);
    }

    #[test]
    fn own_account_names_both_contracts() {
        let a = p(&["--network", "testnet", "--account", "alice.testnet", "--credentials-dir", "/tmp/creds"]).unwrap();
        assert_eq!(a.funding, Funding::Own { account: id("alice.testnet"), intents: id("intents.alice.testnet"), token: id("token.alice.testnet") });
        assert_eq!(a.credentials_dir, PathBuf::from("/tmp/creds/testnet"));
        let a = p(&["--network", "testnet", "--account", "alice.testnet", "--intents-account", "ledger.alice.testnet", "--token-account", "odol.testnet"]).unwrap();
        assert_eq!(a.funding, Funding::Own { account: id("alice.testnet"), intents: id("ledger.alice.testnet"), token: id("odol.testnet") });
    }

    #[test]
    fn mainnet_needs_confirmation_and_an_account() {
        assert!(p(&["--network", "mainnet", "--account", "alice.near"]).unwrap_err().contains("add --yes-mainnet"));
        assert!(p(&["--network", "mainnet", "--yes-mainnet"]).unwrap_err().contains("needs --account"));
        let a = p(&["--network", "mainnet", "--yes-mainnet", "--account", "alice.near"]).unwrap();
        assert_eq!(a.network, Network::Mainnet);
        assert!(a.credentials_dir.ends_with("mainnet"));
        assert!(p(&["--network", "testnet", "--yes-mainnet"]).unwrap_err().contains("--yes-mainnet only applies"));
    }

    #[test]
    fn flags_and_values() {
        let a = p(&["--network", "testnet", "--out", "/tmp/x", "--relayer-url", "http://127.0.0.1:8080", "--peer", "/ip4/127.0.0.1/tcp/9001/ws", "--peer", "/ip4/127.0.0.1/tcp/9002/ws", "--rpc-url", "https://rpc.testnet.fastnear.com"]).unwrap();
        assert_eq!(a.network, Network::Testnet);
        assert_eq!(a.out_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.relayer_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(a.rpc_url.as_deref(), Some("https://rpc.testnet.fastnear.com"));
        assert_eq!(a.peers.len(), 2);
        let a = p(&["--network", "sandbox", "--rpc-url", "http://127.0.0.1:3030", "--account", "test.near"]).unwrap();
        assert!(matches!(a.funding, Funding::Own { .. }));
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (args, want) in [
            (&["--network", "devnet"][..], "invalid value 'devnet' for '--network <NETWORK>'"),
            (&["--network"][..], "a value is required for '--network <NETWORK>'"),
            (&["--frobnicate"][..], "unexpected argument '--frobnicate'"),
            (&["--relayer-url", "ftp://x"][..], "must be an http(s) URL"),
            (&["--rpc-url", "localhost:3030"][..], "must be an http(s) URL"),
            (&["--peer", "127.0.0.1:9000"][..], "must be a websocket multiaddr"),
            (&["--account", "Not An Account"][..], "invalid value 'Not An Account' for '--account <ACCOUNT_ID>'"),
            (&["--network", "testnet", "--intents-account", "x.testnet"][..], "--account <ACCOUNT_ID>"),
            (&["--network", "testnet", "--serve"][..], "--serve only applies"),
            (&["--network", "testnet", "--account", "a.testnet", "--intents-account", "a.testnet"][..], "--intents-account must differ from --account"),
            (&["--network", "testnet", "--account", "a.testnet", "--intents-account", "x.a.testnet", "--token-account", "x.a.testnet"][..], "one account each"),
            (&["--network", "sandbox", "--account", "a.test.near"][..], "needs --rpc-url"),
            (&["--network", "sandbox", "--rpc-url", "http://127.0.0.1:3030"][..], "needs --account"),
        ] {
            let err = p(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_lists_every_option_with_its_default() {
        let help = Cli::command().render_long_help().to_string();
        for flag in Cli::command().get_arguments().filter_map(|a| a.get_long()) {
            assert!(help.contains(&format!("--{flag}")), "--{flag} missing from --help:\n{help}");
        }
        for default in ["[default: sandbox]", "- mainnet: NEAR mainnet", "[default: intents.<account>]", "[default: token.<account>]", "[default: the network's public RPC]", "[env: OUTPOST_WASM_DIR="] {
            assert!(help.contains(default), "`{default}` missing from --help:\n{help}");
        }
        // Every option states its default: clap's own, or ours in words.
        for arg in Cli::command().get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            let text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(!arg.get_default_values().is_empty() || text.contains("[default: "), "--{} states no default", arg.get_id());
        }
        // Path defaults are shown resolved.
        assert!(help.contains(".near-credentials]"), "{help}");
        assert!(help.contains("neardev]"), "{help}");
        assert!(help.contains("target/near]"), "{help}");
        assert!(matches!(parse(["--help"]), Err(ParseError::Clap(e)) if e.kind() == clap::error::ErrorKind::DisplayHelp));
    }
}
