// "Earlier contacts": the citizen's other conversations on any channel (the `history` of conversation.assigned
// and conversation.history, latest first) under a panel's heading, folded away when there are more than a few.
// Each can be opened read-only: Show fetches it (GET /api/conversations/{id}, which an adviser serving the
// citizen now may read) and lists its messages as a panel does, an email's subjects, quoted text and files
// included (email.js). Text goes on the page through el() and textContent only.

import { el, parseTime, setText, focusNode } from '/static/dom.js';
import { buildMessage } from './panel.js';
import { showMail } from './email.js';
import { channelWords } from './channels.js';

const HISTORY_OPEN_UP_TO = 3;
const FROM = new Set(['citizen', 'agent', 'system']);
const STATE_WORDS = {
  arriving: 'Arriving', queued: 'Waiting', offered: 'Being offered', assigned: 'With an adviser',
  wrapup: 'In wrap-up', closed: 'Closed', abandoned: 'Left before an answer',
};
const WHEN = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const GONE = 'You can no longer see this conversation.';
const FAILED = 'This conversation could not be loaded. Check your connection, then choose Show again.';
const SIGNED_OUT = 'You have been signed out, so this conversation cannot be shown. Reload the page to sign in.';

let entryCount = 0;

/**
 * Draws a panel's Earlier contacts (parts: panel.js buildPanel's) in place of any drawn before, kept open or
 * folded as the adviser left it, with the contacts they had opened open again and keyboard focus kept.
 * opts: { queueLabel(name), announcePolite(text) }. parts.history is the <details> (null when there are none).
 */
export function renderHistory(parts, history, opts) {
  const list = Array.isArray(history) ? history.filter((h) => h && typeof h === 'object' && h.id) : [];
  const before = parts.history;
  const open = before ? before.open : list.length <= HISTORY_OPEN_UP_TO;
  const focus = focusWithin(before);
  parts.historyShown ??= new Set();
  const ids = new Set(list.map((h) => String(h.id)));
  for (const id of parts.historyShown) if (!ids.has(id)) parts.historyShown.delete(id);
  before?.remove();
  parts.history = null;
  if (list.length === 0) {
    if (focus) focusNode(parts.heading);
    return;
  }
  const entries = list.map((h) => historyEntry(h, parts.historyShown, opts));
  const summary = el('summary', { text: `Earlier contacts (${list.length})` });
  parts.history = el('details', { class: 'history', 'data-testid': 'history', open }, [
    summary,
    el('ul', { class: 'history__list' }, entries.map((e) => e.item)),
  ]);
  parts.transferred.after(parts.history);
  for (const entry of entries) if (parts.historyShown.has(entry.id)) entry.show();
  if (focus) (entries.find((e) => e.id === focus)?.button || summary).focus();
}

/** The id of the earlier contact whose button has keyboard focus in `details` ('' for elsewhere in it), or null. */
function focusWithin(details) {
  const active = document.activeElement;
  if (!details || !active || !details.contains(active)) return null;
  return active.closest('[data-history-id]')?.dataset.historyId ?? '';
}

/** "Text 3 Mar 2026, 14:05 · General enquiries · Closed · Alex Morgan", and what Show says it opens. */
function describe(h, queueLabel) {
  const words = channelWords(h.channel);
  const at = parseTime(h.queued_at);
  const when = at ? WHEN.format(at) : 'unknown time';
  const rest = [queueLabel(h.queue), STATE_WORDS[h.state] || h.state, h.agent || 'No adviser'];
  const line = el('p', { class: 'history__line', 'data-testid': 'history-item', 'data-channel': h.channel }, [
    el('strong', { text: words?.short || h.channel || 'Contact' }), ' ',
    at ? el('time', { datetime: h.queued_at, text: when }) : when,
    ` · ${rest.join(' · ')}`,
  ]);
  return { line, about: `${words ? words.label.toLowerCase() : 'contact'}, ${when}` }; // "text message, 3 Mar …"
}

/** One earlier contact: its line, then Show and, when shown, its messages. */
function historyEntry(h, shown, opts) {
  entryCount += 1;
  const id = String(h.id);
  const { line, about } = describe(h, opts.queueLabel);
  const region = el('div', { class: 'history__transcript', id: `earlier-${entryCount}`, hidden: true });
  const button = el('button', {
    type: 'button', class: 'button button--secondary history__show', 'data-testid': 'history-show',
    'aria-controls': region.id, 'aria-expanded': 'false',
  });
  const item = el('li', { class: 'history__item', 'data-history-id': id }, [line, button, region]);
  const entry = { id, item, button, region, loaded: false, loading: false };
  const label = (verb) => {
    setText(button, verb);
    button.setAttribute('aria-label', `${verb} ${about}`);
  };
  entry.show = () => {
    shown.add(id);
    label('Hide');
    button.setAttribute('aria-expanded', 'true');
    region.hidden = false;
    if (!entry.loaded) load(entry, h, about, opts);
  };
  entry.hide = () => {
    shown.delete(id);
    label('Show');
    button.setAttribute('aria-expanded', 'false');
    region.hidden = true;
  };
  label('Show');
  button.addEventListener('click', () => (region.hidden ? entry.show() : entry.hide()));
  return entry;
}

/** Fetches the earlier conversation and shows its messages in the entry (or why they cannot be shown). */
async function load(entry, h, about, opts) {
  if (entry.loading) return;
  entry.loading = true;
  entry.region.replaceChildren(el('p', { class: 'history__note', text: 'Loading…' }));
  const found = await fetchConversation(entry.id);
  entry.loading = false;
  if (!entry.item.isConnected) return; // drawn again meanwhile: the new entry loads it
  if (typeof found === 'string') {
    entry.region.replaceChildren(el('p', { class: 'error-message', 'data-testid': 'history-error', text: found }));
    opts.announcePolite(found);
    return;
  }
  entry.loaded = true;
  entry.region.replaceChildren(earlierTranscript(found, h, about));
}

/** GET /api/conversations/{id}: the conversation, or the words saying why it is not shown. */
async function fetchConversation(id) {
  try {
    const res = await fetch(`/api/conversations/${encodeURIComponent(id)}`, {
      headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
    });
    if (res.status === 404 || res.status === 403) return GONE;
    if (res.status === 401) return SIGNED_OUT;
    if (!res.ok) return FAILED;
    const body = await res.json();
    return body && typeof body === 'object' ? body : FAILED;
  } catch {
    return FAILED;
  }
}

/** The messages of an earlier conversation, read-only: who, when and what, as in a panel's transcript. */
function earlierTranscript(conv, h, about) {
  const transcript = Array.isArray(conv.transcript) ? conv.transcript.filter((m) => m && typeof m === 'object') : [];
  if (transcript.length === 0) {
    const none = 'No messages were written in this contact.';
    return el('p', { class: 'history__note', 'data-testid': 'history-empty', text: none });
  }
  const citizen = conv.citizen?.name || 'Citizen';
  const senders = { citizen, agent: h.agent || 'Adviser', system: 'System' };
  const mail = (conv.channel || h.channel) === 'email';
  return el('ol', {
    class: 'history__messages', 'data-testid': 'history-transcript', tabindex: '0',
    'aria-label': `Messages of the ${about}`,
  }, transcript.map((msg) => {
    const from = FROM.has(msg.from) ? msg.from : 'system';
    const item = buildMessage({ ...msg, id: null }, from, senders[from]);
    item.dataset.testid = 'history-message'; // not a line of the live transcript
    if (mail) showMail(item, msg, from);
    return item;
  }));
}
