//! The summary a deploy prints: accounts, code hashes, transactions with explorer links, and the
//! files written. Plain text, one fact per line, so scripts (and the tier-2 test) can grep it.

use crate::network::NetInfo;
use std::fmt::Write as _;
use std::path::PathBuf;

pub struct ContractLine {
    /// "intents" or "token".
    pub role: &'static str,
    pub account: String,
    /// Code hash on chain after the run (base58 sha256).
    pub code_hash: String,
    /// What this run did: "created", "installed", "upgraded", "up to date".
    pub action: &'static str,
    pub build: String,
    /// Full-access keys left on the account.
    pub full_access_keys: Vec<String>,
}

pub struct Tx {
    pub what: String,
    pub hash: String,
}

pub struct Report {
    pub net: NetInfo,
    pub rpc_url: String,
    pub owner: String,
    pub contracts: Vec<ContractLine>,
    pub relayer: Option<String>,
    pub txs: Vec<Tx>,
    pub files: Vec<PathBuf>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let link = |s: Option<String>| s.map(|l| format!("  {l}")).unwrap_or_default();
        let _ = writeln!(out, "network           {} ({})", self.net.network.name(), self.rpc_url);
        let _ = writeln!(out, "owner account     {}{}", self.owner, link(self.net.account_link(&self.owner)));
        for c in &self.contracts {
            let _ = writeln!(out, "{:<17} {}{}", format!("{} contract", c.role), c.account, link(self.net.account_link(&c.account)));
            let _ = writeln!(out, "  code hash       {} ({})", c.code_hash, c.action);
            let _ = writeln!(out, "  build           {}", c.build);
            let keys = if c.full_access_keys.is_empty() {
                "none (upgrades go through the owner's `upgrade` call)".to_owned()
            } else if c.role == "token" {
                format!("{} (the demo token keeps its key and is redeployed directly)", c.full_access_keys.join(", "))
            } else {
                c.full_access_keys.join(", ")
            };
            let _ = writeln!(out, "  full-access keys {keys}");
        }
        if let Some(r) = &self.relayer {
            let _ = writeln!(out, "relayer account   {r}");
        }
        let _ = writeln!(out, "transactions");
        if self.txs.is_empty() {
            let _ = writeln!(out, "  none (everything was up to date)");
        }
        for t in &self.txs {
            let _ = writeln!(out, "  {:<44} {}{}", t.what, t.hash, link(self.net.tx_link(&t.hash)));
        }
        let _ = writeln!(out, "files");
        for f in &self.files {
            let _ = writeln!(out, "  {}", f.display());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Network;
    use crate::network::info;

    #[test]
    fn lists_accounts_hashes_links_and_files() {
        let r = Report {
            net: info(Network::Testnet),
            rpc_url: "https://rpc.testnet.near.org".into(),
            owner: "alice.testnet".into(),
            contracts: vec![
                ContractLine { role: "intents", account: "intents.alice.testnet".into(), code_hash: "HASH1".into(), action: "upgraded", build: "plain build of abc (not reproducible)".into(), full_access_keys: vec![] },
                ContractLine { role: "token", account: "token.alice.testnet".into(), code_hash: "HASH2".into(), action: "up to date", build: "b".into(), full_access_keys: vec!["ed25519:K".into()] },
            ],
            relayer: None,
            txs: vec![Tx { what: "upgrade intents.alice.testnet".into(), hash: "TX1".into() }],
            files: vec![PathBuf::from("neardev/network.json")],
        };
        let text = r.render();
        for want in [
            "network           testnet (https://rpc.testnet.near.org)\n",
            "owner account     alice.testnet  https://testnet.nearblocks.io/address/alice.testnet\n",
            "intents contract  intents.alice.testnet  https://testnet.nearblocks.io/address/intents.alice.testnet\n",
            "  code hash       HASH1 (upgraded)\n",
            "  full-access keys none (upgrades go through the owner's `upgrade` call)\n",
            "  full-access keys ed25519:K (the demo token keeps its key and is redeployed directly)\n",
            "TX1  https://testnet.nearblocks.io/txns/TX1\n",
            "files\n  neardev/network.json\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
