// A WebSocket that speaks JSON frames and reconnects with backoff (1 s, 2 s, 4 s … max 15 s).

const MAX_DELAY_MS = 15000;

/** ws:// or wss:// URL for a path on this host. */
export function socketUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/**
 * Opens a reconnecting socket.
 * options.onMessage(frame)   each JSON frame that has a string "type"
 * options.onOpen()           after every (re)connect
 * options.onStatus(state, attempt)  'open' | 'reconnecting' | 'closed'
 * Returns { send(obj) -> boolean, close(), isOpen() }.
 */
export function openSocket(path, { onMessage, onOpen, onStatus } = {}) {
  let ws = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    timer = null;
    ws = new WebSocket(socketUrl(path));
    ws.addEventListener('open', handleOpen);
    ws.addEventListener('message', handleMessage);
    ws.addEventListener('close', handleClose);
  }

  function handleOpen() {
    attempt = 0;
    onStatus?.('open', 0);
    onOpen?.();
  }

  function handleMessage(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame && typeof frame.type === 'string') onMessage?.(frame);
  }

  function handleClose(event) {
    if (event.target !== ws) return;
    ws = null;
    if (stopped) return;
    const delay = Math.min(1000 * 2 ** attempt, MAX_DELAY_MS);
    attempt += 1;
    onStatus?.('reconnecting', attempt);
    timer = setTimeout(connect, delay);
  }

  connect();

  return {
    send(frame) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(frame));
      return true;
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      const current = ws;
      ws = null;
      if (current) current.close(1000);
      onStatus?.('closed', 0);
    },
    isOpen() {
      return Boolean(ws && ws.readyState === WebSocket.OPEN);
    },
  };
}

/** Shows or hides a "Reconnecting…" banner element for a socket status. */
export function showConnectionState(banner, state, text = 'Connection lost. Reconnecting…') {
  if (state === 'reconnecting') {
    banner.hidden = false;
    if (banner.textContent !== text) banner.textContent = text;
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
}
