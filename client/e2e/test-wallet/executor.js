// A near-connect sandbox wallet for the e2e test (registered through the local manifest next to
// it). near-connect runs this in a sandboxed iframe, as it runs HOT's or Meteor's scripts. It
// signs with a fixed test key (WebCrypto Ed25519), NEP-413 messages as wallets do (signature in
// base64), and transactions it builds in borsh by hand and sends to the RPC the dApp configured
// (`window.selector.providers`). The e2e checks every byte it sends on the other side.
const ACCOUNT = 'carol.test.near';
// The e2e derives the same key from this seed to verify what the wallet signed.
const SEED_HEX = '5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
function b58encode(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b === 0) out = '1' + out; else break; }
  return out;
}
function b58decode(s) {
  let n = 0n;
  for (const ch of s) n = n * 58n + BigInt(B58.indexOf(ch));
  const out = [];
  while (n > 0n) { out.unshift(Number(n & 255n)); n >>= 8n; }
  for (const ch of s) { if (ch === '1') out.unshift(0); else break; }
  return Uint8Array.from(out);
}
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const b64url = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

// Borsh, the few shapes needed.
class Writer {
  constructor() { this.parts = []; }
  u8(v) { this.parts.push(Uint8Array.of(v)); return this; }
  u32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.parts.push(b); return this; }
  u64(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.parts.push(b); return this; }
  u128(v) { const x = BigInt(v); return this.u64(x & 0xffffffffffffffffn).u64(x >> 64n); }
  bytes(b) { this.parts.push(b); return this; }
  string(s) { const b = new TextEncoder().encode(s); return this.u32(b.length).bytes(b); }
  done() {
    const out = new Uint8Array(this.parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

let keys = null;
async function key() {
  if (keys) return keys;
  const pkcs8 = hex('302e020100300506032b657004220420' + SEED_HEX);
  const priv = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const pub = b64url((await crypto.subtle.exportKey('jwk', priv)).x);
  keys = { priv, pub, text: 'ed25519:' + b58encode(pub) };
  return keys;
}
const sign = async (bytes) => new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, (await key()).priv, bytes));
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

async function rpc(network, method, params) {
  const url = window.selector.providers[network]?.[0];
  if (!url) throw new Error(`no RPC for ${network}`);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'w', method, params }) });
  const body = await res.json();
  if (body.error) throw new Error(JSON.stringify(body.error));
  return body.result;
}

const signedIn = async () => (await window.selector.storage.get('signed-in')) === '1';
const account = async () => [{ accountId: ACCOUNT, publicKey: (await key()).text }];

const wallet = {
  async signIn() {
    await window.selector.storage.set('signed-in', '1');
    return account();
  },
  async signOut() {
    await window.selector.storage.remove('signed-in');
  },
  async getAccounts() {
    return (await signedIn()) ? account() : [];
  },
  // NEP-413: sha256(borsh(2^31 + 413) ‖ borsh(payload)), signature in base64 as wallets answer.
  async signMessage({ message, nonce, recipient, callbackUrl }) {
    if (!(await signedIn())) throw new Error('not signed in');
    if (!(nonce instanceof Uint8Array) || nonce.length !== 32) throw new Error('nonce must be 32 bytes');
    const w = new Writer().u32(2 ** 31 + 413).string(message).bytes(nonce).string(recipient);
    if (callbackUrl == null) w.u8(0); else w.u8(1).string(callbackUrl);
    const signature = await sign(await sha256(w.done()));
    return { accountId: ACCOUNT, publicKey: (await key()).text, signature: b64(signature) };
  },
  async signAndSendTransaction({ receiverId, actions, network }) {
    if (!(await signedIn())) throw new Error('not signed in');
    const k = await key();
    const ak = await rpc(network, 'query', { request_type: 'view_access_key', finality: 'final', account_id: ACCOUNT, public_key: k.text });
    // The key's nonce read at `final` may not count this wallet's last transaction yet (on a real
    // chain it is a block or two behind): never reuse a nonce this wallet already signed with.
    const last = BigInt((await window.selector.storage.get('last-nonce')) || '0');
    const nonce = (BigInt(ak.nonce) > last ? BigInt(ak.nonce) : last) + 1n;
    await window.selector.storage.set('last-nonce', String(nonce));
    const w = new Writer().string(ACCOUNT).u8(0).bytes(k.pub).u64(nonce).string(receiverId).bytes(b58decode(ak.block_hash)).u32(actions.length);
    for (const a of actions) {
      if (a.type !== 'FunctionCall') throw new Error(`the test wallet does not send ${a.type}`);
      const p = a.params;
      const args = new TextEncoder().encode(JSON.stringify(p.args));
      w.u8(2).string(p.methodName).u32(args.length).bytes(args).u64(p.gas).u128(p.deposit);
    }
    const tx = w.done();
    const signature = await sign(await sha256(tx));
    const signed = new Writer().bytes(tx).u8(0).bytes(signature).done();
    return rpc(network, 'send_tx', { signed_tx_base64: b64(signed), wait_until: 'EXECUTED_OPTIMISTIC' });
  },
};

window.selector.ready(wallet);
