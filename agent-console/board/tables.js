// In-place rendering of the queue board tables: rows are created once and cells
// are only written when their text changes, so focus and screen readers are not disturbed.

import { el, setText, formatDuration } from '/static/dom.js';
import { DASH, known, count, percent } from './words.js';

export const LONG_WAIT_S = 60;

// whole: the figure is the queue's across every channel, even when one channel is chosen.
const QUEUE_FIELDS = [
  { field: 'waiting', numeric: true, format: count },
  { field: 'longest_wait_s', numeric: true, whole: true, format: (v) => formatDuration(v) },
  { field: 'estimated_wait_s', numeric: true, whole: true, format: (v) => formatDuration(v) },
  { field: 'alert', whole: true, format: () => '' },
  { field: 'escalated', whole: true, format: escalated },
  { field: 'offered', numeric: true, format: count },
  { field: 'answered', numeric: true, format: count },
  { field: 'abandoned', numeric: true, format: count },
  { field: 'service_level_pct', numeric: true, format: percent },
  { field: 'asa_s', numeric: true, format: (v) => formatDuration(v) },
  { field: 'aht_s', numeric: true, format: (v) => formatDuration(v) },
];

// A channel with no contacts today is not in `channels`: nobody waited, nothing was offered.
const QUIET_CHANNEL = { waiting: 0, offered: 0, answered: 0, abandoned: 0 };

/** {"1": 2, "2": 1} as "2 at step 1, 1 at step 2"; "–" when nobody waiting has escalated. */
export function escalated(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return DASH;
  const steps = Object.entries(value)
    .map(([step, n]) => [Number(step), Number(n)])
    .filter(([step, n]) => Number.isInteger(step) && step > 0 && Number.isFinite(n) && n > 0)
    .sort(([a], [b]) => a - b);
  return steps.length ? steps.map(([step, n]) => `${Math.round(n)} at step ${step}`).join(', ') : DASH;
}

export function isLongWait(queue) {
  return known(queue.longest_wait_s) && Number(queue.longest_wait_s) > LONG_WAIT_S;
}

/** A queue's figures for one channel ('' for all): that channel's counts, the queue's waits. */
export function channelView(queue, channel) {
  if (!channel) return queue;
  const figures = queue.channels && typeof queue.channels === 'object' ? queue.channels[channel] : null;
  const view = { name: queue.name };
  for (const { field, whole } of QUEUE_FIELDS) {
    view[field] = whole ? queue[field] : (figures || QUIET_CHANNEL)[field] ?? null;
  }
  return view;
}

/** Keeps tbody rows in step with a list; rows are keyed by key(item). */
export function syncRows(tbody, emptyRow, items, key, attr, createRow, updateRow) {
  const rows = new Map([...tbody.querySelectorAll(`tr[${attr}]`)].map((tr) => [tr.getAttribute(attr), tr]));
  const wanted = new Set();
  for (const item of items) {
    const id = key(item);
    if (id === undefined || id === null || wanted.has(String(id))) continue;
    wanted.add(String(id));
    let row = rows.get(String(id));
    if (!row) {
      row = createRow(item);
      row.setAttribute(attr, String(id));
      tbody.append(row);
    }
    updateRow(row, item);
  }
  for (const [id, row] of rows) if (!wanted.has(id)) row.remove();
  emptyRow.hidden = wanted.size > 0;
}

/** queues: as board.snapshot sends them, already filtered to the queue chosen; channel: '' or one channel. */
export function renderQueues(tbody, emptyRow, queues, queueLabel, channel = '') {
  syncRows(tbody, emptyRow, queues, (q) => q.name, 'data-queue', createQueueRow,
    (row, q) => updateQueueRow(row, channelView(q, channel), queueLabel));
}

function createQueueRow(queue) {
  const row = el('tr', {}, el('th', { scope: 'row', 'data-field': 'name' }));
  for (const { field, numeric } of QUEUE_FIELDS) {
    row.append(el('td', { 'data-field': field, class: numeric ? 'numeric' : null }));
  }
  const show = el('button', {
    type: 'button', class: 'button button--secondary button--small', 'data-action': 'waiting', 'data-queue-name': queue.name,
  }, ['Show', el('span', { class: 'visually-hidden', 'data-field': 'waiting-name' })]);
  row.append(el('td', { 'data-field': 'actions' }, show));
  return row;
}

function updateQueueRow(row, queue, queueLabel) {
  const label = queueLabel(queue.name);
  setText(row.querySelector('[data-field="name"]'), label);
  setText(row.querySelector('[data-field="waiting-name"]'), ` who is waiting in ${label}`);
  for (const { field, format } of QUEUE_FIELDS) {
    if (field === 'alert') continue;
    setText(row.querySelector(`[data-field="${field}"]`), format(queue[field]));
  }
  const alert = isLongWait(queue);
  row.classList.toggle('is-alert', alert);
  const cell = row.querySelector('[data-field="alert"]');
  const hasTag = Boolean(cell.firstElementChild);
  if (alert && !hasTag) cell.replaceChildren(el('strong', { class: 'tag tag--red', text: 'Waiting over 1 minute' }));
  if (!alert && hasTag) cell.replaceChildren();
}
