// "Link this chat to your mobile number" (docs/protocol.md, verify.start / verify.check): once a chat
// has started, the citizen may prove a UK mobile is theirs with a code we text to it. The chat then
// joins the record that number belongs to, so the adviser sees their earlier texts and calls.
// Optional and folded away: nothing is asked unless the citizen opens it.
// The server decides which numbers it texts, how many codes and tries there are, and whether a code
// is right; this page only checks that something was typed. Its messages are English only, so the
// Welsh page uses its own words (the number of tries left is taken from the English message).

import { byId, el, focusNode } from '/static/dom.js';
import { busy, idle, TOKEN_KEY } from './session.js';

/** This form's strings, in English and Welsh (merged into chat.js's STRINGS). */
export const VERIFY_STRINGS = {
  en: {
    verifySummary: 'Link this chat to your mobile number',
    verifyWhy: 'If you like, we can link this chat to your mobile number, so an adviser can see your earlier texts and calls to us. We will text you a code to check the number is yours. You do not have to do this.',
    verifyPhoneLabel: 'Your mobile number',
    verifyPhoneHint: 'A UK mobile number, starting 07.',
    verifySendButton: 'Text me a code',
    verifySending: 'Sending…',
    verifyPhoneMissing: 'Enter your mobile number',
    verifySent: 'We’ve texted a code to your mobile ending {ending}.',
    verifyResent: 'We’ve texted a new code to your mobile ending {ending}. Use the newest code.',
    verifyCodeLabel: 'Code from the text',
    verifyCodeHint: 'The code is 6 digits.',
    verifyCheckButton: 'Check code',
    verifyChecking: 'Checking…',
    verifyResendButton: 'Send a new code',
    verifyChangeButton: 'Use a different number',
    verifyCodeMissing: 'Enter the 6-digit code from the text',
    verifyDone: 'Your chat is linked to your mobile ending {ending}.',
    verifyBadNumber: 'Enter a UK mobile number, starting 07, like 07700 900 982.',
    verifyTooManyCodes: 'We have sent as many codes as we can for now. Try again later.',
    verifyTooManyTries: 'Too many wrong codes. Ask for a new code.',
    verifyUnavailable: 'We could not text that number just now. Try again later.',
    verifyWrongCode: ({ n }) => (n === undefined ? 'That code is not right.'
      : `That code is not right. You have ${n} ${n === 1 ? 'try' : 'tries'} left.`),
    verifyExpired: 'That code has expired. Ask for a new code.',
  },
  cy: {
    verifySummary: 'Cysylltu’r sgwrs hon â’ch rhif ffôn symudol',
    verifyWhy: 'Os hoffech, gallwn gysylltu’r sgwrs hon â’ch rhif ffôn symudol, er mwyn i ymgynghorydd weld eich negeseuon testun a’ch galwadau blaenorol i ni. Byddwn yn anfon cod atoch mewn neges destun i wirio mai chi biau’r rhif. Nid oes rhaid i chi wneud hyn.',
    verifyPhoneLabel: 'Eich rhif ffôn symudol',
    verifyPhoneHint: 'Rhif ffôn symudol yn y DU, yn dechrau gydag 07.',
    verifySendButton: 'Anfon cod ataf',
    verifySending: 'Wrthi’n anfon…',
    verifyPhoneMissing: 'Rhowch eich rhif ffôn symudol',
    verifySent: 'Rydym wedi anfon cod mewn neges destun i’ch ffôn symudol sy’n gorffen â {ending}.',
    verifyResent: 'Rydym wedi anfon cod newydd i’ch ffôn symudol sy’n gorffen â {ending}. Defnyddiwch y cod diweddaraf.',
    verifyCodeLabel: 'Y cod o’r neges destun',
    verifyCodeHint: 'Mae’r cod yn 6 digid.',
    verifyCheckButton: 'Gwirio’r cod',
    verifyChecking: 'Wrthi’n gwirio…',
    verifyResendButton: 'Anfon cod newydd',
    verifyChangeButton: 'Defnyddio rhif gwahanol',
    verifyCodeMissing: 'Rhowch y cod 6 digid o’r neges destun',
    verifyDone: 'Mae’ch sgwrs wedi’i chysylltu â’ch ffôn symudol sy’n gorffen â {ending}.',
    verifyBadNumber: 'Rhowch rif ffôn symudol yn y DU, yn dechrau gydag 07, fel 07700 900 982.',
    verifyTooManyCodes: 'Rydym wedi anfon cymaint o godau ag y gallwn am y tro. Rhowch gynnig arall arni yn nes ymlaen.',
    verifyTooManyTries: 'Gormod o godau anghywir. Gofynnwch am god newydd.',
    verifyUnavailable: 'Nid oeddem yn gallu anfon neges destun i’r rhif hwnnw nawr. Rhowch gynnig arall arni yn nes ymlaen.',
    // A number takes the singular noun in Welsh: "4 cynnig".
    verifyWrongCode: ({ n }) => (n === undefined ? 'Nid yw’r cod hwnnw’n gywir.'
      : `Nid yw’r cod hwnnw’n gywir. Mae gennych ${n} cynnig ar ôl.`),
    verifyExpired: 'Mae’r cod hwnnw wedi dod i ben. Gofynnwch am god newydd.',
  },
};

const SAVED_KEY = 'contactd.chat.verify'; // sessionStorage: {step, ending, resent} of this tab's chat
const ERROR_KEYS = {
  start: { bad_value: 'verifyBadNumber', too_many: 'verifyTooManyCodes', unavailable: 'verifyUnavailable' },
  check: { wrong_code: 'verifyWrongCode', too_many: 'verifyTooManyTries', expired: 'verifyExpired' },
};

/**
 * deps: { state, t(key, vars), storage (session storage wrapper), send(frame) -> sent }.
 * state.phase is the chat's (session.js): the form is offered while it is 'queued' or 'assigned'.
 * Returns { render(), relabel(), sent(frame), done(frame), rejected(frame), reset() } for session.js and chat.js.
 */
export function createVerify({ state, t, storage, send }) {
  const box = byId('verify');
  const fields = { phone: field('verify-phone'), code: field('verify-code') };
  const buttons = { send: byId('verify-send-button'), check: byId('verify-check-button'), resend: byId('verify-resend-button') };
  // step: 'phone' (give a number), 'code' (type the code texted), 'done' (linked). ending: the number's last digits.
  let view = { step: 'phone', ending: '', resent: false, ...(storage.get(TOKEN_KEY) ? load() : {}) };
  let asked = null; // {kind: 'start' | 'check', field, button} while a frame awaits its answer
  box.open = view.step === 'code'; // back after a reload, with a code on its way

  byId('verify-phone-form').addEventListener('submit', (event) => {
    event.preventDefault();
    requestCode('phone', buttons.send);
  });
  byId('verify-code-form').addEventListener('submit', (event) => {
    event.preventDefault();
    checkCode();
  });
  buttons.resend.addEventListener('click', () => requestCode('code', buttons.resend));
  byId('verify-change-button').addEventListener('click', () => {
    if (asked) return;
    setView({ step: 'phone', resent: false });
    setError('code', null);
    fields.phone.input.focus();
  });

  /** verify.start: from the number form, or "Send a new code" (answered beside the code). */
  function requestCode(from, button) {
    if (asked || !chatting()) return;
    const phone = fields.phone.input.value.trim();
    setError(from, null);
    if (!phone) {
      setError('phone', { key: 'verifyPhoneMissing' });
      if (from !== 'phone') setView({ step: 'phone' });
      return fields.phone.input.focus();
    }
    ask({ type: 'verify.start', phone }, { kind: 'start', field: from, button }, 'verifySending');
  }

  function checkCode() {
    if (asked || !chatting()) return;
    const code = fields.code.input.value.replace(/\s+/g, '');
    setError('code', null);
    if (!/^\d{6}$/.test(code)) {
      setError('code', { key: 'verifyCodeMissing' });
      return fields.code.input.focus();
    }
    ask({ type: 'verify.check', code }, { kind: 'check', field: 'code', button: buttons.check }, 'verifyChecking');
  }

  function ask(frame, request, busyKey) {
    if (!send(frame)) {
      setError(request.field, { key: 'notConnected' });
      return fields[request.field].input.focus();
    }
    asked = request;
    busy(request.button, busyKey, t);
  }

  /** verify.sent: a code is on its way; the code field takes focus (its description says where it went). */
  function sent(frame) {
    const resent = view.step === 'code';
    settle();
    setError('phone', null);
    setError('code', null);
    fields.code.input.value = '';
    setView({ step: 'code', ending: lastDigits(frame.to), resent });
    box.open = true;
    fields.code.input.focus();
  }

  /** verify.done: the chat is linked; the form goes, and its confirmation takes focus if the form had it. */
  function done(frame) {
    const hadFocus = box.contains(document.activeElement);
    settle();
    setView({ step: 'done', ending: lastDigits(frame.phone) });
    if (hadFocus) focusNode(byId('verify-done'));
  }

  /** An error frame: true if it answered our verify.start / verify.check and is shown by the form. */
  function rejected(frame) {
    if (!asked) return false;
    const { kind, field: where } = asked;
    settle();
    const key = ERROR_KEYS[kind][frame.code] ?? (frame.code === 'unavailable' ? 'verifyUnavailable' : 'errorGeneric');
    const tries = /(\d+)/.exec(frame.message ?? '')?.[1];
    const message = typeof frame.message === 'string' ? frame.message : '';
    setError(where, { key, message, vars: tries === undefined ? {} : { n: Number(tries) } });
    fields[where].input.focus();
    return true;
  }

  /** Offered only while the chat is under way; a lost connection loses the answer, so the button is freed. */
  function render() {
    if (asked && !state.connected) settle();
    if (state.phase === 'ended') storage.remove(SAVED_KEY); // the chat is over: nothing to come back to
    box.hidden = !chatting() || view.step === 'done';
    byId('verify-phone-form').hidden = view.step !== 'phone';
    byId('verify-code-form').hidden = view.step !== 'code';
    const ending = view.ending || '…';
    byId('verify-sent').textContent = view.step === 'code' ? t(view.resent ? 'verifyResent' : 'verifySent', { ending }) : '';
    byId('verify-done').textContent = view.step === 'done' && state.phase !== 'start' ? t('verifyDone', { ending }) : '';
  }

  /** The page's language changed: the messages built here, again. */
  function relabel() {
    render();
    for (const name of Object.keys(fields)) setError(name, fields[name].error);
  }

  /** A new chat: an empty, closed form. */
  function reset() {
    settle();
    storage.remove(SAVED_KEY);
    view = { step: 'phone', ending: '', resent: false };
    for (const name of Object.keys(fields)) {
      fields[name].input.value = '';
      setError(name, null);
    }
    box.open = false;
    render();
  }

  function chatting() {
    return state.phase === 'queued' || state.phase === 'assigned';
  }

  function settle() {
    if (asked) idle(asked.button, t);
    asked = null;
  }

  function setView(change) {
    view = { ...view, ...change };
    storage.set(SAVED_KEY, JSON.stringify(view));
    render();
  }

  function load() {
    try {
      const saved = JSON.parse(storage.get(SAVED_KEY) || '{}');
      return ['phone', 'code', 'done'].includes(saved.step) ? saved : {};
    } catch {
      return {};
    }
  }

  /**
   * Shows an error beside a field, or clears it (error null). error: { key, vars?, message? }: the
   * server's English message on the English page, else the key's words (re-shown on a language change).
   */
  function setError(name, error) {
    const { group, input, out } = fields[name];
    fields[name].error = error;
    out.replaceChildren();
    if (error) {
      const text = state.lang === 'en' && error.message ? error.message : t(error.key, error.vars ?? {});
      out.append(el('span', { class: 'visually-hidden', text: `${t('errorPrefix')} ` }), text);
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
    group.classList.toggle('form-group--error', Boolean(error));
  }

  return { render, relabel, sent, done, rejected, reset };
}

/** The elements of one field: ids NAME, NAME-error, NAME-group. */
function field(name) {
  return { input: byId(name), out: byId(`${name}-error`), group: byId(`${name}-group`), error: null };
}

/** "321" from the server's "•••••••••321" (only the last digits are ever sent back). */
function lastDigits(masked) {
  return /(\d+)\s*$/.exec(typeof masked === 'string' ? masked : '')?.[1] ?? '';
}
