// The board's JSON requests. Staff pages send the session cookie only to their own origin
// (credentials 'same-origin'); the cookie is SameSite=Strict and every change is a JSON body
// (Content-Type: application/json, which a cross-site form cannot send), as auth.js signs in.
// The answer is always { ok, status, data } or { ok: false, status, error } with a message a
// supervisor can act on, so no failure is silent.

const NETWORK = 'We could not reach the service. Check your connection and try again.';
const SERVICE = 'Sorry, there is a problem with the service. Try again later.';

/** GET a JSON document. */
export function getJSON(url) {
  return send(url, { method: 'GET', cache: 'no-store' });
}

/** POST a JSON body. */
export function postJSON(url, body) {
  return send(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, {
      ...init,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...(init.headers || {}) },
    });
  } catch {
    return { ok: false, status: 0, error: NETWORK };
  }
  const data = await res.json().catch(() => null);
  if (res.ok && data && typeof data === 'object') return { ok: true, status: res.status, data };
  return { ok: false, status: res.status, error: problem(res.status, data) };
}

/** What went wrong, in words: the server's own message where it gives one. */
function problem(status, data) {
  const said = data && typeof data === 'object' ? data.error || data.message : null;
  if (status === 401) return 'You have been signed out. Reload the page and sign in again.';
  if (status === 403) return said || 'Only a supervisor or an admin can do this.';
  if (status >= 400 && status < 500 && typeof said === 'string' && said) return said;
  if (status === 404) return 'That could not be found. It may have been removed.';
  return SERVICE;
}
