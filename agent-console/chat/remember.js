// "Remember this device": the random key a citizen chose to keep in this browser, sent as
// citizen_key in chat.start so that routing tries the adviser of their last chat first
// (docs/routing.md "Returning citizens"; the server keeps only its SHA-256).
// Opt-in: storing an identifier on the citizen's device for a convenience needs their consent
// (PECR regulation 6), so nothing is stored or sent unless they tick the box.
// localStorage may be blocked (private browsing, settings, third-party frames): then the chat
// simply goes without a key.

const KEY = 'contactd.citizen_key';
const MIN_LENGTH = 16; // what the server accepts (docs/protocol.md, chat.start)
const MAX_LENGTH = 100;

/** The key this browser keeps, or null (none kept, not usable, or storage blocked). */
export function storedKey() {
  let key = null;
  try {
    key = localStorage.getItem(KEY);
  } catch {
    return null;
  }
  return key && key.length >= MIN_LENGTH && key.length <= MAX_LENGTH ? key : null;
}

/**
 * The citizen_key for chat.start. remember: the box is ticked, so reuse the kept key or keep a new
 * one (null if it cannot be kept: a key that is not remembered would never be sent again).
 * Not ticked: forget any kept key and send none.
 */
export function citizenKey(remember) {
  if (!remember) {
    forgetKey();
    return null;
  }
  const kept = storedKey();
  if (kept) return kept;
  const key = newKey();
  if (!key) return null;
  try {
    localStorage.setItem(KEY, key);
  } catch {
    return null;
  }
  return storedKey() === key ? key : null;
}

/** Removes the kept key (the citizen unticked the box). */
export function forgetKey() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    /* storage blocked: nothing can have been kept */
  }
}

/** A random key: a UUID (36 characters), else 32 hex digits, else null without a random source. */
function newKey() {
  const cryptoApi = globalThis.crypto;
  if (typeof cryptoApi?.randomUUID === 'function') return cryptoApi.randomUUID();
  if (typeof cryptoApi?.getRandomValues !== 'function') return null;
  const bytes = cryptoApi.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
