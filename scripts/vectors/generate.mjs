// Generates NEP-413 test vectors with near-api-js (version pinned in package.json), an
// implementation not written in this repo. The Rust protocol crate is checked against the output
// (contracts/protocol/tests/vectors.rs). Run once and commit the JSON:
//   cd scripts/vectors && npm ci && node generate.mjs > ../../contracts/protocol/tests/vectors/near-api-js.json
// Everything is deterministic: fixed seeds, fixed nonces; ed25519 signatures are deterministic.
import { KeyPairSigner, KeyPair } from "near-api-js";
import { parseSeedPhrase } from "near-api-js/seed-phrase";
import { createHash } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { readFileSync } from "node:fs";

const version = JSON.parse(readFileSync(new URL("./node_modules/near-api-js/package.json", import.meta.url))).version;
const bytes = (label, n = 32) => createHash("sha256").update(label).digest().subarray(0, n);
const hex = (b) => Buffer.from(b).toString("hex");

function keyFromSeed(label) {
  const seed = bytes(`outpost-vector-key:${label}`);
  const pk = ed25519.getPublicKey(seed);
  return KeyPair.fromString(`ed25519:${base58.encode(new Uint8Array([...seed, ...pk]))}`);
}

const cases = [
  {
    name: "transfer from implicit account",
    key: "alice",
    signerImplicit: true,
    actions: [{ type: "transfer", token: "nep141:token.outpost.testnet", amount: "1000000", receiver_id: "bob.testnet", memo: "lunch" }],
    recipient: "intents.outpost.testnet",
    callbackUrl: undefined,
  },
  {
    name: "swap offer with callback url",
    key: "bob",
    signer: "bob.testnet",
    actions: [{ type: "token_diff", diff: { "nep141:token.outpost.testnet": "-500", "near": "250000000000000000000000" } }],
    recipient: "intents.outpost.testnet",
    callbackUrl: "https://outpost.example/cb",
  },
  {
    name: "withdraw native near",
    key: "carol",
    signer: "carol.testnet",
    actions: [{ type: "withdraw", token: "near", amount: "1", receiver_id: "carol.testnet" }],
    recipient: "intents.outpost.testnet",
    callbackUrl: undefined,
  },
  {
    name: "non-ascii memo and key change",
    key: "dave",
    signer: "dave.testnet",
    actions: [
      { type: "transfer", token: "near", amount: "42", receiver_id: "erin.testnet", memo: "café ☕ 日本" },
      { type: "add_public_key", public_key: "ed25519:6E8sCci9badyRkXb3JoRpBj5p8C6Tw41ELDZoiihKEtp" },
    ],
    recipient: "intents.outpost.testnet",
    callbackUrl: undefined,
  },
];

const vectors = [];
for (const [i, c] of cases.entries()) {
  const keyPair = keyFromSeed(c.key);
  const publicKey = keyPair.getPublicKey();
  const signerId = c.signerImplicit ? hex(publicKey.data) : c.signer;
  const message = JSON.stringify({ signer_id: signerId, deadline: "1893456000000000000", actions: c.actions });
  const nonce = bytes(`outpost-vector-nonce:${i}`);
  const signer = new KeyPairSigner(keyPair);
  const signed = await signer.signNep413Message(signerId, { message, recipient: c.recipient, nonce, callbackUrl: c.callbackUrl });
  vectors.push({
    name: c.name,
    secret_key: keyPair.toString(),
    public_key: publicKey.toString(),
    signer_id: signerId,
    message,
    nonce_base64: Buffer.from(nonce).toString("base64"),
    recipient: c.recipient,
    callback_url: c.callbackUrl ?? null,
    signature: `ed25519:${base58.encode(signed.signature)}`,
  });
  if (!publicKey.verify(hashOf(message, nonce, c.recipient, c.callbackUrl), signed.signature)) {
    throw new Error(`self-check failed for ${c.name}`);
  }
}

// NEP-413 hash (tag 2^31+413, borsh payload, sha256) written out by hand for the vector file; the
// self-check above proves it equals the hash near-api-js signed.
function hashOf(message, nonce, recipient, callbackUrl) {
  const tag = Buffer.alloc(4); tag.writeUInt32LE(2147484061);
  const str = (s) => { const b = Buffer.from(s, "utf8"); const l = Buffer.alloc(4); l.writeUInt32LE(b.length); return Buffer.concat([l, b]); };
  const cb = callbackUrl === undefined ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), str(callbackUrl)]);
  return createHash("sha256").update(Buffer.concat([tag, str(message), Buffer.from(nonce), str(recipient), cb])).digest();
}
for (const [i, v] of vectors.entries()) {
  v.hash_hex = hex(hashOf(v.message, Buffer.from(v.nonce_base64, "base64"), v.recipient, v.callback_url ?? undefined));
}

// Seed phrases derived the way NEAR wallets do (BIP-39 + SLIP-10 m/44'/397'/0'), for the dApp's import.
const phrases = [
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
  "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
];
const seed_phrases = phrases.map((p) => {
  const keyPair = parseSeedPhrase(p);
  return { seed_phrase: p, secret_key: keyPair.toString(), public_key: keyPair.getPublicKey().toString() };
});

console.log(JSON.stringify({ generator: `near-api-js ${version}`, nep413: vectors, seed_phrases }, null, 2));
