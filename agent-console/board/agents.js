// The advisers table: status, time in status, workload by channel, contacts handled today,
// the contacts they hold now (each with a Monitor button) and what a supervisor can do.
// Rows and their buttons are made once and only their text changes, so a keyboard user's
// focus stays where it is while figures update every second.

import { el, setText, parseTime, formatDuration } from '/static/dom.js';
import { loadLines } from '/console/channels.js';
import { DASH, count, statusLabel, channelName, channelNoun } from './words.js';
import { syncRows } from './tables.js';

/**
 * agents: board.snapshot's. now: epoch ms on the server's clock.
 * filter: { queue, channel } ('' for all): the workload and contacts shown. queueLabel(name).
 */
export function renderAgents(tbody, emptyRow, agents, now, filter = {}, queueLabel = (q) => q) {
  syncRows(tbody, emptyRow, agents, (a) => a.id, 'data-agent-id', createAgentRow,
    (row, a) => updateAgentRow(row, a, now, filter, queueLabel));
}

function actionButton(action, text, hidden, extra = {}) {
  return el('button', { type: 'button', class: 'button button--secondary button--small', 'data-action': action, ...extra },
    [text, el('span', { class: 'visually-hidden', 'data-name-after': hidden })]);
}

function createAgentRow() {
  const status = el('td', { 'data-field': 'status' }, [
    el('span', { class: 'status-dot', 'aria-hidden': 'true' }),
    el('span', { class: 'status-label' }),
    el('span', { class: 'status-reason', 'data-field': 'reason' }),
  ]);
  const actions = el('td', { 'data-field': 'actions' }, [
    el('div', { class: 'row-actions' }, [
      actionButton('away', 'Set away', ''),
      actionButton('available', 'Set available', ''),
      actionButton('timeline', 'Timeline', 'for'),
    ]),
  ]);
  return el('tr', {}, [
    el('th', { scope: 'row', 'data-field': 'name' }),
    status,
    el('td', { 'data-field': 'since', class: 'numeric' }),
    el('td', { 'data-field': 'load', class: 'numeric' }),
    el('td', { 'data-field': 'workload' }, el('ul', { class: 'plain-list' })),
    el('td', { 'data-field': 'handled_today', class: 'numeric' }),
    el('td', { 'data-field': 'conversations' }, el('ul', { class: 'plain-list' })),
    actions,
  ]);
}

function updateAgentRow(row, agent, now, filter, queueLabel) {
  const name = String(agent.name || `Adviser ${agent.id}`);
  row.dataset.agentName = name;
  setText(row.querySelector('[data-field="name"]'), name);
  for (const span of row.querySelectorAll('[data-name-after]')) {
    setText(span, span.dataset.nameAfter ? ` ${span.dataset.nameAfter} ${name}` : ` (${name})`);
  }
  const status = row.querySelector('[data-field="status"]');
  status.dataset.status = agent.status || '';
  setText(status.querySelector('.status-label'), statusLabel(agent.status));
  // Only shown when the board sends a reason (e.g. "set by Sam Taylor: Training").
  setText(status.querySelector('.status-reason'), agent.reason && agent.status !== 'available' ? ` (${agent.reason})` : '');
  const since = row.querySelector('[data-field="since"]');
  const sinceDate = parseTime(agent.since);
  if (sinceDate) since.dataset.since = String(sinceDate.getTime());
  else delete since.dataset.since;
  updateTimeInState(since, now);
  setText(row.querySelector('[data-field="load"]'), count(agent.load?.chat));
  setText(row.querySelector('[data-field="handled_today"]'), count(agent.handled_today));
  updateWorkload(row.querySelector('[data-field="workload"] ul'), agent, filter.channel);
  updateConversations(row, agent, name, filter, queueLabel);
}

/** "Chats: 1 of 3" for each channel the adviser takes (or the chosen one); "–" when none. */
function updateWorkload(list, agent, channel) {
  let lines = loadLines(agent.load, agent.capacity);
  if (channel) lines = lines.filter((line) => line.channel === channel);
  const texts = lines.length ? lines.map((line) => line.text) : [DASH];
  if (JSON.stringify(texts) === list.dataset.texts) return;
  list.dataset.texts = JSON.stringify(texts);
  list.replaceChildren(...texts.map((text) => el('li', { text })));
}

/** The contacts the adviser holds, each with a Monitor button; rebuilt only when the list changes. */
function updateConversations(row, agent, name, filter, queueLabel) {
  const list = row.querySelector('[data-field="conversations"] ul');
  const held = (Array.isArray(agent.conversations) ? agent.conversations : [])
    .filter((c) => c && c.id && (!filter.queue || c.queue === filter.queue) && (!filter.channel || c.channel === filter.channel));
  const key = JSON.stringify([name, held.map((c) => [c.id, c.channel, c.queue])]);
  if (key === list.dataset.key) return;
  list.dataset.key = key;
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.conversationId : null;
  list.replaceChildren(...(held.length ? held.map((c) => conversationItem(c, name, queueLabel)) : [el('li', { text: DASH })]));
  if (focused === null) return;
  // The focused button's contact ended: keep the keyboard user in this row rather than lose focus.
  const again = list.querySelector(`button[data-conversation-id="${CSS.escape(focused)}"]`);
  (again || row.querySelector('button[data-action="timeline"]')).focus();
}

function conversationItem(conv, agentName, queueLabel) {
  const queue = conv.queue ? queueLabel(conv.queue) : 'no queue';
  const what = `${channelName(conv.channel)}, ${queue}`;
  return el('li', { class: 'held-contact' }, [
    el('span', { text: what }),
    ' ',
    el('button', {
      type: 'button', class: 'button button--secondary button--small', 'data-action': 'monitor',
      'data-conversation-id': conv.id, 'data-channel': conv.channel || '', 'data-queue-name': conv.queue || '',
      'data-agent-name': agentName,
    }, ['Monitor', el('span', { class: 'visually-hidden', text: ` the ${channelNoun(conv.channel)} in ${queue} with ${agentName}` })]),
  ]);
}

/** Rewrites one "time in status" cell from its data-since (epoch ms). */
export function updateTimeInState(cell, now) {
  const since = Number(cell.dataset.since);
  setText(cell, cell.dataset.since ? formatDuration((now - since) / 1000, true) : DASH);
}

export function tickAgents(tbody, now) {
  for (const cell of tbody.querySelectorAll('td[data-field="since"]')) updateTimeInState(cell, now);
}
