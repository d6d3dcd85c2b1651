// In-place rendering of the queue board tables: rows are created once and cells
// are only written when their text changes, so focus and screen readers are not disturbed.

import { el, setText, parseTime, formatDuration } from '/static/dom.js';

export const LONG_WAIT_S = 60;
const DASH = '–';
const STATUS_LABELS = { available: 'Available', away: 'Away', offline: 'Offline', busy: 'Busy' };

const QUEUE_FIELDS = [
  { field: 'waiting', numeric: true, format: count },
  { field: 'longest_wait_s', numeric: true, format: (v) => formatDuration(v) },
  { field: 'alert', format: () => '' },
  { field: 'escalated', format: escalated },
  { field: 'offered', numeric: true, format: count },
  { field: 'answered', numeric: true, format: count },
  { field: 'abandoned', numeric: true, format: count },
  { field: 'service_level_pct', numeric: true, format: percent },
  { field: 'asa_s', numeric: true, format: (v) => formatDuration(v) },
  { field: 'aht_s', numeric: true, format: (v) => formatDuration(v) },
];

function known(value) {
  return value !== null && value !== undefined && Number.isFinite(Number(value));
}

function count(value) {
  return known(value) ? String(Math.round(Number(value))) : DASH;
}

function percent(value) {
  return known(value) ? `${Math.round(Number(value))}%` : DASH;
}

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

/** Keeps tbody rows in step with a list; rows are keyed by key(item). */
function syncRows(tbody, emptyRow, items, key, attr, createRow, updateRow) {
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

export function renderQueues(tbody, emptyRow, queues, queueLabel) {
  syncRows(tbody, emptyRow, queues, (q) => q.name, 'data-queue', createQueueRow, (row, q) => updateQueueRow(row, q, queueLabel));
}

function createQueueRow() {
  const row = el('tr', {}, el('th', { scope: 'row', 'data-field': 'name' }));
  for (const { field, numeric } of QUEUE_FIELDS) {
    row.append(el('td', { 'data-field': field, class: numeric ? 'numeric' : null }));
  }
  return row;
}

function updateQueueRow(row, queue, queueLabel) {
  setText(row.querySelector('[data-field="name"]'), queueLabel(queue.name));
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

export function renderAgents(tbody, emptyRow, agents, now) {
  syncRows(tbody, emptyRow, agents, (a) => a.id, 'data-agent-id', createAgentRow, (row, a) => updateAgentRow(row, a, now));
}

function createAgentRow() {
  const status = el('td', { 'data-field': 'status' }, [
    el('span', { class: 'status-dot', 'aria-hidden': 'true' }),
    el('span', { class: 'status-label' }),
  ]);
  return el('tr', {}, [
    el('th', { scope: 'row', 'data-field': 'name' }),
    status,
    el('td', { 'data-field': 'since', class: 'numeric' }),
    el('td', { 'data-field': 'load', class: 'numeric' }),
  ]);
}

function updateAgentRow(row, agent, now) {
  setText(row.querySelector('[data-field="name"]'), agent.name || agent.id);
  const status = row.querySelector('[data-field="status"]');
  status.dataset.status = agent.status || '';
  setText(status.querySelector('.status-label'), statusLabel(agent.status));
  const since = row.querySelector('[data-field="since"]');
  const sinceDate = parseTime(agent.since);
  if (sinceDate) since.dataset.since = String(sinceDate.getTime());
  else delete since.dataset.since;
  updateTimeInState(since, now);
  setText(row.querySelector('[data-field="load"]'), count(agent.load?.chat));
}

function statusLabel(status) {
  if (!status) return DASH;
  return STATUS_LABELS[status] || status.charAt(0).toUpperCase() + status.slice(1);
}

/** Rewrites one "time in status" cell from its data-since (epoch ms). */
export function updateTimeInState(cell, now) {
  const since = Number(cell.dataset.since);
  setText(cell, cell.dataset.since ? formatDuration((now - since) / 1000, true) : DASH);
}

export function tickAgents(tbody, now) {
  for (const cell of tbody.querySelectorAll('td[data-field="since"]')) updateTimeInState(cell, now);
}
