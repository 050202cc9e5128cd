// Browser test: the wasm node in headless Chromium publishes to a native node over WebSocket;
// the native node validates and forwards valid intents to a second native node, and rejects
// forged and expired ones at the first hop.
//
//   page (wasm, websocket-websys) --ws--> B (outpost-node) --tcp--> C (outpost-node)
//
// Usage: node run.mjs <outpost-node binary> <wasm-bindgen pkg dir>
// Everything listens on 127.0.0.1 only.
import { createServer } from 'node:http';
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

function serveStatic(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0];
    try {
      const file = path === '/index.html' ? join(import.meta.dirname, 'index.html') : join(dir, path);
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

let browser;
let server;
try {
  const [bTcp, bWs, bHttp, cTcp, cHttp] = await Promise.all([1, 2, 3, 4, 5].map(freePort));
  const common = ['--chain-id', CHAIN, '--contract', CONTRACT];
  const bId = await startNode('B', [...common, '--identity-file', join(work, 'b.key'),
    '--listen', `/ip4/127.0.0.1/tcp/${bTcp}`, '--listen', `/ip4/127.0.0.1/tcp/${bWs}/ws`, '--http', `127.0.0.1:${bHttp}`]);
  await startNode('C', [...common, '--identity-file', join(work, 'c.key'),
    '--listen', `/ip4/127.0.0.1/tcp/${cTcp}`, '--http', `127.0.0.1:${cHttp}`,
    '--bootstrap', `/ip4/127.0.0.1/tcp/${bTcp}/p2p/${bId}`]);

  server = await serveStatic(pkgDir);
  const pageUrl = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(join(work, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
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
  console.log('browser test passed');
} catch (e) {
  console.error(e.stack ?? String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) server.close();
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
