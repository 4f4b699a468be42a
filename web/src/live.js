// Live updates from GET /dashboard/live (docs/api/live.md): a WebSocket when the browser and the
// path allow it, else Server-Sent Events on the same URL. The token travels as `access_token`
// because neither WebSocket nor EventSource can send an Authorization header. Reconnects with
// backoff; messages are JSON objects with a `kind` ("hello", "event", "stats").

/**
 * Subscribes to `topic` ("user" | "admin"). `onMessage(msg)` gets every parsed message,
 * `onState(state, transport)` "connecting" | "live" | "offline". Answers {close()}.
 */
export function connectLive({ topic, token, onMessage, onState = () => {} }) {
  const query = `topic=${encodeURIComponent(topic)}&access_token=${encodeURIComponent(token)}`;
  const path = `/dashboard/live?${query}`;
  let closed = false;
  let source = null;
  let retry = 0;
  let timer = 0;
  let useSse = typeof WebSocket === 'undefined';

  const deliver = (text) => {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg && typeof msg === 'object') onMessage(msg);
  };

  const again = () => {
    if (closed) return;
    onState('offline', useSse ? 'sse' : 'websocket');
    const delay = Math.min(15000, 500 * 2 ** retry++);
    timer = setTimeout(open, delay);
  };

  function openWebSocket() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}${path}`);
    let opened = false;
    source = ws;
    ws.onopen = () => {
      opened = true;
      retry = 0;
      onState('live', 'websocket');
    };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') deliver(e.data);
    };
    ws.onclose = () => {
      if (source !== ws) return;
      source = null;
      // Never opened: the server (or a proxy) does not upgrade; use SSE from now on.
      if (!opened) useSse = true;
      again();
    };
  }

  function openSse() {
    const es = new EventSource(path);
    source = es;
    es.onopen = () => {
      retry = 0;
      onState('live', 'sse');
    };
    es.onmessage = (e) => deliver(e.data);
    es.onerror = () => {
      if (source !== es) return;
      es.close();
      source = null;
      again();
    };
  }

  function open() {
    if (closed) return;
    onState('connecting', useSse ? 'sse' : 'websocket');
    if (useSse) openSse();
    else openWebSocket();
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      const s = source;
      source = null;
      s?.close();
    },
  };
}
