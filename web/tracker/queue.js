// The send queue: every event is written to localStorage first (bounded; oldest dropped first), so it
// survives reloads and offline periods, and leaves it only when the server has answered for it (a
// receipt: accepted, duplicate or rejected) or the browser has taken it in a beacon. Each event has
// a client event_id, so a resend after a lost answer is recognised by the server (deduplication).
import { del, getJSON, set } from './storage.js';

const kKey = '_ca_q';
const kBeaconBytes = 60000; // browsers cap a page's pending beacons (and keepalive fetches) at 64 KiB

/**
 * o: {url, writeKey, flushAt, flushInterval, maxEvents, maxBytes, backoff, maxBackoff,
 *     active() -> bool}. Returns {push, flush, beacon, online, clear, size}.
 */
export function createQueue(o) {
  let sending = false;
  let timer = 0;
  let timerAt = 0;
  let retryAt = 0;
  let attempt = 0;
  let chunk = 100; // events per request; halved on 413
  let down = false; // offline, or the last attempt failed: a beacon would likely be lost

  const load = () => {
    const q = getJSON(kKey, []);
    return Array.isArray(q) ? q : [];
  };

  function save(q) {
    const sizes = q.map((e) => JSON.stringify(e).length + 1);
    let total = sizes.reduce((a, b) => a + b, 2);
    let drop = 0;
    while (q.length - drop > o.maxEvents || (total > o.maxBytes && drop < q.length)) total -= sizes[drop++];
    q = q.slice(drop);
    while (!set(kKey, JSON.stringify(q)) && q.length) q = q.slice(Math.ceil(q.length / 4));
    if (drop) console.warn(`ca: queue full, dropped the ${drop} oldest event(s)`);
    return q;
  }

  const remove = (batch) => {
    const ids = new Set(batch.map((e) => e.event_id));
    save(load().filter((e) => !ids.has(e.event_id)));
  };

  function schedule(ms) {
    const at = Date.now() + ms;
    if (timer && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = 0;
      flush();
    }, ms);
  }

  const body = (events) =>
    JSON.stringify({ write_key: o.writeKey, sent_at: new Date().toISOString(), events });

  // Milliseconds a 429/503 asks us to wait (seconds or an HTTP date), if the header is readable.
  function retryAfter(res) {
    const h = res && res.headers.get('retry-after');
    if (!h) return -1;
    const ms = isNaN(h) ? Date.parse(h) - Date.now() : h * 1000;
    return ms >= 0 ? Math.min(ms, 3600000) : -1;
  }

  async function flush() {
    if (sending || !o.active()) return;
    const wait = retryAt - Date.now();
    if (wait > 0) return schedule(wait);
    if (navigator.onLine === false) return; // the 'online' event flushes
    const batch = load().slice(0, chunk);
    if (!batch.length) return;
    sending = true;
    let res = null;
    let status = 0;
    try {
      const b = body(batch);
      // text/plain (fetch's default for a string) is a simple request: no CORS preflight.
      res = await fetch(o.url, {
        method: 'POST',
        body: b,
        keepalive: b.length < kBeaconBytes,
        credentials: 'omit',
      });
      status = res.status;
    } catch (e) {}
    sending = false;
    if (status == 413 && batch.length > 1) {
      chunk = Math.ceil(batch.length / 2);
      return flush();
    }
    if (!status || status == 408 || status == 429 || status >= 500) {
      // Nothing in the request was acknowledged: resend it as it is, after a backoff with jitter.
      down = true;
      const ra = retryAfter(res);
      const backoff = Math.min(o.maxBackoff, o.backoff * 2 ** attempt++);
      const delay = ra >= 0 ? ra : backoff / 2 + (Math.random() * backoff) / 2;
      retryAt = Date.now() + delay;
      return schedule(delay);
    }
    attempt = 0;
    retryAt = 0;
    down = false;
    // 2xx: every event has its receipt (accepted, duplicate or rejected for good); other 4xx
    // (bad key, origin not allowed, malformed) would fail the same way again. Either way: done.
    if (status >= 300) console.warn(`ca: ${batch.length} event(s) refused, HTTP ${status}`);
    else {
      res.json().then((r) => {
        for (const x of r.rejected || []) {
          console.warn(`ca: event ${batch[x.index].type} rejected: ${x.code}: ${x.message}`);
        }
      }, () => {});
    }
    if (o.active()) remove(batch);
    const n = load().length;
    if (n >= o.flushAt || (n && batch.length == chunk)) flush();
    else if (n) schedule(o.flushInterval);
  }

  function push(e) {
    const n = save(load().concat([e])).length;
    if (n >= o.flushAt) flush();
    else schedule(o.flushInterval);
  }

  // The page is being hidden or unloaded: hand everything queued to the browser, which sends it
  // even after the page is gone. Its answer cannot be read, so a beacon the browser accepts counts
  // as delivered. Offline, or while the server is failing, the events stay queued for the next page.
  function beacon() {
    if (!o.active() || down || navigator.onLine === false || !navigator.sendBeacon) return;
    let q = load();
    while (q.length) {
      let n = Math.min(q.length, chunk);
      let b;
      while ((b = body(q.slice(0, n))).length > kBeaconBytes && n > 1) n >>= 1;
      if (!navigator.sendBeacon(o.url, b)) break;
      remove(q.slice(0, n));
      q = q.slice(n);
    }
  }

  return {
    push,
    flush,
    beacon,
    online() {
      retryAt = 0;
      down = false;
      flush();
    },
    offline() {
      down = true;
    },
    clear() {
      clearTimeout(timer);
      timer = 0;
      retryAt = 0;
      attempt = 0;
      del(kKey);
    },
    size: () => load().length,
  };
}
