// Small DOM and formatting helpers shared by the console, the board and the chat page.
// Everything that puts text on the page uses textContent (via el()), never innerHTML.

/** Returns the element with this id, or throws so a broken page fails loudly. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`Missing element #${id}`);
  return node;
}

/**
 * Creates an element. props: "text" sets textContent, "on<event>" adds a listener,
 * true sets an empty attribute, null/undefined/false are skipped, anything else is an attribute.
 * children: nodes or strings (strings become text nodes, so they are never parsed as HTML).
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

/** Sets textContent only when it changed, so screen readers and selections are not disturbed. */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

const pad = (n) => String(n).padStart(2, '0');

/** Parses an ISO 8601 string; returns a Date or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Local HH:MM. */
export function formatHM(date) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Local HH:MM:SS. */
export function formatHMS(date) {
  return `${formatHM(date)}:${pad(date.getSeconds())}`;
}

/** Seconds as m:ss (or h:mm:ss when an hour or more if longForm); "–" when unknown. */
export function formatDuration(seconds, longForm = false) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '–';
  const total = Math.max(0, Math.round(Number(seconds)));
  const mins = Math.floor(total / 60);
  if (longForm && mins >= 60) return `${Math.floor(mins / 60)}:${pad(mins % 60)}:${pad(total % 60)}`;
  return `${mins}:${pad(total % 60)}`;
}

/**
 * Returns announce(message) for a live region. Each message is added as its own
 * paragraph (so two quick messages are both read) and removed again later.
 */
export function createAnnouncer(region, keepMs = 15000) {
  return (message) => {
    if (!message) return;
    const line = el('p', { text: message });
    region.append(line);
    while (region.childElementCount > 5) region.firstElementChild.remove();
    setTimeout(() => line.remove(), keepMs);
  };
}

/** True when keyboard focus is in a field the user types into (so we must not steal focus). */
export function isEditingText() {
  const active = document.activeElement;
  if (!active) return false;
  if (active.isContentEditable || active.tagName === 'TEXTAREA') return true;
  const nonText = ['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'color', 'file', 'image'];
  return active.tagName === 'INPUT' && !nonText.includes(active.type);
}

/** A random UUID. crypto.randomUUID only exists on https/localhost, so fall back to getRandomValues. */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Moves focus to a node, making it focusable by script if it is not already. */
export function focusNode(node) {
  if (!node) return;
  if (!node.hasAttribute('tabindex') && node.tabIndex < 0) node.setAttribute('tabindex', '-1');
  node.focus();
}

/** Marks a button busy without disabling it (disabling would drop keyboard focus). */
export function setBusy(button, busy, busyLabel) {
  if (busy) {
    if (!button.dataset.idleLabel) button.dataset.idleLabel = button.textContent;
    button.setAttribute('aria-disabled', 'true');
    if (busyLabel) button.textContent = busyLabel;
  } else {
    button.removeAttribute('aria-disabled');
    if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
    delete button.dataset.idleLabel;
  }
}

/** True when a button was marked busy with setBusy. */
export function isBusy(button) {
  return button.getAttribute('aria-disabled') === 'true';
}

/** Fetches the public queue list; returns [] when it cannot. */
export async function fetchQueues() {
  try {
    const res = await fetch('/api/queues', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) return [];
    const body = await res.json();
    return Array.isArray(body.queues) ? body.queues.filter((q) => q && typeof q.name === 'string') : [];
  } catch {
    return [];
  }
}
