// Text (SMS) conversations: how many texts a reply takes, and how far each reply got.
// The counting and the delivery order are plain functions; the two DOM helpers below them use them.

import { el, setText } from '/static/dom.js';

// The GSM 03.38 basic character set (3GPP TS 23.038 §6.2.1), one 7-bit septet each; the escape
// character itself is left out, as nobody types it.
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
  + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Its extension table (§6.2.1.1): an escape septet and one more, so each counts double.
const GSM_EXTENDED = new Set('^{}\\[~]|€');
// Bytes a text holds: 140, so 160 septets or 70 UTF-16 code units; a long text is sent in parts, each
// of which gives 6 bytes to the header that joins them up again (3GPP TS 23.040 §9.2.3.24.1).
const LIMITS = {
  'GSM-7': { single: 160, part: 153 },
  'UCS-2': { single: 70, part: 67 },
};

/**
 * How `text` goes out as a text: { characters, encoding ('GSM-7' or 'UCS-2'), special (the first
 * character that is not GSM-7, or null), doubled (the first character that counts as two, or null),
 * segments (0 for no text) }. characters counts what the adviser sees (Unicode code points);
 * segments count septets (GSM-7) or UTF-16 code units (UCS-2), as carriers do.
 */
export function textSegments(text) {
  const chars = [...text];
  const special = chars.find((c) => !GSM_BASIC.has(c) && !GSM_EXTENDED.has(c)) ?? null;
  const encoding = special === null ? 'GSM-7' : 'UCS-2';
  const costs = chars.map((c) => (encoding === 'GSM-7' ? (GSM_EXTENDED.has(c) ? 2 : 1) : c.length));
  const doubled = chars.find((c, i) => costs[i] > 1) ?? null;
  return { characters: chars.length, encoding, special, doubled, segments: segmentCount(costs, LIMITS[encoding]) };
}

/** Parts needed for characters costing `costs`; a character is never split between two parts
 * (an escaped GSM character, or a UTF-16 surrogate pair, goes whole into the next part). */
function segmentCount(costs, { single, part }) {
  const total = costs.reduce((sum, cost) => sum + cost, 0);
  if (total === 0) return 0;
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > part) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return segments;
}

/** The count under the reply box, in words: "161 characters, 2 texts (long texts cost more)". */
export function describeCount({ characters, encoding, special, doubled, segments }) {
  if (characters === 0) return `No characters yet. One text holds ${LIMITS['GSM-7'].single} characters.`;
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const notes = [];
  if (encoding === 'UCS-2') {
    notes.push(`Because of ${describeSpecial(special)}, each text holds ${LIMITS['UCS-2'].single} characters`
      + ` instead of ${LIMITS['GSM-7'].single}.`);
  }
  if (segments > 1 && doubled !== null) notes.push(`${title(describeSpecial(doubled))} counts as two characters.`);
  const long = segments > 1 ? ' (long texts cost more)' : '';
  const count = `${plural(characters, 'character')}, ${plural(segments, 'text')}${long}`;
  return notes.length ? `${count}. ${notes.join(' ')}` : count;
}

/** A character quoted, or named by its code point when quoting would show nothing (a special space). */
function describeSpecial(char) {
  if (/[\s\p{Cc}\p{Cf}]/u.test(char)) {
    const code = char.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `a special space or invisible character (U+${code})`;
  }
  return `“${char}”`;
}

const title = (words) => words.charAt(0).toUpperCase() + words.slice(1);

// How far a reply got: 'pending' until the server says (ours), then message.status (docs/protocol.md),
// which passes on Twilio's own statuses (channels/sms/texts.py STATUS_ORDER, whose order this follows:
// a later status never goes back to an earlier one, even when frames cross).
const DELIVERY_RANK = {
  pending: 0, accepted: 1, queued: 1, sending: 2, sent: 3, delivered: 4, undelivered: 4, failed: 4, opted_out: 4,
};
const NOT_DELIVERED = 'Not delivered. Try sending it again, or contact them another way.';
const OPTED_OUT = 'Not sent: this citizen texted STOP. They get no texts until they text START.';
const DELIVERY = {
  pending: { tone: 'pending', text: 'Sending…' },
  accepted: { tone: 'sent', text: 'Sent to their phone' },
  queued: { tone: 'sent', text: 'Sent to their phone' },
  sending: { tone: 'sent', text: 'Sent to their phone' },
  sent: { tone: 'sent', text: 'Sent to their phone' },
  delivered: { tone: 'delivered', text: 'Delivered' },
  undelivered: { tone: 'failed', text: NOT_DELIVERED },
  failed: { tone: 'failed', text: NOT_DELIVERED },
  opted_out: { tone: 'opted-out', text: OPTED_OUT },
};

/**
 * The status a reply now has, by a channel's `rank` of statuses: `next`, unless it is unknown or
 * `current` is already as far or further (texts here, email in email.js).
 */
export function laterStatus(rank, current, next) {
  if (!Object.hasOwn(rank, next)) return current;
  if (!current) return next;
  return rank[next] > rank[current] ? next : current;
}

export const laterDelivery = (current, next) => laterStatus(DELIVERY_RANK, current, next);

/**
 * Puts the live count under a text conversation's reply box (described by it, not announced per
 * keystroke). Returns update(quiet): call it after changing the box's value from script.
 */
export function addTextCounter(input) {
  const count = el('p', { class: 'hint sms-count', id: `${input.id}-count`, 'data-testid': 'sms-count' });
  const live = el('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'sms-count-live' });
  input.after(count, live);
  input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${count.id}`.trim());
  let heard = 1; // a short reply is one text: only say so again once that changes
  const update = (quiet = false) => {
    const info = textSegments(input.value.trim()); // what is sent is trimmed (conversations.js)
    const words = describeCount(info);
    setText(count, words);
    const segments = Math.max(info.segments, 1);
    if (quiet) setText(live, '');
    else if (segments !== heard) setText(live, words);
    heard = segments;
  };
  input.addEventListener('input', () => update());
  update(true);
  return update;
}

/**
 * The delivery of the adviser's replies in one text conversation, shown under each reply.
 * announce(text) is told when a reply did not reach the citizen.
 */
export function createDeliveries(list, name, announce) {
  const statuses = new Map();
  const find = (id) => list.querySelector(`[data-message-id="${CSS.escape(id)}"]`);

  /** A reply appeared in the transcript: show how far it got (Sending… if it is ours and no news yet). */
  function added(item, id, mine) {
    const status = statuses.get(id) ?? (mine ? 'pending' : null);
    if (status) renderDelivery(item, DELIVERY, status);
  }

  /** A message.status frame; it may come before the reply itself. */
  function update(id, status) {
    const now = laterDelivery(statuses.get(id), status);
    if (!now || now === statuses.get(id)) return;
    statuses.set(id, now);
    const item = find(id);
    if (item) {
      // Keep the newest line in view when the transcript was scrolled to the bottom (as addMessage does).
      const log = list.parentElement;
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      renderDelivery(item, DELIVERY, now);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    if (now === 'opted_out') {
      announce(`Not sent: ${name} texted STOP. They get no texts until they text START.`);
    } else if (DELIVERY[now].tone === 'failed') {
      announce(`Your text to ${name} was not delivered. Try again, or contact them another way.`);
    }
  }

  return { added, update };
}

/** Show a reply's `status` under it, in the words of `shown` (the channel's table of tone and text). */
export function renderDelivery(item, shown, status) {
  const { tone, text } = shown[status];
  let line = item.querySelector('.message__delivery');
  if (!line) {
    // Not read out by the transcript's live log on each change: the channel announces what matters.
    line = el('p', { class: 'message__delivery', 'data-testid': 'message-delivery', 'aria-live': 'off' });
    item.append(line);
  }
  line.dataset.status = status;
  line.dataset.tone = tone;
  setText(line, text);
}
