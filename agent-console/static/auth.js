// Sign-in, sign-out and "who am I" for the staff pages (agent console and queue board).
// Page contract: views are elements with [data-view] (only one shown at a time), plus
// form#login-form, input#username, input#password, button#login-button, #login-error,
// #user-bar containing [data-user-name] and button#logout-button, and #loading-message.

import { byId, focusNode, setBusy, isBusy } from './dom.js';

/** GET /api/me: the body, or null when not signed in. Throws when the service fails. */
export async function fetchMe() {
  const res = await fetch('/api/me', {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`GET /api/me failed with ${res.status}`);
  return res.json();
}

/** Shows the view with this id and hides the others; points the skip link at it. */
export function showView(id) {
  for (const view of document.querySelectorAll('[data-view]')) view.hidden = view.id !== id;
  const skip = document.querySelector('.skip-link');
  if (skip) skip.setAttribute('href', `#${id}`);
}

/**
 * Starts the sign-in flow.
 * appView: id of the view to show when signed in.
 * onSignedIn(me): called once, with the /api/me body, when the user is in.
 * isAllowed(me): optional; when false, forbiddenView is shown instead.
 * onSignOut(): optional clean-up before the page reloads after sign-out.
 */
export async function startAuth({ appView, onSignedIn, isAllowed, forbiddenView, onSignOut }) {
  const enter = (me, moveFocus) => {
    showSignedIn(me);
    const allowed = !isAllowed || isAllowed(me);
    const view = allowed ? appView : forbiddenView;
    showView(view);
    if (moveFocus) focusNode(byId(view).querySelector('h1') || byId(view));
    if (allowed) onSignedIn(me);
  };
  byId('login-form').addEventListener('submit', (event) => handleLogin(event, (me) => enter(me, true)));
  byId('logout-button').addEventListener('click', () => signOut(onSignOut));

  let me;
  try {
    me = await fetchMe();
  } catch {
    byId('loading-message').textContent =
      'Sorry, there is a problem with the service. Try again later.';
    return;
  }
  if (me) enter(me, false);
  else showView('login-view');
}

function showSignedIn(me) {
  const name = me?.user?.name || me?.user?.id || '';
  for (const node of document.querySelectorAll('[data-user-name]')) node.textContent = name;
  byId('user-bar').hidden = false;
}

async function handleLogin(event, enter) {
  event.preventDefault();
  const button = byId('login-button');
  if (isBusy(button)) return;
  const username = byId('username');
  const password = byId('password');
  clearLoginError();
  if (!username.value.trim()) return showLoginError('Enter your username', username);
  if (!password.value) return showLoginError('Enter your password', password);

  setBusy(button, true);
  try {
    const me = await postLogin(username.value.trim(), password.value);
    password.value = '';
    enter(me);
  } catch (error) {
    showLoginError(error.message, null);
  } finally {
    setBusy(button, false);
  }
}

async function postLogin(username, password) {
  let res;
  try {
    res = await fetch('/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new Error('We could not reach the service. Check your connection and try again.');
  }
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    throw new Error(body.error || 'The username or password is not right. Check them and try again.');
  }
  if (res.status === 429) throw new Error('Too many attempts to sign in. Wait a few minutes and try again.');
  if (!res.ok) throw new Error('Sorry, there is a problem with the service. Try again later.');
  const me = await fetchMe().catch(() => null);
  return me || { user: body.user };
}

function showLoginError(message, field) {
  const box = byId('login-error');
  box.hidden = false;
  box.textContent = message;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.closest('.form-group')?.classList.add('form-group--error');
    field.focus();
  }
}

function clearLoginError() {
  const box = byId('login-error');
  box.textContent = '';
  for (const id of ['username', 'password']) {
    const field = byId(id);
    field.removeAttribute('aria-invalid');
    field.closest('.form-group')?.classList.remove('form-group--error');
  }
}

async function signOut(onSignOut) {
  try {
    onSignOut?.();
  } finally {
    await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
    location.reload();
  }
}
