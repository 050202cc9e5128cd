// Browser test: the wasm node in headless Chromium publishes to a native node over WebSocket;
// the native node validates and forwards valid intents to a second native node, and rejects
// forged and expired ones at the first hop.
//
//   page (wasm, websocket-websys) --ws--> B (outpost-node) --tcp--> C (outpost-node)
//
// Then an https page (served with a certificate this test makes with openssl, which Chromium
// accepts by its SPKI hash) publishes over secure WebSocket, `/dns4/localhost/tcp/P/tls/ws`:
//
//   https page --wss (/tls/ws)--> B --tcp--> C
//
// And a page between B and a node D forwards B's traffic to D at its configured rate only.
//
// Usage: node run.mjs <outpost-node binary> <wasm-bindgen pkg dir>
// Everything listens on 127.0.0.1 only.
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { chromium } from 'playwright-core';
import { children, freePort, startNode as start } from './outpost-node.mjs';

const [bin, pkgDir] = process.argv.slice(2);
if (!bin || !pkgDir) {
  console.error('usage: node run.mjs <outpost-node binary> <wasm-bindgen pkg dir>');
  process.exit(2);
}
const CHAIN = 'localnet';
const CONTRACT = 'intents.outpost.test.near'; // outpost_p2p::testkit::CONTRACT
const work = mkdtempSync(join(tmpdir(), 'outpost-browser-test-'));
const startNode = async (name, args) => (await start(bin, name, args)).peerId;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function getJson(url) {
  const r = await fetch(url);
  return { status: r.status, body: r.status === 200 ? await r.json() : null };
}

async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** A self-signed certificate for localhost and 127.0.0.1, and its SPKI sha256 (base64). */
function makeCertificate(dir) {
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  const spki = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  return { cert, key, spki: createHash('sha256').update(spki).digest('base64') };
}

function serveStatic(dir, tls) {
  const server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler(dir))
    : createServer(handler(dir));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function handler(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  return (req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0];
    try {
      const file = path === '/index.html' ? join(import.meta.dirname, 'index.html') : join(dir, path);
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  };
}

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

let browser;
const servers = [];
try {
  const [bTcp, bWs, bWss, bHttp, cTcp, cHttp, dWs, dHttp] = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(freePort));
  const tls = makeCertificate(work);
  const common = ['--chain-id', CHAIN, '--contract', CONTRACT];
  const bId = await startNode('B', [...common, '--identity-file', join(work, 'b.key'),
    '--listen', `/ip4/127.0.0.1/tcp/${bTcp}`, '--listen', `/ip4/127.0.0.1/tcp/${bWs}/ws`, '--http', `127.0.0.1:${bHttp}`,
    '--listen', `/ip4/127.0.0.1/tcp/${bWss}/tls/ws`, '--tls-cert', tls.cert, '--tls-key', tls.key,
    // This test polls B's API and posts 30 intents from one address; the HTTP limit has its own tests.
    '--http-rate', '0']);
  await startNode('C', [...common, '--identity-file', join(work, 'c.key'),
    '--listen', `/ip4/127.0.0.1/tcp/${cTcp}`, '--http', `127.0.0.1:${cHttp}`,
    '--bootstrap', `/ip4/127.0.0.1/tcp/${bTcp}/p2p/${bId}`]);

  const server = await serveStatic(pkgDir);
  servers.push(server);
  const pageUrl = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(join(work, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Accept the test's certificate (and only it) for the https page and the wss connection.
      `--ignore-certificate-errors-spki-list=${tls.spki}`],
  });
  browser = context;
  const page = await context.newPage();
  page.on('console', (m) => console.log(`  [page] ${m.text()}`));
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.outpostReady === true, null, { timeout: 30000 });

  const peer = `/ip4/127.0.0.1/tcp/${bWs}/ws/p2p/${bId}`;
  const result = await page.evaluate(async ({ peer, chain, contract }) => {
    const { OutpostNode, test_intent, test_forged_intent, test_expired_intent } = window.outpost;
    const node = OutpostNode.start(chain, contract, [peer]);
    const events = [];
    const waitFor = async (kind, ms) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        for (const e of node.take_events()) events.push(JSON.parse(e));
        if (events.some((e) => e.kind === kind)) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    };
    const subscribed = await waitFor('peer_subscribed', 15000);
    // The page's own check refuses a forged intent before it goes anywhere.
    let refused = '';
    try { node.publish_intent(test_forged_intent(2)); } catch (e) { refused = String(e); }
    const valid = node.publish_intent(test_intent(1));
    const forged = node.publish_unchecked(test_forged_intent(2));
    const expired = node.publish_unchecked(test_expired_intent(3));
    await waitFor('published', 5000);
    return { subscribed, refused, valid, forged, expired, peerId: node.peer_id(), events };
  }, { peer, chain: CHAIN, contract: CONTRACT });

  check(result.subscribed, `the page connected to B over WebSocket and saw it subscribe (page peer ${result.peerId})`);
  check(result.refused.includes('SIGNATURE_INVALID'), `the page's own validation refuses a forged intent (${result.refused})`);

  let atC = { status: 0 };
  for (let i = 0; i < 100 && atC.status !== 200; i++) {
    await sleep(100);
    atC = await getJson(`http://127.0.0.1:${cHttp}/intents/${result.valid}`);
  }
  check(atC.status === 200 && atC.body.status === 'pending', 'the valid intent from the page was validated by B and forwarded to C');
  const atB = await getJson(`http://127.0.0.1:${bHttp}/intents/${result.valid}`);
  check(atB.status === 200, 'B accepted the valid intent');

  let rejected = 0;
  for (let i = 0; i < 50 && rejected < 2; i++) {
    await sleep(100);
    rejected = (await metric(bHttp, 'outpost_gossip_rejected_total{code="SIGNATURE_INVALID"}'))
      + (await metric(bHttp, 'outpost_gossip_rejected_total{code="DEADLINE_EXPIRED"}'));
  }
  check(rejected === 2, 'B rejected the forged and the expired intent (outpost_gossip_rejected_total)');
  await sleep(500);
  for (const [what, hash] of [['forged', result.forged], ['expired', result.expired]]) {
    const r = await getJson(`http://127.0.0.1:${cHttp}/intents/${hash}`);
    check(r.status === 404, `the ${what} intent never reached C`);
  }
  check((await metric(cHttp, 'outpost_gossip_rejected_total')) === 0, 'C never had to reject anything');

  // ---- An https page over secure WebSocket (/tls/ws) ----
  const httpsServer = await serveStatic(pkgDir, tls);
  servers.push(httpsServer);
  const httpsPage = await context.newPage();
  httpsPage.on('console', (m) => console.log(`  [https page] ${m.text()}`));
  await httpsPage.goto(`https://localhost:${httpsServer.address().port}/`);
  await httpsPage.waitForFunction(() => window.outpostReady === true, null, { timeout: 30000 });
  check(await httpsPage.evaluate(() => location.protocol === 'https:' && window.isSecureContext), 'the second page is served over https');
  const wssPeer = `/dns4/localhost/tcp/${bWss}/tls/ws/p2p/${bId}`;
  const overTls = await httpsPage.evaluate(async ({ peer, chain, contract }) => {
    const { OutpostNode, test_intent } = window.outpost;
    const node = OutpostNode.start(chain, contract, [peer]);
    const events = [];
    const end = Date.now() + 15000;
    while (Date.now() < end && !events.some((e) => e.kind === 'peer_subscribed')) {
      for (const e of node.take_events()) events.push(JSON.parse(e));
      await new Promise((r) => setTimeout(r, 20));
    }
    const hash = node.publish_intent(test_intent(11));
    return { subscribed: events.some((e) => e.kind === 'peer_subscribed'), hash, events };
  }, { peer: wssPeer, chain: CHAIN, contract: CONTRACT });
  check(overTls.subscribed, `the https page connected to B over ${wssPeer} (wss) and saw it subscribe`);
  let tlsAtC = { status: 0 };
  for (let i = 0; i < 100 && tlsAtC.status !== 200; i++) {
    await sleep(100);
    tlsAtC = await getJson(`http://127.0.0.1:${cHttp}/intents/${overTls.hash}`);
  }
  check(tlsAtC.status === 200, 'the intent the https page published over /tls/ws was validated by B and reached C');

  // ---- A browser forwards others' traffic at a bounded rate ----
  // The page is the only path from B to D; it may forward 2 messages/s after a burst of 5.
  const dId = await startNode('D', [...common, '--identity-file', join(work, 'd.key'),
    '--listen', `/ip4/127.0.0.1/tcp/${dWs}/ws`, '--http', `127.0.0.1:${dHttp}`]);
  const relayPage = await context.newPage();
  await relayPage.goto(pageUrl);
  await relayPage.waitForFunction(() => window.outpostReady === true, null, { timeout: 30000 });
  const intents = await relayPage.evaluate(async ({ peers, chain, contract }) => {
    const { OutpostNode, test_intent } = window.outpost;
    window.relay = OutpostNode.start_with_forward_limit(chain, contract, peers, 2, 5);
    const subscribed = new Set();
    const end = Date.now() + 15000;
    while (Date.now() < end && subscribed.size < 2) {
      for (const e of window.relay.take_events().map((x) => JSON.parse(x))) if (e.kind === 'peer_subscribed') subscribed.add(e.peer);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (subscribed.size < 2) return null;
    return Array.from({ length: 30 }, (_, i) => test_intent(100 + i));
  }, { peers: [`/ip4/127.0.0.1/tcp/${bWs}/ws/p2p/${bId}`, `/ip4/127.0.0.1/tcp/${dWs}/ws/p2p/${dId}`], chain: CHAIN, contract: CONTRACT });
  check(intents !== null, 'the relaying page joined B and D');
  await sleep(1000); // let the page's meshes with B and D form (gossipsub heartbeat)
  const t0 = Date.now();
  for (const body of intents) {
    const r = await fetch(`http://127.0.0.1:${bHttp}/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (r.status !== 202) throw new Error(`POST to B: ${r.status} ${await r.text()}`);
  }
  await sleep(3000);
  const forwarded = await metric(dHttp, 'outpost_gossip_accepted_total');
  const allowed = 5 + 2 * ((Date.now() - t0) / 1000 + 1);
  check(forwarded >= 1 && forwarded <= allowed,
    `the page forwarded ${forwarded} of B's 30 intents to D in ${((Date.now() - t0) / 1000).toFixed(1)} s (budget: 5 + 2/s, at most ${allowed.toFixed(0)})`);
  console.log('browser test passed');
} catch (e) {
  console.error(e.stack ?? String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const s of servers) s.close();
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
