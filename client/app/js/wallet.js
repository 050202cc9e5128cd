// The dApp's only JavaScript besides wasm-bindgen's glue: near-connect (NEAR's wallet connector:
// HOT, Meteor, MyNearWallet, Intear, … each running in its own sandboxed iframe) behind five
// functions. The Yew app loads this module on first use (it is bundled into wallet.js by
// scripts/build-client.sh) and passes and receives JSON text only; every check of what a wallet
// answers is in Rust (outpost-client-model's `wallet` module).
import { NearConnector } from '@hot-labs/near-connect';

let connector = null;
let made = '';

// One connector per network setting; a new setting (network switch) makes a new one.
// cfg: {"network": "mainnet"|"testnet", "rpcUrl": "...", "manifest": "<url>"|null}
function connectorFor(cfgJson) {
  if (connector && made === cfgJson) return connector;
  const cfg = JSON.parse(cfgJson);
  const providers = { mainnet: [], testnet: [] };
  providers[cfg.network] = [cfg.rpcUrl];
  connector = new NearConnector({
    network: cfg.network,
    manifest: cfg.manifest || undefined,
    providers,
    features: { signMessage: true, signAndSendTransaction: true },
    footerBranding: null,
    // The page's CSP forbids inline scripts; near-connect's wallet iframe (srcdoc, which inherits
    // it) gets the build's nonce for its two.
    cspNonce: document.querySelector('meta[name="outpost-csp-nonce"]')?.content,
    autoConnect: false,
    logger: localStorage.getItem('outpost.wallet-debug') ? console : undefined,
  });
  made = cfgJson;
  return connector;
}

const accounts = (list) => JSON.stringify((list || []).map((a) => ({ accountId: a.accountId, publicKey: a.publicKey || null })));

// Opens near-connect's wallet list; resolves with the accounts once the user signed in.
export async function connect(cfgJson) {
  const c = connectorFor(cfgJson);
  const wallet = await c.connect();
  return accounts(await wallet.getAccounts());
}

// The session a wallet kept from an earlier visit, or "[]".
export async function restore(cfgJson) {
  try {
    const { accounts: list } = await connectorFor(cfgJson).getConnectedWallet();
    return accounts(list);
  } catch {
    return '[]';
  }
}

export async function disconnect(cfgJson) {
  await connectorFor(cfgJson).disconnect();
}

// NEP-413 signMessage. req: {"message", "nonce" (base64 of 32 bytes), "recipient"}.
// Answers {accountId, publicKey, signature (base64)} as wallets return it.
export async function signMessage(cfgJson, reqJson) {
  const req = JSON.parse(reqJson);
  const nonce = Uint8Array.from(atob(req.nonce), (ch) => ch.charCodeAt(0));
  const wallet = await connectorFor(cfgJson).wallet();
  const r = await wallet.signMessage({ message: req.message, recipient: req.recipient, nonce });
  if (!r) throw new Error('the wallet returned no signature');
  return JSON.stringify({ accountId: r.accountId, publicKey: r.publicKey, signature: r.signature });
}

// signAndSendTransaction. tx: {"receiverId", "actions": [{type: "FunctionCall", params}]}.
// Answers the final execution outcome (JSON) or null when the wallet does not return one.
export async function signAndSend(cfgJson, txJson) {
  const wallet = await connectorFor(cfgJson).wallet();
  const outcome = await wallet.signAndSendTransaction(JSON.parse(txJson));
  return JSON.stringify(outcome ?? null);
}
