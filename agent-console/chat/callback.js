// "Rather not wait? We can call you back" (docs/protocol.md, callback.request): while a chat waits in
// the queue, the citizen may give a UK number to be called back on instead, keeping their place.
// The server decides which numbers it will ring (UK landlines and mobiles only, so that a call back
// cannot be turned into toll fraud); this page only checks that a number was given.

import { byId, focusNode } from '/static/dom.js';
import { busy, idle } from './session.js';

const FIELD = 'callback-number'; // ids: callback-number, callback-number-error, callback-number-group

/**
 * deps: { state, t(key, vars), showError(text, key), setFieldError(field, key), send(frame) -> sent }.
 * state.phase is the chat's (session.js): the form is offered only while it is 'queued'.
 * Returns { render(), accepted(frame), rejected(frame), confirmation(), reset() } for session.js.
 */
export function createCallback({ state, t, showError, setFieldError, send }) {
  const box = byId('callback');
  const input = byId(FIELD);
  const button = byId('callback-button');
  let asked = false; // a callback.request awaits its answer
  let number = null; // the number the server will call (E.164), once accepted

  byId('callback-form').addEventListener('submit', (event) => {
    event.preventDefault();
    request();
  });

  function request() {
    if (asked || state.phase !== 'queued') return;
    const given = input.value.trim();
    setFieldError(FIELD, given ? null : 'callbackMissing');
    setNotice(null);
    if (!given) return input.focus();
    if (!send({ type: 'callback.request', number: given })) return showError(t('notConnected'), 'notConnected');
    asked = true;
    busy(button, 'callbackSending', t);
  }

  /** callback.accepted: the chat has become a call back (session.js then ends the chat on this page). */
  function accepted(frame) {
    settle();
    number = typeof frame.number === 'string' && frame.number ? frame.number : input.value.trim();
    setFieldError(FIELD, null);
  }

  /** An error frame: true if it answered our callback.request and is shown by the form. */
  function rejected(frame) {
    if (!asked) return false;
    settle();
    if (frame.code === 'bad_value') {
      // Our own words, in the page's language: the server's message is English only.
      setFieldError(FIELD, 'callbackBadNumber');
      input.focus();
      return true;
    }
    if (frame.code === 'conflict') {
      setNotice('callbackConflict');
      return true;
    }
    return false;
  }

  /** Offers the form only while the chat waits; a lost connection loses the answer, so the button is freed. */
  function render() {
    if (asked && !state.connected) settle();
    const show = state.phase === 'queued';
    if (box.hidden === !show) return;
    const hadFocus = box.contains(document.activeElement);
    box.hidden = !show;
    if (show) return setNotice(null); // waiting again (after a transfer): any earlier answer is stale
    idle(button, t); // an answer may still come (a conflict, once an adviser joined): it is shown, hidden
    if (hadFocus && state.phase === 'assigned') focusNode(byId('message-input'));
  }

  /** "Thank you. We will call you on +44 7700 900456 …", once accepted; else empty. */
  function confirmation() {
    return number ? t('callbackAccepted', { number: formatUkNumber(number) }) : '';
  }

  /** A new chat: an empty, closed form. */
  function reset() {
    settle();
    number = null;
    input.value = '';
    setFieldError(FIELD, null);
    setNotice(null);
    box.open = false;
    box.hidden = true;
  }

  function settle() {
    asked = false;
    idle(button, t);
  }

  /** A message about the request as a whole; data-i18n lets chat.js re-translate it. */
  function setNotice(key) {
    const notice = byId('callback-notice');
    if (key) notice.dataset.i18n = key;
    else delete notice.dataset.i18n;
    notice.textContent = key ? t(key) : '';
  }

  return { render, accepted, rejected, confirmation, reset };
}

/** "+447700900456" as "+44 7700 900456", in the UK's usual groups (Ofcom's national numbering plan); else as given. */
export function formatUkNumber(e164) {
  const national = /^\+44(\d{9,10})$/.exec(e164 ?? '')?.[1];
  if (!national) return e164 ?? '';
  const parts = [];
  let at = 0;
  for (const size of groupSizes(national)) {
    parts.push(national.slice(at, at + size));
    at += size;
  }
  parts.push(national.slice(at));
  return `+44 ${parts.join(' ')}`;
}

/** 20 7946 0000; 300 123 4567 and 113 496 0000 / 121 496 0000; 1632 960000 and 7700 900456. */
function groupSizes(national) {
  if (national.startsWith('2')) return [2, 4];
  if (national.startsWith('3') || /^1(1\d|\d1)/.test(national)) return [3, 3];
  return [4];
}
