// The page's entry point (a file, not an inline script, so the CSP can forbid inline scripts).
import init from './outpost_client_app.js';
// The service worker keeps the app itself available offline (reload with no network).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((e) => console.warn('no offline cache:', e));
}
await init();
