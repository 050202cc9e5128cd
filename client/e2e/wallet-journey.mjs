// The wallet journey, shared by tier 1 (e2e.mjs, against its fake chain) and tier 2
// (sandbox-journey.mjs, against a real NEAR sandbox, a real outpost-node relayer and the real
// contracts): sign in with the test wallet through near-connect, deposit NEAR into the ledger,
// register this device's key (the wallet sends add_public_key), go offline and sign a transfer
// with the device key, come online and see it settle.
//
// Every expectation about the chain is read over JSON-RPC views (view_account, the intents
// contract's get_balance, public_keys_of, nonce_status, config), at `final`, the way the page
// reads: so the same lines hold on the fake chain and on a real one. Chain reads are polled with
// timeouts (a real chain is final a block or two after a transaction ran); a fixed wait is never
// taken as proof.
import crypto from 'node:crypto';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

export const YOCTO_PER_NEAR = 10n ** 24n;
// At most what one of the journey's wallet transactions may cost in gas, read at `final` when its
// gas refund may not have landed yet: 30 TGas prepaid per call (two calls for the keys) at NEAR's
// floor price of 10^8 yocto/gas is 0.003 NEAR a call, and receipts are prepaid at a pessimistic
// price a few times that.
export const MAX_GAS_COST = 3n * 10n ** 22n; // 0.03 NEAR
// What add_public_key attaches per key (client/model/src/wallet.rs KEY_REGISTRATION_DEPOSIT).
export const KEY_REGISTRATION_DEPOSIT = 10n ** 22n;

// ---- text forms ----
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export function base58(buf) {
  let n = BigInt('0x' + (Buffer.from(buf).toString('hex') || '0'));
  let out = '';
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of buf) { if (b === 0) out = '1' + out; else break; }
  return out;
}
export function b58decode(s) {
  let n = 0n;
  for (const ch of s) {
    const d = B58.indexOf(ch);
    if (d < 0) throw new Error(`not base58: ${s}`);
    n = n * 58n + BigInt(d);
  }
  const hexed = n.toString(16);
  const body = n === 0n ? Buffer.alloc(0) : Buffer.from(hexed.padStart(hexed.length + (hexed.length % 2), '0'), 'hex');
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  return Buffer.concat([Buffer.alloc(zeros), body]);
}
// "2" -> 2 * 10^24; "0.5" -> 5 * 10^23 (what the page's parse_units does for NEAR).
export function parseNear(text) {
  const [whole, frac = ''] = String(text).split('.');
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(frac) || frac.length > 24) throw new Error(`not a NEAR amount: ${text}`);
  return BigInt(whole) * YOCTO_PER_NEAR + BigInt(frac.padEnd(24, '0') || '0');
}
// 19992300000000000000000000 -> "19.9923" (the page's format_units for 24 decimals).
export function formatNear(yocto) {
  const whole = yocto / YOCTO_PER_NEAR;
  const frac = (yocto % YOCTO_PER_NEAR).toString().padStart(24, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

// ---- NEP-413 ----
function borshString(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([len, b]);
}
// sha256(borsh(2^31 + 413) ‖ borsh(payload)): what an intent's key signs; base58 of it is its id.
function nep413Digest(si) {
  const tag = Buffer.alloc(4);
  tag.writeUInt32LE(2 ** 31 + 413);
  const cb = si.callback_url == null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), borshString(si.callback_url)]);
  return crypto.createHash('sha256').update(Buffer.concat([tag, borshString(si.message), Buffer.from(si.nonce, 'base64'), borshString(si.recipient), cb])).digest();
}
export const intentId = (si) => base58(nep413Digest(si));
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
export function intentSignatureValid(si) {
  const sig = si.signature.startsWith('ed25519:') ? b58decode(si.signature.slice(8)) : Buffer.from(si.signature, 'base64');
  const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, b58decode(si.public_key.slice(8))]), format: 'der', type: 'spki' });
  return sig.length === 64 && crypto.verify(null, nep413Digest(si), key, sig);
}
// The test wallet's key (client/e2e/test-wallet/executor.js signs with the same seed).
export const WALLET_SEED_HEX = '5eed'.repeat(16);
export function walletPublicKey() {
  const priv = crypto.createPrivateKey({ key: Buffer.from('302e020100300506032b657004220420' + WALLET_SEED_HEX, 'hex'), format: 'der', type: 'pkcs8' });
  return 'ed25519:' + base58(crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12));
}
// The storage of a first NEAR balance record in the ledger, which `deposit` keeps from the first
// deposit (contracts/intents: key b'b' ‖ borsh(account) ‖ borsh(TokenId::Near), a u128 value, and
// the 40 bytes NEAR counts per record).
export function firstNearRecordBytes(account) {
  return 1 + 4 + Buffer.byteLength(account) + 1 + 16 + 40;
}

// ---- JSON-RPC views, at `final` as the page reads ----
export class Rpc {
  constructor(url) { this.url = url; }
  async call(method, params) {
    const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'journey', method, params }) });
    if (res.status !== 200) throw new Error(`RPC ${method}: HTTP ${res.status}`);
    const body = await res.json();
    if (body.error) throw new Error(`RPC ${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  }
  async view(contract, method, args) {
    const r = await this.call('query', { request_type: 'call_function', finality: 'final', account_id: contract, method_name: method, args_base64: Buffer.from(JSON.stringify(args)).toString('base64') });
    if (r.error) throw new Error(`view ${method}: ${r.error}`);
    return JSON.parse(Buffer.from(r.result).toString('utf8'));
  }
  async accountNear(account) {
    return BigInt((await this.call('query', { request_type: 'view_account', finality: 'final', account_id: account })).amount);
  }
  async ledgerNear(contract, account) {
    return BigInt(await this.view(contract, 'get_balance', { account_id: account, token: 'near' }));
  }
  keys(contract, account) { return this.view(contract, 'public_keys_of', { account_id: account }); }
  nonceStatus(contract, account, nonce) { return this.view(contract, 'nonce_status', { account_id: account, nonce }); }
  config(contract) { return this.view(contract, 'config', {}); }
}

// Reads `read()` until `done(value)`, at most `ms`; returns the value, or throws naming the last
// one read (or the last error). Never a fixed sleep taken as proof: the check is on the value.
export async function poll(what, read, done, ms, every = 400) {
  const end = Date.now() + ms;
  let last;
  let error;
  for (;;) {
    try {
      last = await read();
      error = undefined;
      if (done(last)) return last;
    } catch (e) { error = e; }
    if (Date.now() >= end) {
      const seen = error ? `error ${error.message}` : JSON.stringify(last, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
      throw new Error(`expectation failed: ${what} (not within ${ms} ms; last read: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

// ---- the page, driven like a person ----
export function pageKit(page) {
  const kit = {
    text: async (sel) => (await page.locator(sel).first().textContent({ timeout: 10_000 })) || '',
    tab: async (name) => page.click(`#tab-${name}`),
    ready: async () => page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 }),
    // Types back the words the page asks for (positions in data-pos), as a person with the
    // phrase written down would; returns the phrase.
    async confirmPhrase() {
      await page.waitForSelector('#keys-confirm #seed-phrase', { timeout: 20_000 });
      const phrase = (await kit.text('#seed-phrase')).trim();
      const words = phrase.split(' ');
      for (const i of [1, 2, 3]) {
        const pos = Number(await page.getAttribute(`#confirm-${i}`, 'data-pos'));
        await page.fill(`#confirm-${i}`, words[pos - 1]);
      }
      await page.click('#confirm-save');
      await page.waitForSelector('#implicit-account', { timeout: 20_000 });
      return phrase;
    },
    async createKey(passphrase) {
      await kit.tab('keys');
      await page.fill('#pass', passphrase);
      await page.fill('#pass2', passphrase);
      await page.click('#create');
      return kit.confirmPhrase();
    },
    // "Review and sign", then confirm what the review shows.
    async signIt() {
      await page.click('#sign');
      await page.waitForSelector('#review #review-summary', { timeout: 10_000 });
      await page.click('#confirm-sign');
    },
    async composeTransfer(amount, memo = '', receiver = 'bob.testnet') {
      await kit.tab('compose');
      const prev = (await page.locator('#compose-status').count()) ? await kit.text('#compose-status') : '';
      await page.fill('#amount', String(amount));
      await page.fill('#receiver', receiver);
      await page.fill('#memo', memo);
      await kit.signIt();
      await page.waitForFunction((prev) => {
        const el = document.querySelector('#compose-status.ok');
        return el && el.textContent.startsWith('queued') && el.textContent !== prev;
      }, prev, { timeout: 10_000 });
      const status = await kit.text('#compose-status');
      await page.waitForFunction(() => !document.querySelector('#amount').value); // form reset after queueing
      return status;
    },
    // The queue's records as IndexedDB holds them.
    async records() {
      return page.evaluate(() => new Promise((resolve, reject) => {
        const open = indexedDB.open('outpost');
        open.onsuccess = () => {
          const req = open.result.transaction('queue').objectStore('queue').getAll();
          req.onsuccess = () => { resolve(req.result.map((r) => JSON.parse(r.json))); open.result.close(); };
          req.onerror = () => reject(req.error);
        };
        open.onerror = () => reject(open.error);
      }));
    },
    // Reads a QR code drawn in the page back with a real decoder (jsQR) from a screenshot.
    async readQr(sel) {
      const png = PNG.sync.read(await page.locator(sel).screenshot());
      return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
    },
  };
  return kit;
}

// The journey. `o`: {page, base (the dApp's URL), rpc (an Rpc), contract, account (the test
// wallet's), receiver, deposit and pay (NEAR as text), passphrase, expect(cond, what),
// screenshot(name), chainMs (how long chain effects may take), walletNear (the wallet account's
// NEAR before the journey, when known), hooks: {offlineQueued({id, signed}), sent({id, signed})}}.
// Returns what it did: the keys, the paid intent, the balances it saw.
export async function walletJourney(o) {
  const { page, rpc, contract, account, receiver, expect } = o;
  const ui = pageKit(page);
  const chainMs = o.chainMs ?? 20_000;
  const hooks = o.hooks || {};
  const deposit = parseNear(o.deposit);
  const pay = parseNear(o.pay);
  const walletPk = walletPublicKey();
  const byteCost = BigInt((await rpc.config(contract)).storage_byte_cost);
  expect(byteCost > 0n, `chain: the ledger's storage byte cost is read from its config (${byteCost})`);

  // Sign in through near-connect (the test wallet in its sandboxed iframe).
  await page.goto(o.base);
  await ui.ready();
  await ui.tab('wallet');
  await o.screenshot('wallet-signed-out');
  await page.click('#wallet-connect');
  // near-connect's own wallet list, filled from the manifest network.json names.
  await page.click('.connect-item[data-type="outpost-test-wallet"]', { timeout: 20_000 });
  await page.waitForSelector('#wallet-account', { timeout: 20_000 });
  expect((await ui.text('#wallet-account')) === account && (await ui.text('#wallet-key')) === walletPk, 'wallet: signed in through near-connect (test wallet in its sandboxed iframe), account and key shown');
  const near0 = await poll(`chain: the wallet account ${account} exists`, () => rpc.accountNear(account), () => true, chainMs);
  if (o.walletNear !== undefined) expect(near0 === parseNear(o.walletNear), `chain: the wallet account holds ${o.walletNear} NEAR before the journey (${near0})`);
  await page.waitForSelector('#wallet-near');
  expect((await ui.text('#wallet-near')) === `${formatNear(near0)} NEAR`, `wallet: the wallet's own NEAR is read over RPC without a click (${formatNear(near0)} NEAR, as view_account says)`);
  const ledger0 = await rpc.ledgerNear(contract, account);
  expect(ledger0 === 0n, `chain: the wallet account has nothing in the ledger yet (get_balance ${ledger0})`);
  expect((await page.getAttribute('.ledger-balance[data-token="near"]', 'data-amount')) === '0', 'wallet: the ledger balance starts at 0');
  await o.screenshot('wallet-signed-in');

  // Deposit: the wallet signs and sends `deposit` with the amount attached; the ledger keeps the
  // storage of the account's first NEAR record and credits the rest.
  await page.fill('#deposit-amount', o.deposit);
  await page.click('#deposit');
  await page.waitForSelector(`#wallet-msg.ok:has-text("deposited ${o.deposit} NEAR")`, { timeout: chainMs });
  const recordCost = BigInt(firstNearRecordBytes(account)) * byteCost;
  const ledger1 = deposit - recordCost;
  await poll(`deposit: the ledger credits ${formatNear(ledger1)} NEAR (${o.deposit} less the first record's storage, ${recordCost} yocto)`,
    () => rpc.ledgerNear(contract, account), (v) => v === ledger1, chainMs);
  expect(true, `deposit: get_balance is exactly ${ledger1} yocto`);
  await page.waitForSelector(`.ledger-balance[data-token="near"][data-amount="${ledger1}"]`, { timeout: 10_000 });
  expect(true, 'deposit: the page shows the new ledger balance without a click');
  const near1 = await rpc.accountNear(account);
  expect(near1 <= near0 - deposit && near1 >= near0 - deposit - MAX_GAS_COST, `deposit: the wallet account paid the deposit and at most ${formatNear(MAX_GAS_COST)} NEAR of gas (${formatNear(near0 - near1)} NEAR in all)`);
  // History keeps the deposit with the wallet's transaction.
  const depositTx = ((await ui.text('#wallet-msg')).match(/in transaction (\S+)$/) || [])[1];
  expect(!!depositTx, 'deposit: the page names the wallet\'s transaction');
  await ui.tab('history');
  const listed = await ui.text(`li.deposit[data-tx="${depositTx}"]`);
  expect(listed.includes(`${o.deposit} NEAR into ${account}'s ledger`), `history: the deposit is listed with its transaction (${listed})`);
  await o.screenshot('history-deposit');
  await ui.tab('wallet');

  // A key for this device, then registered for the wallet's account by one wallet transaction
  // (with the wallet's own key, which wallet-signed intents need).
  await ui.createKey(o.passphrase);
  const devicePk = await ui.text('#public-key');
  const implicit = b58decode(devicePk.slice('ed25519:'.length)).toString('hex');
  await ui.tab('wallet');
  await page.waitForSelector('#wallet-keys[data-missing="2"]', { timeout: 10_000 });
  expect(JSON.stringify(await rpc.keys(contract, account)) === '[]', 'chain: no key signs for the wallet account before registration');
  await page.click('#register-keys');
  await page.waitForSelector('#wallet-msg.ok:has-text("now signs for")', { timeout: chainMs });
  const keys = await poll('register: public_keys_of lists the two keys', () => rpc.keys(contract, account), (k) => k.length >= 2, chainMs);
  expect(JSON.stringify(keys) === JSON.stringify([devicePk, walletPk]), `register: public_keys_of is this device's key and the wallet's, in that order (${keys})`);
  await page.waitForSelector('#wallet-keys[data-missing="0"]', { timeout: 10_000 });
  expect((await ui.text('#device-signs-for')).includes(account), 'register: the page says which accounts this device\'s key signs for');
  const near2 = await rpc.accountNear(account);
  expect(near2 < near1 && near2 >= near1 - 2n * KEY_REGISTRATION_DEPOSIT - MAX_GAS_COST, `register: the wallet account paid the keys' storage and gas, no more than it attached (${formatNear(near1 - near2)} NEAR)`);
  await ui.tab('keys');
  expect((await ui.text('#named-account')) === account, 'register: the local key now signs as the wallet\'s account');
  await o.screenshot('wallet-keys-registered');

  // Receive: the accounts to be paid at, a QR code a phone can read, and copy.
  await ui.tab('receive');
  const accountsShown = await page.locator('.receive-account').allTextContents();
  expect(JSON.stringify(accountsShown) === JSON.stringify([account, implicit]), `receive: the key's named account, then its implicit one (${accountsShown})`);
  expect((await ui.readQr('#receive-qr')) === account, 'receive: the QR code reads back (jsQR) as the account id');
  await page.locator('button.show-qr').nth(1).click();
  await page.waitForSelector(`#receive-qr[data-account="${implicit}"]`);
  expect((await ui.readQr('#receive-qr')) === implicit, 'receive: a 64-character implicit account id reads back too (version 5)');
  await o.screenshot('receive');
  await page.locator('button.copy').first().click();
  await page.waitForSelector('#receive-msg');
  expect((await page.evaluate(() => navigator.clipboard.readText())) === account, 'receive: "Copy" puts the account id on the clipboard');

  // Offline: the device key signs for the wallet's account; online again: it settles.
  const receiver0 = await rpc.ledgerNear(contract, receiver);
  await page.context().setOffline(true);
  await page.waitForSelector('#conn[data-online="false"]');
  await ui.composeTransfer(o.pay, 'offline, for carol', receiver);
  await ui.tab('queue');
  const id = await page.locator('li.rec[data-state="queued"]').first().getAttribute('data-id');
  const record = (await ui.records()).find((r) => r.id === id);
  const signed = record?.signed;
  expect(signed && intentId(signed) === id && record.state.state === 'queued', 'offline: signed and stored as queued, its id the NEP-413 hash');
  const message = JSON.parse(signed.message);
  const action = message.actions?.[0] || {};
  expect(message.signer_id === account && signed.public_key === devicePk && signed.recipient === contract && intentSignatureValid(signed),
    'offline: signed by this device\'s key for the wallet\'s account, for the intents contract, and the signature verifies');
  expect(message.actions.length === 1 && action.type === 'transfer' && action.token === 'near' && action.amount === String(pay) && action.receiver_id === receiver,
    `offline: one transfer of ${o.pay} NEAR to ${receiver}`);
  if (hooks.offlineQueued) await hooks.offlineQueued({ id, signed });
  await page.context().setOffline(false);
  await page.waitForSelector(`li.rec[data-id="${id}"][data-state="sent"], li.rec[data-id="${id}"][data-state="executed"]`, { timeout: chainMs });
  expect(true, 'online: the queued intent went out');
  if (hooks.sent) await hooks.sent({ id, signed });
  const status = await poll('settle: nonce_status says the nonce was used by this intent', () => rpc.nonceStatus(contract, account, signed.nonce),
    (s) => s.state === 'executed', chainMs);
  expect(status.intent_hash === id, `settle: nonce_status names this intent (${status.intent_hash})`);
  await page.waitForSelector(`li.rec[data-id="${id}"][data-state="executed"]`, { timeout: chainMs });
  expect(true, 'settle: the page shows the intent executed');
  const ledger2 = await poll(`settle: the ledger debits ${o.pay} NEAR from the wallet account`, () => rpc.ledgerNear(contract, account), (v) => v === ledger1 - pay, chainMs);
  const receiver1 = await rpc.ledgerNear(contract, receiver);
  expect(receiver1 === receiver0 + pay, `settle: ${receiver} is credited ${o.pay} NEAR in the ledger (${receiver0} -> ${receiver1})`);
  await o.screenshot('wallet-journey-settled');
  return { walletPk, devicePk, implicit, intent: { id, nonce: signed.nonce, signed }, ledger: { afterDeposit: String(ledger1), afterPayment: String(ledger2), receiver: String(receiver1) }, recordCost: String(recordCost) };
}
