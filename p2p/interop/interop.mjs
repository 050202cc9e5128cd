// Interop: a js-libp2p node (libp2p 3, @libp2p/gossipsub, TCP + noise + yamux) and outpost-node
// (rust-libp2p) exchange intents both ways on 127.0.0.1. The intents are signed with near-api-js
// (KeyPairSigner.signNep413Message), as a wallet signs them.
//
//   js ----gossip----> outpost-node   the node validates it (GET /intents/{hash} = 200) and
//                                     rejects a forgery the JS node sends (score, metric)
//   js <---gossip----- outpost-node   an intent POSTed to the node's HTTP API reaches JS intact
//
// Usage: node interop.mjs <outpost-node binary>
// Node 20: current js-libp2p uses Promise.withResolvers (Node 22+); shimmed below.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { KeyPair, KeyPairSigner } from 'near-api-js';
import { children, freePort, startNode } from '../browser/test/outpost-node.mjs';

const [bin] = process.argv.slice(2);
if (!bin) {
  console.error('usage: node interop.mjs <outpost-node binary>');
  process.exit(2);
}
const CHAIN = 'localnet';
const CONTRACT = 'intents.outpost.test.near';
const INTENTS = `outpost/${CHAIN}/${CONTRACT}/intents/1`;
const STATUS = `outpost/${CHAIN}/${CONTRACT}/status/1`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

// undici (Node's fetch) may reuse a keep-alive socket the node has just closed and fail with
// "fetch failed" before anything was sent; one retry on a fresh socket is what a browser does.
// Every request here is idempotent (reads, and a POST deduplicated by intent hash).
const nodeFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  try {
    return await nodeFetch(...args);
  } catch (e) {
    if (e instanceof TypeError && e.message === 'fetch failed') return nodeFetch(...args);
    throw e;
  }
};

// Polls `f` until it returns something truthy. A throw (e.g. undici reusing a keep-alive socket
// the node just closed: "fetch failed") counts as "not yet"; the last one is reported on timeout.
async function until(what, f, ms = 15000) {
  const end = Date.now() + ms;
  let lastError;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) throw new Error(`FAILED: timed out waiting for ${what}${lastError ? ` (last error: ${lastError.cause?.code || lastError.message})` : ''}`);
    await sleep(50);
  }
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes) {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out; }
  return out;
}

/** The NEP-413 hash (the intent's id): sha256(borsh(2^31 + 413) || borsh(payload)). */
function nep413Hash({ message, nonce, recipient, callbackUrl }) {
  const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u32(b.length), b]); };
  const parts = [u32(2 ** 31 + 413), str(message), Buffer.from(nonce), str(recipient)];
  parts.push(callbackUrl == null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), str(callbackUrl)]));
  return createHash('sha256').update(Buffer.concat(parts)).digest();
}

/** A transfer intent from the key's implicit account, signed as a wallet signs (NEP-413). */
async function signedIntent(keyPair, n, { walletSignature = false } = {}) {
  const publicKey = keyPair.getPublicKey();
  const signerId = Buffer.from(publicKey.data).toString('hex');
  const deadline = (BigInt(Date.now()) * 1_000_000n + 3600n * 1_000_000_000n).toString();
  const message = JSON.stringify({
    signer_id: signerId, deadline,
    actions: [{ type: 'transfer', token: 'near', amount: String(1000 + n), receiver_id: 'bob.test.near' }],
  });
  // A v2 nonce: bytes 0..8 are its expiry (ns, little-endian), here the deadline; the rest random.
  const nonce = createHash('sha256').update(`interop-nonce-${n}-${Date.now()}`).digest();
  nonce.writeBigUInt64LE(BigInt(deadline), 0);
  const signed = await new KeyPairSigner(keyPair).signNep413Message(signerId, { message, recipient: CONTRACT, nonce });
  const intent = {
    message, nonce: nonce.toString('base64'), recipient: CONTRACT,
    // Wallets' signMessage returns the signature in base64; near-api-js tools write ed25519:<base58>.
    public_key: publicKey.toString(),
    signature: walletSignature ? Buffer.from(signed.signature).toString('base64') : `ed25519:${base58(signed.signature)}`,
  };
  return { intent, hash: base58(nep413Hash({ message, nonce, recipient: CONTRACT })) };
}

const gossip = (intent) => new TextEncoder().encode(JSON.stringify({ kind: 'intent', intent }));

async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

const work = mkdtempSync(join(tmpdir(), 'outpost-interop-'));
let js;
try {
  const [tcpPort, httpPort] = await Promise.all([freePort(), freePort()]);
  const { peerId: rustId } = await startNode(bin, 'outpost-node', ['--chain-id', CHAIN, '--contract', CONTRACT,
    '--identity-file', join(work, 'node.key'), '--listen', `/ip4/127.0.0.1/tcp/${tcpPort}`, '--http', `127.0.0.1:${httpPort}`]);

  js = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // outpost-node: strict signing, message id = sha256 of the payload (behaviour.rs).
      pubsub: gossipsub({ emitSelf: false, msgIdFn: (m) => createHash('sha256').update(m.data).digest() }),
    },
  });
  const received = [];
  js.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic === INTENTS) received.push(JSON.parse(new TextDecoder().decode(e.detail.data)));
  });
  js.services.pubsub.subscribe(INTENTS);
  js.services.pubsub.subscribe(STATUS);
  console.log(`js-libp2p ${js.peerId} dialing outpost-node ${rustId}`);
  await js.dial(multiaddr(`/ip4/127.0.0.1/tcp/${tcpPort}/p2p/${rustId}`));
  await until('outpost-node in the JS mesh', () => js.services.pubsub.getMeshPeers(INTENTS).map(String).includes(rustId));
  check(true, 'js-libp2p and outpost-node subscribed each other and meshed on the intents topic');

  // JS -> rust: a wallet-signed intent, validated and held by the node.
  const keyPair = KeyPair.fromRandom('ed25519');
  const first = await signedIntent(keyPair, 1, { walletSignature: true });
  await js.services.pubsub.publish(INTENTS, gossip(first.intent));
  const seen = await until('the node to hold the JS intent', async () => {
    const r = await fetch(`http://127.0.0.1:${httpPort}/intents/${first.hash}`);
    return r.status === 200 ? r.json() : null;
  });
  check(seen.status === 'pending', `outpost-node validated the near-api-js-signed intent from js-libp2p, its signature in base64 as wallets return it (${first.hash})`);

  // A forgery (one signature byte changed) is rejected: the node really checks.
  const forged = await signedIntent(keyPair, 2);
  const sig = Buffer.from(forged.intent.signature.slice('ed25519:'.length));
  forged.intent.signature = `ed25519:${sig[0] === 0x32 ? '3' : '2'}${sig.subarray(1).toString()}`;
  await js.services.pubsub.publish(INTENTS, gossip(forged.intent));
  await until('the forgery to be rejected', async () => (await metric(httpPort, 'outpost_gossip_rejected_total')) >= 1);
  check((await fetch(`http://127.0.0.1:${httpPort}/intents/${forged.hash}`)).status === 404, 'outpost-node rejected a forged intent from js-libp2p');

  // rust -> JS: an intent posted to the node's API is gossiped to the JS node.
  const second = await signedIntent(keyPair, 3);
  const post = await fetch(`http://127.0.0.1:${httpPort}/intents`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(second.intent),
  });
  check(post.status === 202, `POST /intents accepted (${post.status})`);
  const answer = await post.json();
  check(answer.intent_hash === second.hash, 'the node computes the same NEP-413 hash as near-api-js\'s signer');
  const got = await until('the node\'s intent at the JS node', () => received.find((m) => m.kind === 'intent' && m.intent.message === second.intent.message));
  check(got.intent.signature === second.intent.signature && got.intent.nonce === second.intent.nonce, 'js-libp2p received the intent from outpost-node intact');
  console.log('interop test passed');
} catch (e) {
  console.error(e.stack ?? String(e));
  process.exitCode = 1;
} finally {
  if (js) await js.stop().catch(() => {});
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  // js-libp2p's timers and fetch's keep-alive sockets would hold the process ~20 s more.
  process.exit(process.exitCode ?? 0);
}
