//! Network configuration, as the deploy scripts write it (`network.json` next to the dApp, copied
//! from `neardev/`): RPC URL, contract ids, peers and relayer URL, for sandbox, testnet or a custom
//! network the user types in.

use crate::words::Problem;
use outpost_protocol::text::parse_account_id;
use outpost_protocol::TokenId;
use serde::{Deserialize, Serialize};

/// A token the dApp knows how to display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub symbol: String,
    pub decimals: u8,
}

/// One network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// `sandbox`, `testnet`, `mainnet` or `custom`.
    pub name: String,
    pub chain_id: String,
    pub rpc_url: String,
    /// Block explorer base URL (`https://nearblocks.io`); transactions link to `<it>/txns/<hash>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_url: Option<String>,
    /// The intents contract: the NEP-413 recipient of every intent.
    pub intents_contract: String,
    #[serde(default)]
    pub tokens: Vec<TokenInfo>,
    /// libp2p multiaddrs of peers reachable over websocket: `/ip4/../tcp/../ws/p2p/..`, or secure
    /// WebSocket `/dns4/<name>/tcp/443/tls/ws/p2p/..` (what a page served over https can dial).
    #[serde(default)]
    pub peers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayer_url: Option<String>,
    /// near-connect's wallet manifest (an http(s) URL or a path on this site); without it,
    /// near-connect's public manifest (HOT, Meteor, MyNearWallet, Intear, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_manifest: Option<String>,
}

/// The file with several networks under `networks` (or else one network object). Not a serde
/// `untagged` enum: that buffers the input through serde's `Content`, several KB of the page.
#[derive(Deserialize)]
struct Many {
    networks: Vec<NetworkConfig>,
}

fn check_url(what: &str, url: &str) -> Result<(), Problem> {
    let ok = (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "http://".len() && !url.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!("{what} must be an http:// or https:// address, not `{url}`")))
    }
}

impl NetworkConfig {
    /// Checks every field, naming the first bad one in words.
    pub fn validate(&self) -> Result<(), Problem> {
        if !matches!(self.name.as_str(), "sandbox" | "testnet" | "mainnet" | "custom") {
            return Err(Problem::new(format!("network `{}`: the choices are sandbox, testnet, mainnet and custom", self.name)));
        }
        if self.chain_id.trim().is_empty() {
            return Err(Problem::new("the chain id is empty (e.g. `testnet` or `localnet`)"));
        }
        check_url("the RPC URL", &self.rpc_url)?;
        if let Some(url) = &self.explorer_url {
            check_url("the explorer URL", url)?;
        }
        parse_account_id(&self.intents_contract)
            .map_err(|e| Problem::new(format!("the intents contract id is not valid: {}", e.detail)))?;
        if let Some(url) = &self.relayer_url {
            check_url("the relayer URL", url)?;
        }
        if let Some(m) = &self.wallet_manifest {
            if !m.starts_with('/') {
                check_url("the wallet manifest", m)?;
            }
        }
        if let Some(p) = self.peers.iter().find(|p| !p.starts_with('/') || !p.contains("/ws")) {
            return Err(Problem::new(format!("peer `{p}` is not a websocket multiaddr like /ip4/1.2.3.4/tcp/9000/ws/p2p/<id>")));
        }
        Ok(())
    }

    /// The peers a page can dial: all of them on an http page; on an https page only the secure
    /// WebSocket ones (`/tls/ws`, `/wss`), since browsers refuse plain `ws://` from https (mixed
    /// content). An https page with only plain peers gets an error saying what to configure.
    pub fn dialable_peers(&self, https_page: bool) -> Result<Vec<String>, Problem> {
        if !https_page {
            return Ok(self.peers.clone());
        }
        let secure: Vec<String> = self.peers.iter().filter(|p| is_secure_websocket(p)).cloned().collect();
        if secure.is_empty() && !self.peers.is_empty() {
            return Err(Problem::new(
                "this page is served over https, so its browser node can only dial secure WebSocket peers \
                 (/dns4/<name>/tcp/443/tls/ws/p2p/<id>); the network config names only plain /ws ones",
            ));
        }
        Ok(secure)
    }

    /// Decimals for display and input (unknown tokens: smallest units).
    pub fn decimals(&self, token: &TokenId) -> u8 {
        if *token == TokenId::Near {
            return 24;
        }
        self.tokens.iter().find(|t| &t.id == token).map_or(0, |t| t.decimals)
    }

    /// NEAR, then the configured (and learned) tokens: what balance lists and token pickers show.
    pub fn token_ids(&self) -> Vec<TokenId> {
        std::iter::once(TokenId::Near).chain(self.tokens.iter().map(|t| t.id.clone())).collect()
    }

    /// What a token is called on screen: NEAR, the configured symbol, or its contract id.
    pub fn symbol(&self, token: &TokenId) -> String {
        match token {
            TokenId::Near => "NEAR".into(),
            TokenId::Nep141(id) => self.tokens.iter().find(|t| &t.id == token).map_or_else(|| id.to_string(), |t| t.symbol.clone()),
        }
    }

    /// A transaction's page on the network's explorer, when it has one.
    pub fn tx_link(&self, tx_hash: &str) -> Option<String> {
        self.explorer_link("txns", tx_hash)
    }

    /// An account's page on the network's explorer (a payer's, in the history).
    pub fn account_link(&self, account: &str) -> Option<String> {
        self.explorer_link("address", account)
    }

    fn explorer_link(&self, kind: &str, id: &str) -> Option<String> {
        self.explorer_url.as_ref().map(|e| format!("{}/{kind}/{id}", e.trim_end_matches('/')))
    }

    /// The network near-connect and wallets know: `mainnet`, or `testnet` for every other chain
    /// (a sandbox's wallet is a test wallet that declares testnet support).
    pub fn wallet_network(&self) -> &'static str {
        if self.chain_id == "mainnet" {
            "mainnet"
        } else {
            "testnet"
        }
    }

    /// The public testnet with the given intents contract.
    pub fn testnet(intents_contract: &str) -> NetworkConfig {
        NetworkConfig {
            name: "testnet".into(),
            chain_id: "testnet".into(),
            rpc_url: "https://rpc.testnet.near.org".into(),
            explorer_url: Some("https://testnet.nearblocks.io".into()),
            intents_contract: intents_contract.into(),
            tokens: vec![],
            peers: vec![],
            relayer_url: None,
            wallet_manifest: None,
        }
    }
}

/// `/tls/ws` or `/wss` in a multiaddr.
pub fn is_secure_websocket(multiaddr: &str) -> bool {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    parts.windows(2).any(|w| w == ["tls", "ws"]) || parts.contains(&"wss")
}

/// Adds tokens learned from `ft_metadata` (cached for offline use) to a network's list; tokens
/// the network file configures keep its values.
pub fn merge_learned(tokens: &mut Vec<TokenInfo>, learned: &[TokenInfo]) {
    for t in learned {
        if !tokens.iter().any(|x| x.id == t.id) {
            tokens.push(t.clone());
        }
    }
}

/// Parses the deploy scripts' `network.json`.
pub fn parse_networks(json: &str) -> Result<Vec<NetworkConfig>, Problem> {
    let invalid = |e: serde_json::Error| Problem::new(format!("the network file is not valid: {e}"));
    let bytes = json.as_bytes();
    let list = match serde_json::from_slice::<serde_json::Value>(bytes).map_err(invalid)?.get("networks") {
        Some(_) => serde_json::from_slice::<Many>(bytes).map_err(invalid)?.networks,
        None => vec![serde_json::from_slice::<NetworkConfig>(bytes).map_err(invalid)?],
    };
    if list.is_empty() {
        return Err(Problem::new("the network file lists no network"));
    }
    for n in &list {
        n.validate()?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{"networks":[
      {"name":"sandbox","chain_id":"localnet","rpc_url":"http://127.0.0.1:3030","intents_contract":"intents.test.near",
       "tokens":[{"id":"nep141:token.test.near","symbol":"OUT","decimals":6}],
       "peers":["/ip4/127.0.0.1/tcp/9100/ws"],"relayer_url":"http://127.0.0.1:8088"},
      {"name":"testnet","chain_id":"testnet","rpc_url":"https://rpc.testnet.near.org","intents_contract":"intents.outpost.testnet"}]}"#;

    #[test]
    fn parses_deploy_file() {
        let n = parse_networks(FILE).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].decimals(&"nep141:token.test.near".parse().unwrap()), 6);
        assert_eq!(n[0].decimals(&TokenId::Near), 24);
        assert_eq!(n[0].decimals(&"nep141:other.near".parse().unwrap()), 0);
        assert_eq!(n[1].relayer_url, None);
        let one = serde_json::to_string(&n[1]).unwrap();
        assert_eq!(parse_networks(&one).unwrap(), vec![n[1].clone()]);
        assert_eq!(n[0].tx_link("H"), None);
        assert_eq!((n[0].symbol(&TokenId::Near), n[0].symbol(&"nep141:token.test.near".parse().unwrap())), ("NEAR".into(), "OUT".into()));
        assert_eq!(n[0].symbol(&"nep141:other.near".parse().unwrap()), "other.near");
        assert_eq!(n[0].token_ids(), vec![TokenId::Near, "nep141:token.test.near".parse().unwrap()]);
    }

    #[test]
    fn learned_tokens_fill_gaps_only() {
        let mut n = parse_networks(FILE).unwrap().remove(0);
        let learned = vec![
            TokenInfo { id: "nep141:token.test.near".parse().unwrap(), symbol: "FAKE".into(), decimals: 18 },
            TokenInfo { id: "nep141:usdc.test.near".parse().unwrap(), symbol: "USDC".into(), decimals: 6 },
        ];
        merge_learned(&mut n.tokens, &learned);
        merge_learned(&mut n.tokens, &learned);
        assert_eq!(n.tokens.len(), 2, "added once");
        assert_eq!(n.decimals(&"nep141:token.test.near".parse().unwrap()), 6, "the network file wins");
        assert_eq!(n.decimals(&"nep141:usdc.test.near".parse().unwrap()), 6);
    }

    #[test]
    fn mainnet_with_its_explorer() {
        let file = r#"{"name":"mainnet","chain_id":"mainnet","rpc_url":"https://rpc.mainnet.near.org","explorer_url":"https://nearblocks.io","intents_contract":"intents.alice.near"}"#;
        let n = parse_networks(file).unwrap();
        assert_eq!(n[0].name, "mainnet");
        assert_eq!(n[0].tx_link("8sd3").as_deref(), Some("https://nearblocks.io/txns/8sd3"));
        assert_eq!(NetworkConfig::testnet("a.testnet").tx_link("X").as_deref(), Some("https://testnet.nearblocks.io/txns/X"));
    }

    #[test]
    fn https_pages_dial_only_secure_websocket_peers() {
        let mut n = NetworkConfig::testnet("intents.outpost.testnet");
        let plain = "/ip4/127.0.0.1/tcp/9100/ws/p2p/12D3KooWPlain".to_owned();
        let tls = "/dns4/node.example/tcp/443/tls/ws/p2p/12D3KooWTls".to_owned();
        let wss = "/dns4/other.example/tcp/443/wss/p2p/12D3KooWWss".to_owned();
        n.peers = vec![plain.clone(), tls.clone(), wss.clone()];
        assert!(n.validate().is_ok());
        assert_eq!(n.dialable_peers(false).unwrap(), n.peers);
        assert_eq!(n.dialable_peers(true).unwrap(), vec![tls, wss]);
        n.peers = vec![plain];
        assert!(n.dialable_peers(true).unwrap_err().0.contains("/tls/ws"));
        n.peers.clear();
        assert_eq!(n.dialable_peers(true).unwrap(), Vec::<String>::new());
        assert!(!is_secure_websocket("/ip4/1.2.3.4/tcp/443/ws/p2p/x"), "a port number is not a protocol");
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let mut n = NetworkConfig::testnet("intents.outpost.testnet");
        assert!(n.validate().is_ok());
        n.rpc_url = "rpc.testnet.near.org".into();
        assert!(n.validate().unwrap_err().0.contains("the RPC URL must be an http://"));
        let mut n = NetworkConfig::testnet("Bad Contract");
        assert!(n.validate().unwrap_err().0.contains("intents contract id is not valid"));
        n = NetworkConfig::testnet("a.testnet");
        n.peers = vec!["127.0.0.1:9000".into()];
        assert!(n.validate().unwrap_err().0.contains("websocket multiaddr"));
        n.peers.clear();
        n.name = "devnet".into();
        assert!(n.validate().unwrap_err().0.contains("choices are"));
        n.name = "testnet".into();
        n.explorer_url = Some("nearblocks.io".into());
        assert!(n.validate().unwrap_err().0.contains("the explorer URL must be"));
        n.explorer_url = None;
        n.wallet_manifest = Some("/test-wallet/manifest.json".into());
        assert!(n.validate().is_ok());
        n.wallet_manifest = Some("manifest.json".into());
        assert!(n.validate().unwrap_err().0.contains("the wallet manifest must be"));
        assert_eq!((n.wallet_network(), parse_networks(r#"{"name":"mainnet","chain_id":"mainnet","rpc_url":"https://rpc.mainnet.near.org","intents_contract":"intents.near"}"#).unwrap()[0].wallet_network()), ("testnet", "mainnet"));
        assert!(parse_networks("{").unwrap_err().0.starts_with("the network file is not valid"));
        assert!(parse_networks(r#"{"networks":[]}"#).unwrap_err().0.contains("no network"));
    }
}
