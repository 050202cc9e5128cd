// Keeps the app shell available offline: install caches these files, fetch answers them from the
// cache first. Nothing else (relayer, RPC) is cached. VERSION is replaced by the build script with
// a hash of the build, so a new build replaces the old cache. network.json is the exception:
// network first (a deploy's new RPC, contract or relayer reaches returning users at once), the
// cached copy only when offline.
const VERSION = '__OUTPOST_BUILD__';
// wasm-bindgen's snippets (snippets/<crate>-<hash>/*.js, imported by the glue) are listed by the
// build script in place of the marker.
const SHELL = ['./', './index.html', './style.css', './outpost_client_app.js', './outpost_client_app_bg.wasm', './main.js', './worker.js', './wallet.js', './network.json'/*__OUTPOST_SNIPPETS__*/];
// A request's path relative to the worker's folder, `./x` (the dApp may live under a sub-path).
const BASE = new URL('./', self.location.href).pathname;
self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(VERSION).then((c) => Promise.all(SHELL.map((u) => c.add(u).catch(() => null)))).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(BASE)) return;
  const path = './' + url.pathname.slice(BASE.length);
  if (!SHELL.includes(path === './' ? './' : path)) return;
  if (path === './network.json') {
    e.respondWith(
      fetch(e.request)
        .then((res) => {
          if (res.ok) {
            const copy = res.clone();
            caches.open(VERSION).then((c) => c.put('./network.json', copy));
          }
          return res;
        })
        .catch(() => caches.match('./network.json').then((hit) => hit || Response.error())),
    );
    return;
  }
  e.respondWith(caches.match(e.request, { ignoreSearch: true }).then((hit) => hit || fetch(e.request)));
});
