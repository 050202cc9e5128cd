// The key worker: Argon2id (creating and unlocking the key) off the page's thread. It loads the
// dApp's own wasm (already in the browser's cache) and runs one request per message:
// {id, op: 'unlock', args: [vaultJson, passphrase]} or {id, op: 'seal', args: [secretKey,
// passphrase, namedAccount]} → {id, ok} | {id, error} (a refusal in words) | {id, failed} (the
// worker itself could not run: the page then does it).
import init, { kdfUnlock, kdfSeal } from './outpost_client_app.js';
const ready = init();
self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    await ready;
  } catch (err) {
    self.postMessage({ id, failed: String(err?.message || err) });
    return;
  }
  try {
    self.postMessage({ id, ok: op === 'unlock' ? kdfUnlock(...args) : kdfSeal(...args) });
  } catch (err) {
    self.postMessage({ id, error: String(err?.message || err) });
  }
};
