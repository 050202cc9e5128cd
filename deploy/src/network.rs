//! Per-network facts the output and the dApp's config need: chain id, public RPC, explorer.

use crate::args::Network;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInfo {
    pub network: Network,
    pub chain_id: &'static str,
    /// The public RPC near-workspaces uses when --rpc-url is not given.
    pub default_rpc: Option<&'static str>,
    /// Block explorer (nearblocks, as NEAR's docs link); none for a sandbox.
    pub explorer: Option<&'static str>,
}

pub fn info(network: Network) -> NetInfo {
    match network {
        Network::Sandbox => NetInfo { network, chain_id: "localnet", default_rpc: None, explorer: None },
        Network::Testnet => NetInfo {
            network,
            chain_id: "testnet",
            default_rpc: Some(near_workspaces::network::testnet::RPC_URL),
            explorer: Some("https://testnet.nearblocks.io"),
        },
        Network::Mainnet => NetInfo {
            network,
            chain_id: "mainnet",
            default_rpc: Some(near_workspaces::network::mainnet::RPC_URL),
            explorer: Some("https://nearblocks.io"),
        },
    }
}

impl NetInfo {
    pub fn tx_link(&self, hash: &str) -> Option<String> {
        self.explorer.map(|e| format!("{e}/txns/{hash}"))
    }
    pub fn account_link(&self, account: &str) -> Option<String> {
        self.explorer.map(|e| format!("{e}/address/{account}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorers_and_rpcs() {
        let main = info(Network::Mainnet);
        assert_eq!(main.chain_id, "mainnet");
        assert_eq!(main.default_rpc, Some("https://rpc.mainnet.near.org"));
        assert_eq!(main.tx_link("H").as_deref(), Some("https://nearblocks.io/txns/H"));
        assert_eq!(info(Network::Testnet).account_link("a.testnet").as_deref(), Some("https://testnet.nearblocks.io/address/a.testnet"));
        assert_eq!(info(Network::Sandbox).tx_link("H"), None);
    }
}
