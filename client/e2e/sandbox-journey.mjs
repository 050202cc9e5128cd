// Tier 2's wallet journey: the dApp in headless Chromium against a real NEAR sandbox.
//   OUTPOST_SANDBOX_NETWORK='<json>' node sandbox-journey.mjs <built dApp folder> <artifacts folder>
// The network description (JSON text, or the path of a JSON file):
//   rpc_url           the sandbox's JSON-RPC (the page and the test wallet call it from the browser)
//   intents_contract  the deployed intents contract
//   relayer_url       an outpost-node --relayer HTTP API (CORS), which settles the journey's intent
//   wallet_account    the test wallet's account (client/e2e/test-wallet signs as carol.test.near),
//                     created with the wallet's key and NEAR, with nothing in the ledger yet
//   receiver          the account the journey pays
//   chain_id          (localnet), deposit_near (2), pay_near (0.5), wallet_near (its NEAR before
//                     the journey, checked when given), chain_timeout_ms (120000)
// Serves the dApp, the test wallet and a network.json on 127.0.0.1, runs wallet-journey.mjs, and
// writes screenshots and journey.json (what it did: keys, the paid intent, balances) to the
// artifacts folder. Exits 0 only when every check passed and no page or frame reported a CSP
// violation; 1 on a failed check, 2 on a bad invocation.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { walletJourney, Rpc } from './wallet-journey.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const TEST_WALLET = path.join(HERE, 'test-wallet');
const WALLET_ACCOUNT = 'carol.test.near'; // test-wallet/executor.js
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const log = (...a) => console.log(`[sandbox-journey ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function usage(why) {
  console.error(`sandbox-journey: ${why}\nusage: OUTPOST_SANDBOX_NETWORK='<json or file>' node sandbox-journey.mjs <built dApp folder> <artifacts folder>`);
  process.exit(2);
}

const [distArg, artArg] = process.argv.slice(2);
if (!distArg || !artArg) usage('two arguments are needed');
const DIST = path.resolve(distArg);
const ART = path.resolve(artArg);
if (!fs.existsSync(path.join(DIST, 'index.html')) || !fs.existsSync(path.join(DIST, 'wallet.js'))) usage(`${DIST} is not a built dApp (no index.html or wallet.js; run scripts/build-client.sh)`);
if (!fs.existsSync(CHROMIUM)) usage(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
const raw = process.env.OUTPOST_SANDBOX_NETWORK;
if (!raw) usage('OUTPOST_SANDBOX_NETWORK is not set');
let net;
try {
  net = JSON.parse(raw.trim().startsWith('{') ? raw : fs.readFileSync(raw, 'utf8'));
} catch (e) {
  usage(`OUTPOST_SANDBOX_NETWORK is neither JSON nor a readable JSON file: ${e.message}`);
}
for (const k of ['rpc_url', 'intents_contract', 'relayer_url', 'wallet_account', 'receiver']) if (!net[k]) usage(`the network description has no ${k}`);
if (net.wallet_account !== WALLET_ACCOUNT) usage(`the test wallet signs as ${WALLET_ACCOUNT}, not ${net.wallet_account}`);
fs.mkdirSync(ART, { recursive: true });
for (const f of fs.readdirSync(ART)) if (f.endsWith('.png') || f === 'journey.json') fs.rmSync(path.join(ART, f));

function expect(cond, what) {
  if (!cond) throw new Error(`expectation failed: ${what}`);
  log('ok:', what);
}

// The dApp, the test wallet and network.json, on one loopback origin.
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
const networkJson = {
  networks: [{
    name: 'sandbox', chain_id: net.chain_id || 'localnet', rpc_url: net.rpc_url, intents_contract: net.intents_contract,
    relayer_url: net.relayer_url, peers: [], wallet_manifest: '/test-wallet/manifest.json',
  }],
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/network.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(networkJson));
  }
  const root = url.pathname.startsWith('/test-wallet/') ? TEST_WALLET : DIST;
  const rel = url.pathname.startsWith('/test-wallet/') ? path.basename(url.pathname) : url.pathname === '/' ? 'index.html' : path.normalize(url.pathname);
  const file = path.join(root, rel);
  if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
  res.end(fs.readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const BASE = `http://127.0.0.1:${server.address().port}`;

const cspViolations = [];
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-sandbox-journey-'));
let context;
let page;
let shot = 0;
const screenshot = async (name) => page.screenshot({ path: path.join(ART, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
let code = 1;
try {
  log('dApp at', BASE, 'network', JSON.stringify(networkJson.networks[0]));
  // The relayer is up and in relayer mode before a page depends on it.
  const health = await fetch(`${net.relayer_url.replace(/\/$/, '')}/health`).then(async (r) => ({ status: r.status, body: await r.json() }));
  expect(health.status === 200 && health.body.status === 'ok' && health.body.relayer === true, `relayer: ${net.relayer_url}/health is ok, in relayer mode (${JSON.stringify(health.body)})`);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => log('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) log('HTTP', r.status(), r.url()); });
  const result = await walletJourney({
    page, base: BASE, rpc: new Rpc(net.rpc_url), contract: net.intents_contract, account: net.wallet_account, receiver: net.receiver,
    deposit: net.deposit_near || '2', pay: net.pay_near || '0.5', walletNear: net.wallet_near, passphrase: 'correct horse battery staple',
    expect, screenshot, chainMs: Number(net.chain_timeout_ms || 120_000),
  });
  expect(cspViolations.length === 0, `CSP: no page or frame reported a violation (${cspViolations.length}: ${cspViolations.slice(0, 2).join(' | ')})`);
  fs.writeFileSync(path.join(ART, 'journey.json'), JSON.stringify({ network: networkJson.networks[0], ...result }, null, 2));
  log('PASSED: the wallet journey on', net.rpc_url);
  code = 0;
} catch (e) {
  console.error(`[sandbox-journey] FAILED: ${e.stack || e.message}`);
  if (cspViolations.length) console.error(`[sandbox-journey] CSP violations: ${cspViolations.join(' | ')}`);
  try {
    if (page) {
      await screenshot('failure');
      const records = await page.evaluate(() => new Promise((resolve) => {
        const open = indexedDB.open('outpost');
        open.onsuccess = () => {
          try {
            const req = open.result.transaction('queue').objectStore('queue').getAll();
            req.onsuccess = () => resolve(req.result.map((r) => JSON.parse(r.json)).map((r) => [r.id, r.summary, r.state, r.last_error]));
          } catch (err) { resolve(String(err)); }
        };
        open.onerror = () => resolve('no database');
      }));
      console.error('[sandbox-journey] queue records:', JSON.stringify(records));
      console.error('[sandbox-journey] wallet message:', await page.locator('#wallet-msg').first().textContent({ timeout: 1000 }).catch(() => '(none)'));
    }
  } catch (e2) { console.error('[sandbox-journey] no diagnostics:', e2.message); }
} finally {
  if (context) await context.close().catch(() => {});
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
