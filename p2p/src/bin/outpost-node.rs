//! `outpost-node`: an Outpost gossip node, optionally a relayer. See `--help`.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    native::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use clap::Parser;
    use libp2p::identity::Keypair;
    use libp2p::Multiaddr;
    use outpost_p2p::http::{self, ApiOptions, ApiState, HttpRateLimit};
    use outpost_p2p::metrics::RelayerMetrics;
    use outpost_p2p::node::{self, Admission, NodeConfig, RateLimit, WsTls};
    use outpost_p2p::relayer::chain::RpcChainClient;
    use outpost_p2p::relayer::store::{HoldPolicy, Store};
    use outpost_p2p::relayer::{GasConfig, Health, Relayer, RelayerConfig, TGAS};
    use prometheus_client::registry::Registry;
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::sync::Arc;

    /// An Outpost node: validates signed intents and gossips them (libp2p gossipsub over TCP and
    /// WebSocket); with --relayer it also settles them on NEAR with `execute_intents`.
    #[derive(Parser, Debug)]
    #[command(name = "outpost-node", version)]
    struct Args {
        /// NEAR network id; names the gossip topics (`outpost/<chain-id>/<contract>/...`).
        #[arg(long, env = "OUTPOST_CHAIN_ID", default_value = "testnet")]
        chain_id: String,
        /// The intents contract account; intents must be signed for it.
        #[arg(long, env = "OUTPOST_CONTRACT")]
        contract: String,
        /// Addresses to listen on (repeatable), e.g. /ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/tcp/4002/ws;
        /// /ip4/0.0.0.0/tcp/443/tls/ws (secure WebSocket, for dApps served over https) needs
        /// --tls-cert and --tls-key.
        #[arg(long = "listen", default_values_t = vec!["/ip4/0.0.0.0/tcp/4001".parse::<Multiaddr>().unwrap(), "/ip4/0.0.0.0/tcp/4002/ws".parse::<Multiaddr>().unwrap()])]
        listen: Vec<Multiaddr>,
        /// Peers to connect to at start (repeatable), e.g. /ip4/1.2.3.4/tcp/4001/p2p/12D3Koo...
        #[arg(long = "bootstrap")]
        bootstrap: Vec<Multiaddr>,
        /// The node's libp2p identity (created with mode 0600 when missing).
        #[arg(long, default_value = "outpost-node.key")]
        identity_file: PathBuf,
        /// The certificate chain (PEM, leaf first; certbot's fullchain.pem) for /tls/ws. It must
        /// name the host browsers dial: /dns4/<that name>/tcp/<port>/tls/ws/p2p/<peer id>.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM; certbot's privkey.pem).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Inbound connections allowed per remote IP (0: no cap).
        #[arg(long, default_value_t = 8)]
        max_connections_per_ip: u32,
        /// Established connections in total (0: no cap).
        #[arg(long, default_value_t = 512)]
        max_connections: u32,
        /// Exempt these IPs from the per-IP connection cap and message rate (repeatable): your
        /// own nodes behind one NAT, your TLS proxy. Nothing is exempt by default, not even
        /// loopback.
        #[arg(long = "trusted-ip", alias = "score-ip-whitelist")]
        trusted_ips: Vec<std::net::IpAddr>,
        /// Messages per second accepted from one peer, and from all peers of one IP together
        /// (twice this), before any validation work.
        #[arg(long, default_value_t = 2000)]
        peer_msgs_per_second: u32,
        /// HTTP API (and /metrics unless --metrics-listen is given).
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Serve GET /metrics here only (e.g. 127.0.0.1:9090), not on the public API.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        /// HTTP requests per second per client address (IPv4 address or IPv6 /64); 0: no limit.
        #[arg(long, default_value_t = 10)]
        http_rate: u32,
        /// Requests a client may make at once before --http-rate applies.
        #[arg(long, default_value_t = 60)]
        http_burst: u32,
        /// Settle intents on NEAR (needs --rpc-url and --relayer-key-file).
        #[arg(long)]
        relayer: bool,
        /// NEAR JSON-RPC endpoint.
        #[arg(long, env = "OUTPOST_RPC_URL")]
        rpc_url: Option<String>,
        /// The relayer's key, in near-cli's credentials format ({account_id, public_key,
        /// private_key}); a function-call access key for the intents contract is enough.
        #[arg(long, env = "OUTPOST_RELAYER_KEY_FILE")]
        relayer_key_file: Option<PathBuf>,
        /// Where the relayer keeps its pending intents (redb).
        #[arg(long, default_value = "outpost-relayer.redb")]
        store: PathBuf,
        /// Gas reserved per intent before simulation, in TGas.
        #[arg(long, default_value_t = 2)]
        gas_per_intent_tgas: u64,
        /// Extra gas per intent that withdraws, in TGas.
        #[arg(long, default_value_t = 25)]
        gas_per_withdraw_tgas: u64,
        /// Access keys the relayer sends on, each with its own nonce: up to this many
        /// execute_intents transactions in flight at once. The first is the key file's; keys
        /// 2..N are derived from it and must be on the relayer account first (as function-call
        /// keys for the contract's execute_intents): see --print-relayer-keys. Keys the account
        /// lacks are left out with a warning.
        #[arg(long, default_value_t = 1)]
        relayer_keys: usize,
        /// Print the public keys --relayer-keys derives from --relayer-key-file, with the
        /// near-cli command that adds each one, and exit.
        #[arg(long)]
        print_relayer_keys: bool,
        /// Prepaid gas cap of one execute_intents transaction, in TGas. Lowered at start to what
        /// the chain allows per call (`EXPERIMENTAL_protocol_config`: 1000 since protocol 83).
        #[arg(long, default_value_t = 1000)]
        max_batch_tgas: u64,
        /// The fee (yoctoNEAR, token `near`) an intent must offer to join the relayer's main
        /// pool; intents offering less wait in a small low-priority pool. 0: every intent is in
        /// the main pool.
        #[arg(long, default_value_t = 1)]
        min_fee_yocto: u128,
        /// Intents offering less than --min-fee-yocto held at once, at most (more are not kept).
        #[arg(long, default_value_t = 1_000)]
        free_pool: usize,
        /// Pending intents of one signer the relayer holds, at most.
        #[arg(long, default_value_t = 16)]
        per_signer: usize,
        /// Pending intents the relayer holds in all, at most.
        #[arg(long, default_value_t = 100_000)]
        max_pending: usize,
    }

    /// Reads the identity, or creates one. The file holds libp2p's protobuf encoding.
    fn load_identity(path: &Path) -> Result<Keypair, String> {
        match std::fs::read(path) {
            Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|e| format!("{}: not a libp2p key: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Keypair::generate_ed25519();
                let bytes = key.to_protobuf_encoding().map_err(|e| e.to_string())?;
                write_private(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new node identity");
                Ok(key)
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)?.write_all(bytes)
    }

    pub fn main() -> ExitCode {
        let args = Args::parse();
        tracing_subscriber::fmt()
            // Plain text when piped (scripts parse the "node started peer_id=..." line).
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,libp2p_gossipsub=warn".into()),
            )
            .init();
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// `--print-relayer-keys`: what to add to the relayer account for `--relayer-keys N`.
    fn print_relayer_keys(args: &Args) -> Result<(), String> {
        let key_path = args.relayer_key_file.clone().ok_or("--print-relayer-keys needs --relayer-key-file")?;
        let key = near_crypto::KeyFile::from_file(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
        let extra = outpost_p2p::relayer::derived_keys(&key.secret_key, args.relayer_keys.max(1));
        println!("# {} keys for {}: the key file's ({}) and {} derived from it.", extra.len() + 1, key.account_id, key.public_key, extra.len());
        println!("# Add each as a function-call key that may only call execute_intents (no allowance needed:");
        println!("# execute_intents takes no deposit), then run outpost-node --relayer --relayer-keys {}.", extra.len() + 1);
        for k in &extra {
            println!(
                "near account add-key {} grant-function-call-access --allowance unlimited --contract-account-id {} --function-names execute_intents use-manually-provided-public-key {} network-config {} sign-with-keychain send",
                key.account_id,
                args.contract,
                k.public_key(),
                args.chain_id
            );
        }
        Ok(())
    }

    async fn run(args: Args) -> Result<(), String> {
        if args.print_relayer_keys {
            return print_relayer_keys(&args);
        }
        let keypair = load_identity(&args.identity_file)?;
        let mut registry = Registry::default();
        let mut config = NodeConfig::new(&args.chain_id, &args.contract, keypair);
        config.listen = args.listen.clone();
        config.bootstrap = args.bootstrap.clone();
        let cap = |n: u32| (n > 0).then_some(n);
        let per_peer = f64::from(args.peer_msgs_per_second.max(1));
        config.rate_limit = RateLimit { per_second: per_peer, burst: 2.0 * per_peer };
        config.admission = Admission {
            max_connections_per_ip: cap(args.max_connections_per_ip),
            trusted_ips: args.trusted_ips.clone(),
            max_connections: cap(args.max_connections),
            ip_rate_limit: RateLimit { per_second: 2.0 * per_peer, burst: 4.0 * per_peer },
            ..Admission::default()
        };
        config.tuning.ip_colocation_whitelist = args.trusted_ips.clone();
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            config.tls = Some(WsTls::from_pem_files(cert, key)?);
        } else if let Some(a) = args.listen.iter().find(|a| a.iter().any(|p| matches!(p, libp2p::multiaddr::Protocol::Tls))) {
            return Err(format!("--listen {a}: /tls/ws needs --tls-cert and --tls-key"));
        }

        let relayer = if args.relayer {
            let rpc_url = args.rpc_url.clone().ok_or("--relayer needs --rpc-url")?;
            let key_path = args.relayer_key_file.clone().ok_or("--relayer needs --relayer-key-file")?;
            let key = near_crypto::KeyFile::from_file(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
            let contract = args.contract.parse().map_err(|e| format!("--contract: {e}"))?;
            let mut rc = RelayerConfig::new(key.account_id.clone(), key.secret_key.clone(), contract);
            rc.extra_keys = outpost_p2p::relayer::derived_keys(&key.secret_key, args.relayer_keys.max(1));
            rc.gas = GasConfig {
                per_intent: args.gas_per_intent_tgas * TGAS,
                per_withdraw_intent: args.gas_per_withdraw_tgas * TGAS,
                max_batch_gas: args.max_batch_tgas * TGAS,
                ..GasConfig::default()
            };
            let chain = RpcChainClient::new(&rpc_url, rc.contract.clone(), key.account_id, key.public_key);
            let hold = HoldPolicy {
                min_fee: (args.min_fee_yocto > 0).then_some((outpost_protocol::TokenId::Near, args.min_fee_yocto)),
                free_pool: args.free_pool,
                per_signer: args.per_signer,
                max_pending: args.max_pending,
            };
            let store = Arc::new(Store::open_with(&args.store, hold).map_err(|e| e.to_string())?);
            Some((rc, chain, store, RelayerMetrics::register(&mut registry)))
        } else {
            None
        };

        let (sink, intake) = tokio::sync::mpsc::channel(10_000);
        let node = node::spawn(config, &mut registry, relayer.as_ref().map(|_| sink)).await.map_err(|e| e.to_string())?;
        tracing::info!(peer_id = %node.peer_id(), topic = %outpost_protocol::gossip::intents_topic(&args.chain_id, &args.contract), "node started");
        let store = relayer.as_ref().map(|(_, _, s, _)| s.clone());
        let health = relayer.as_ref().map(|_| Health::default());
        let registry = Arc::new(registry);
        let relayer_account = relayer.as_ref().map(|(rc, ..)| rc.signer_id.to_string());
        let api = ApiState { node: node.clone(), store, health: health.clone(), relayer_account, registry: registry.clone() };
        let options = ApiOptions {
            rate_limit: (args.http_rate > 0).then_some(HttpRateLimit { per_second: args.http_rate, burst: args.http_burst.max(1) }),
            public_metrics: args.metrics_listen.is_none(),
        };
        let bound = http::serve(args.http, api, &options)
            .await
            .map_err(|e| format!("--http {}: {e}", args.http))?;
        match args.metrics_listen {
            None => tracing::info!(address = %bound, "HTTP API: POST /intents, GET /intents/{{hash}}, GET /health, GET /metrics"),
            Some(address) => {
                let metrics = http::serve_metrics(address, registry).await.map_err(|e| format!("--metrics-listen {address}: {e}"))?;
                tracing::info!(address = %bound, "HTTP API: POST /intents, GET /intents/{{hash}}, GET /health");
                tracing::info!(address = %metrics, "metrics: GET /metrics");
            }
        }

        let relayer_task = relayer.map(|(rc, chain, store, metrics)| {
            tracing::info!(account = %rc.signer_id, "relayer mode");
            let relayer = Relayer::new(rc, chain, store, node.clone()).with_metrics(metrics).with_health(health.clone().unwrap_or_default());
            tokio::spawn(relayer.run(intake))
        });
        match relayer_task {
            Some(task) => tokio::select! {
                r = task => match r {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("relayer stopped: {e}")),
                    Err(e) => Err(format!("relayer task: {e}")),
                },
                _ = tokio::signal::ctrl_c() => Ok(()),
            },
            None => tokio::signal::ctrl_c().await.map_err(|e| e.to_string()),
        }
    }
}
