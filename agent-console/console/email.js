// Email conversations: each mail's subject as its heading, the case reference in the panel's header,
// the quoted history of a citizen's mail folded away, their files listed as download links, a subject
// for the reply, "Send and close", and how far each reply got (message.status: queued, retrying, sent,
// failed; channels/email/outbound.py).
// Mail is hostile input: it goes on the page as text only (el() and textContent), never as HTML, and
// nothing a citizen sent is shown inline. The parsers are plain functions; createEmail uses them.

import { el, setText, setBusy } from '/static/dom.js';
import { laterStatus, renderDelivery } from './texting.js';

// A case reference, as channels/email/compose.py makes them (Crockford's base 32: no I, L, O or U).
const REFERENCE = /\bCD-([0-9A-HJKMNP-TV-Z]{6})\b/i;
// What compose.reply_subject strips before writing "Re: <subject> [Ref: <reference>]".
const REPLY_PREFIX = /^\s*((re|fw|fwd|ateb)\s*:\s*)+/i;
const REFERENCE_TAG = /\s*\[Ref:?\s*CD-[0-9A-Z]{6}\]/gi;
const MAX_SUBJECT = 200; // the longest subject the server takes (docs/protocol.md, contactd/console_protocol.py)
const ATTACHMENT_URL = /^\/api\/attachments\/\d+$/; // the only links we make: files served to signed-in staff
const SHOW_QUOTED = 'Show quoted text';
const HIDE_QUOTED = 'Hide quoted text';

/** The case reference a subject or line names ("CD-7K3M9Q"), or null. */
export function caseReference(text) {
  const found = REFERENCE.exec(typeof text === 'string' ? text : '');
  return found ? `CD-${found[1].toUpperCase()}` : null;
}

/**
 * The subject of a reply, as the server writes it (compose.reply_subject): "Re: <subject> [Ref: <reference>]",
 * without piling up "Re:" or repeating the reference. With no reference yet, "Re: <subject>" ('' for none).
 */
export function replySubject(subject, reference) {
  const base = String(subject ?? '').replace(REPLY_PREFIX, '').trim().replace(REFERENCE_TAG, '').trim();
  if (!reference) return base ? `Re: ${base}` : '';
  return base ? `Re: ${base} [Ref: ${reference}]` : `Re: your message [Ref: ${reference}]`;
}

/** True for a line that starts an earlier message quoted below it: "On … wrote:", "Ar … ysgrifennodd:",
 * Outlook's "-----Original Message-----"; also an attribution that the sender's program wrapped onto two lines. */
function isAttribution(lines, i) {
  const line = lines[i].trim();
  if (/^-{2,}\s*Original Message\s*-{2,}$/i.test(line)) return true;
  if (!/^(On|Ar)\s/.test(line)) return false;
  const said = /(wrote|ysgrifennodd):$/i;
  return said.test(line) || (i + 1 < lines.length && said.test(lines[i + 1].trim()));
}

/**
 * A mail's text in order, as [{ text, quoted }]: quoted are lines starting with ">", and everything from an
 * attribution line ("On … wrote:") on. Blank lines between quoted lines stay with them. Nothing is dropped:
 * the parts' texts joined are the text.
 */
export function splitQuoted(text) {
  const lines = String(text ?? '').split(/(?<=\n)/);
  const parts = [];
  let tail = false;
  lines.forEach((line, i) => {
    tail = tail || isAttribution(lines, i);
    const quoted = tail || /^[ \t]*>/.test(line);
    const last = parts[parts.length - 1];
    const gap = last?.quoted && !quoted && !line.trim(); // a blank line after a quote: kept with it for now
    if (last && (last.quoted === quoted || gap)) last.text += line;
    else parts.push({ text: line, quoted });
  });
  return parts.filter((part) => part.text !== ''); // an empty text has no parts
}

/** "812 bytes", "12 KB", "1.5 MB". */
export function humanSize(size) {
  const n = Number(size);
  if (!Number.isFinite(n) || n < 0) return 'size not known';
  if (n < 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  const kb = Math.round(n / 1024);
  if (kb < 1024) return `${kb} KB`;
  const mb = n / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

// The kinds of file a citizen may send us (channels/email/compose.py ALLOWED_TYPES), in words.
const FILE_KINDS = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG image',
  'image/png': 'PNG image',
  'image/gif': 'GIF image',
  'image/heic': 'HEIC photo',
  'text/plain': 'text file',
  'text/csv': 'CSV spreadsheet',
  'application/msword': 'Word document',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word document',
  'application/vnd.oasis.opendocument.text': 'OpenDocument text',
  'application/rtf': 'RTF document',
};

/** "PDF", "Word document", or the type itself when we have no words for it. */
export function fileKind(type) {
  const key = String(type ?? '').toLowerCase();
  return FILE_KINDS[key] || key || 'file';
}

// How far a reply got. A later status never goes back to an earlier one, even when frames cross
// (the sender may answer before the console hears "queued").
const DELIVERY_RANK = { pending: 0, queued: 1, retrying: 2, sent: 3, failed: 4 };
const DELIVERY = {
  pending: { tone: 'pending', text: 'Sending…' },
  queued: { tone: 'pending', text: 'Queued' },
  retrying: { tone: 'waiting', text: 'Retrying — the mail server is unreachable' },
  sent: { tone: 'done', text: 'Sent' },
  failed: { tone: 'failed', text: 'Failed — not delivered' },
};

/** The status a reply now has: `next`, unless it is unknown or `current` is already as far or further. */
export const laterMailStatus = (current, next) => laterStatus(DELIVERY_RANK, current, next);

/**
 * Makes a conversation panel (panel.js buildPanel's parts) an email panel. opts: { announce(text),
 * announcePolite(text), end() (ends the conversation, as End chat does) }. Returns the hooks
 * conversations.js calls: decorate(item, msg, from) for each new transcript line; extra(id), the fields a
 * reply with this id adds to its message frame; deliveries ({ added, update }, as texting.js has); resetBusy().
 */
export function createEmail(parts, name, opts) {
  const state = { first: null, ours: null, theirs: null, edited: false, closing: false, closeId: null };
  const subjects = new Map(); // reply id -> the subject it was sent with (sent again after a reconnect)
  const box = buildReplyBox(parts, name);
  const referenceLine = el('p', { class: 'conversation__reference', 'data-testid': 'case-reference', hidden: true });
  parts.meta.after(referenceLine);
  const reference = () => state.ours || state.theirs;

  box.subject.addEventListener('input', () => { state.edited = true; });
  parts.form.addEventListener('submit', (event) => { state.closing = event.submitter === box.close; });

  /** Learns the first subject and the case reference (ours before any the citizen typed); shows both. */
  function learn(msg, from) {
    const subject = typeof msg.subject === 'string' ? msg.subject : '';
    if (from === 'citizen') {
      if (subject.trim() && state.first === null) state.first = subject;
      state.theirs = state.theirs || caseReference(subject);
    } else {
      // Ours: a reply's subject, or the acknowledgement ("Acknowledgement sent (case reference CD-…).").
      state.ours = state.ours || caseReference(subject) || (from === 'system' ? caseReference(msg.text) : null);
    }
    const ref = reference();
    referenceLine.hidden = !ref;
    if (ref) setText(referenceLine, `Case reference: ${ref}`);
    if (!state.edited) box.subject.value = replySubject(state.first ?? '', ref);
  }

  function decorate(item, msg, from) {
    learn(msg, from);
    showMail(item, msg, from);
  }

  /** The subject to send with reply `id` (as the server will write it), remembered for a re-send. */
  function extra(id) {
    if (!subjects.has(id)) {
      const typed = box.subject.value.trim();
      const full = typed && replySubject(typed, reference());
      subjects.set(id, full && full.length <= MAX_SUBJECT ? full : typed);
      if (state.closing) state.closeId = id;
    }
    const subject = subjects.get(id);
    return subject ? { subject } : {};
  }

  const deliveries = createMailDeliveries(parts.list, name, opts, (id, status) => {
    if (id !== state.closeId || status === 'pending') return;
    state.closeId = null;
    if (status === 'failed') {
      setBusy(box.close, false);
      opts.announce(`Your reply to ${name} could not be sent, so the email is still open.`);
    } else {
      opts.end(); // the reply is safely in the outbox: close the email (wrap-up follows)
    }
  });

  /** The reply being closed with appeared: say so on its button until the email closes. */
  function added(item, id, mine, status) {
    if (id === state.closeId) setBusy(box.close, true, 'Closing…');
    deliveries.added(item, id, mine, status);
  }

  function resetBusy() {
    state.closeId = null;
    setBusy(box.close, false);
  }

  return { decorate, extra, deliveries: { added, update: deliveries.update }, resetBusy };
}

/**
 * Shows one transcript line (panel.js buildMessage's item) as mail: its subject as the line's heading, the
 * citizen's quoted text folded, their files as download links. Also for an earlier email opened read-only
 * (history.js), so both look alike.
 */
export function showMail(item, msg, from) {
  if (from === 'system') return;
  const subject = typeof msg.subject === 'string' ? msg.subject.trim() : '';
  if (subject) item.prepend(el('h4', { class: 'message__subject', 'data-testid': 'message-subject', text: subject }));
  if (from === 'citizen') foldQuoted(item, msg.text);
  if (Array.isArray(msg.attachments) && msg.attachments.length) item.append(fileList(msg.attachments));
}

/** The subject field above the reply, the buttons below it, and the wording of an email's reply box. */
function buildReplyBox(parts, name) {
  const { key, form, send, end } = parts;
  const subject = el('input', {
    type: 'text', id: `${key}-subject`, name: 'subject', maxlength: String(MAX_SUBJECT), autocomplete: 'off',
    spellcheck: 'true', 'data-testid': 'email-subject', 'aria-describedby': `${key}-subject-hint`,
  });
  // Enter in the subject goes on to the reply rather than sending it half-written.
  subject.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    parts.input.focus();
  });
  form.prepend(el('div', { class: 'email-subject' }, [
    el('label', { for: subject.id, text: 'Subject' }),
    el('p', {
      class: 'hint', id: `${key}-subject-hint`,
      text: 'Keep the case reference in the subject, so that their answer finds this case.',
    }),
    subject,
  ]));
  const hint = form.querySelector(`#${CSS.escape(key)}-hint`);
  setText(hint, `Enter starts a new line. Your reply goes to ${name} by email.`);
  setText(send, 'Send reply');
  const close = el('button', {
    type: 'submit', class: 'button button--secondary', 'data-testid': 'send-and-close', text: 'Send and close',
  });
  send.after(close);
  setText(end, 'Close email');
  end.setAttribute('aria-label', `Close email from ${name}`);
  return { subject, close };
}

/** Folds each quoted part of a citizen's mail behind "Show quoted text" (unless it is all quoted). */
function foldQuoted(item, text) {
  const parts = splitQuoted(text);
  if (!parts.some((p) => p.quoted) || !parts.some((p) => !p.quoted && p.text.trim())) return;
  const shown = (words) => words.replace(/^\n+/, '').replace(/\s+$/, '');
  const nodes = parts.filter((p) => p.text.trim()).map((p) => (p.quoted
    ? quotedPart(shown(p.text))
    : el('p', { class: 'message__text', text: shown(p.text) })));
  item.querySelector('.message__text')?.replaceWith(...nodes);
}

function quotedPart(text) {
  const summary = el('summary', { text: SHOW_QUOTED });
  const details = el('details', { class: 'quoted', 'data-testid': 'quoted-text' }, [
    summary,
    el('p', { class: 'message__text quoted__text', text }),
  ]);
  details.addEventListener('toggle', () => setText(summary, details.open ? HIDE_QUOTED : SHOW_QUOTED));
  return details;
}

/** The files of one mail, each a download link (never opened in the console). */
function fileList(files) {
  const items = files.filter((f) => f && typeof f === 'object').map((f) => el('li', {}, fileLink(f)));
  const count = items.length === 1 ? '1 file attached' : `${items.length} files attached`;
  return el('div', { class: 'attachments', 'data-testid': 'attachments' }, [
    el('p', { class: 'attachments__label', text: count }),
    el('ul', { class: 'attachments__list' }, items),
  ]);
}

function fileLink(file) {
  const fileName = String(file.name || 'attachment');
  const about = el('span', { class: 'attachment__about', text: ` (${fileKind(file.type)}, ${humanSize(file.size)})` });
  if (typeof file.url !== 'string' || !ATTACHMENT_URL.test(file.url)) {
    return [el('span', { text: fileName }), about, ' – cannot be downloaded here'];
  }
  return el('a', {
    class: 'attachment', 'data-testid': 'attachment', href: file.url, download: fileName,
  }, [fileName, about]);
}

/**
 * The delivery of the adviser's replies in one email conversation, shown under each reply. Changes are
 * told to screen readers: politely while the mail waits or once it is sent, at once when it failed.
 * moved(id, status) hears every status a reply reaches.
 */
function createMailDeliveries(list, name, opts, moved) {
  const statuses = new Map();
  const find = (id) => list.querySelector(`[data-message-id="${CSS.escape(id)}"]`);

  /** A reply appeared in the transcript (with its status after a reload; Sending… if ours and no news). */
  function added(item, id, mine, status) {
    const now = laterMailStatus(statuses.get(id) ?? (mine ? 'pending' : undefined), status);
    if (!now) return;
    statuses.set(id, now);
    renderDelivery(item, DELIVERY, now);
    moved(id, now);
  }

  /** A message.status frame; it may come before the reply itself. */
  function update(id, status) {
    const before = statuses.get(id);
    const now = laterMailStatus(before, status);
    if (!now || now === before) return;
    statuses.set(id, now);
    const item = find(id);
    if (item) {
      const log = list.parentElement; // keep the newest line in view if it was (as addMessage does)
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      renderDelivery(item, DELIVERY, now);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    moved(id, now);
    tell(now);
  }

  function tell(status) {
    if (status === 'retrying') {
      opts.announcePolite(`Your reply to ${name} is waiting: the mail server is unreachable. `
        + 'It will be sent when the server is back.');
    } else if (status === 'sent') {
      opts.announcePolite(`Your reply to ${name} was sent.`);
    } else if (status === 'failed') {
      opts.announce(`Your reply to ${name} was not delivered. Try again, or contact them another way.`);
    }
  }

  return { added, update };
}
