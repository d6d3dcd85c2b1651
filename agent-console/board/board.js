// Queue board: live queue and adviser figures from /ws/board, for supervisors and admins, with
// filters, who is waiting, adviser actions, monitoring, reports and routing receipts.

import { byId, el, createAnnouncer, fetchQueues, parseTime, formatHMS } from '/static/dom.js';
import { startAuth, fetchMe } from '/static/auth.js';
import { openSocket, showConnectionState } from '/static/ws.js';
import { renderQueues, isLongWait } from './tables.js';
import { renderAgents, tickAgents } from './agents.js';
import { setupReceipts, openReceipt } from './receipt.js';
import { setupFilters } from './filters.js';
import { setupStatusActions } from './status.js';
import { setupWaiting } from './waiting.js';
import { setupReports } from './reports.js';
import { setupTimeline } from './timeline.js';
import { setupMonitor } from './monitor.js';
import { channelPlural } from './words.js';

const ANNOUNCE_EVERY_MS = 10000;
const ALLOWED_ROLES = new Set(['supervisor', 'admin']);

const announce = createAnnouncer(byId('board-announcer'), 9000);
const labels = new Map();
const queueLabel = (name) => labels.get(name) || name;

let socket = null;
let latest = null; // the last board.snapshot
let announced = null; // Map name -> { waiting, longWait } last told to screen reader users
let lastAnnounceAt = 0;
let announceTimer = null;
let clockSkewMs = 0;
let filters = null;
let waiting = null;
let monitor = null;
let reports = null;

setupReceipts({ label: queueLabel });

startAuth({
  appView: 'board',
  forbiddenView: 'forbidden-view',
  isAllowed: (me) => ALLOWED_ROLES.has(me?.user?.role),
  onSignedIn: start,
  onSignOut: () => socket?.close(),
});

async function start() {
  const queues = await fetchQueues();
  for (const q of queues) labels.set(q.name, q.display_name || q.name);
  filters = setupFilters({ queues, label: queueLabel, onChange: filtersChanged });
  waiting = setupWaiting({ queues, label: queueLabel, announce, openReceipt });
  reports = setupReports({ filters: () => filters.current(), label: queueLabel });
  const timeline = setupTimeline();
  setupStatusActions({ announce });
  monitor = setupMonitor({ send: (frame) => socket?.send(frame) ?? false, label: queueLabel, announce });
  wireButtons(timeline);
  socket = openSocket('/ws/board', { onMessage: handleFrame, onStatus: onSocketStatus, onOpen: opened });
  setInterval(() => tickAgents(byId('agents-body'), Date.now() - clockSkewMs), 1000);
  if (filters.current().queue) waiting.show(filters.current().queue);
  reports.load();
}

/** The buttons in the tables: "Show who is waiting", "Timeline" and "Monitor" (status buttons: status.js). */
function wireButtons(timeline) {
  byId('queues-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action="waiting"]');
    if (button) waiting.show(button.dataset.queueName, { focus: true });
  });
  byId('agents-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const row = button?.closest('tr[data-agent-id]');
    if (!row) return;
    if (button.dataset.action === 'timeline') timeline.show(row.dataset.agentId, row.dataset.agentName);
    if (button.dataset.action === 'monitor') {
      const { conversationId: id, channel, queueName: queue, agentName } = button.dataset;
      monitor.start({ id, channel, queue, agentName });
    }
  });
}

/** After every (re)connect: ask for only what changes, in the queue chosen (docs/protocol.md board.watch). */
function opened() {
  watch();
  monitor.reconnected();
}

function watch() {
  const { queue } = filters.current();
  socket?.send({ type: 'board.watch', queues: queue ? [queue] : null });
}

function filtersChanged(chosen) {
  watch();
  if (chosen.queue) waiting.show(chosen.queue);
  if (latest) draw();
  reports?.filtersChanged();
}

function onSocketStatus(state, attempt) {
  showConnectionState(byId('connection-banner'), state, 'Connection lost. Reconnecting… The figures below may be out of date.');
  if (state === 'reconnecting' && attempt >= 3) {
    fetchMe().then((me) => { if (me === null) location.reload(); }).catch(() => {});
  }
}

function handleFrame(frame) {
  if (monitor?.handle(frame)) return;
  if (frame.type === 'board.snapshot') receive(frame);
  else if (frame.type === 'board.changes' && latest) receive(merged(latest, frame));
  else if (frame.type === 'error') byId('board-error').textContent = frame.message || `Something went wrong (${frame.code}).`;
}

/** The last snapshot with the rows a board.changes frame holds put in place of the old ones. */
function merged(snapshot, changes) {
  const swap = (rows, changed, key) => {
    const fresh = new Map((Array.isArray(changed) ? changed : []).map((row) => [key(row), row]));
    return (Array.isArray(rows) ? rows : []).map((row) => fresh.get(key(row)) || row);
  };
  return {
    ...snapshot,
    at: changes.at || snapshot.at,
    queues: swap(snapshot.queues, changes.queues, (q) => q.name),
    agents: swap(snapshot.agents, changes.agents, (a) => String(a.id)),
  };
}

/** A snapshot (or a snapshot with changes merged in) from the service. */
function receive(frame) {
  latest = frame;
  const at = parseTime(frame.at);
  // Time in status is measured against the server's clock, so a wrong PC clock does not skew it.
  clockSkewMs = at ? Date.now() - at.getTime() : 0;
  byId('board-updated').textContent = `Updated ${formatHMS(at || new Date())}`;
  byId('board-error').textContent = '';
  draw();
}

/** Draws the last snapshot through the filters chosen. */
function draw() {
  const { queue, channel } = filters.current();
  const all = Array.isArray(latest.queues) ? latest.queues : [];
  const queues = queue ? all.filter((q) => q.name === queue) : all;
  const agents = Array.isArray(latest.agents) ? latest.agents : [];
  renderQueues(byId('queues-body'), byId('queues-empty'), queues, queueLabel, channel);
  setCaption(channel);
  renderAgents(byId('agents-body'), byId('agents-empty'), agents, Date.now() - clockSkewMs, { queue, channel }, queueLabel);
  waiting.update(all, channel);
  scheduleAnnouncement(queues);
}

/** "Queues", or "Queues: chats only" with a note that the waits still count every channel. */
function setCaption(channel) {
  const caption = byId('queues-caption');
  if (caption.dataset.channel === channel) return;
  caption.dataset.channel = channel;
  if (!channel) {
    caption.replaceChildren('Queues');
    return;
  }
  caption.replaceChildren(
    `Queues: ${channelPlural(channel).toLowerCase()} only`,
    el('span', { class: 'caption-note', text: 'Longest wait, estimated wait, alert and escalated count every channel.' }),
  );
}

/** Queue a summary of meaningful changes; at most one announcement every 10 seconds. */
function scheduleAnnouncement(queues) {
  if (!announced) {
    announced = summarise(queues); // first snapshot is the baseline: nothing to announce
    return;
  }
  if (announceTimer || changes(queues).length === 0) return;
  const wait = Math.max(0, lastAnnounceAt + ANNOUNCE_EVERY_MS - Date.now());
  announceTimer = setTimeout(flushAnnouncement, wait);
}

function shownQueues() {
  const all = Array.isArray(latest?.queues) ? latest.queues : [];
  const { queue } = filters.current();
  return queue ? all.filter((q) => q.name === queue) : all;
}

function flushAnnouncement() {
  announceTimer = null;
  const queues = shownQueues();
  const lines = changes(queues);
  announced = summarise(queues);
  if (lines.length === 0) return;
  lastAnnounceAt = Date.now();
  announce(lines.join(' '));
}

function summarise(queues) {
  return new Map(queues.map((q) => [q.name, { waiting: q.waiting ?? null, longWait: isLongWait(q) }]));
}

function changes(queues) {
  const lines = [];
  for (const q of queues) {
    const before = announced.get(q.name);
    const label = queueLabel(q.name);
    if (q.waiting !== null && q.waiting !== undefined && before && q.waiting !== before.waiting) {
      lines.push(`${q.waiting} waiting in ${label}.`);
    }
    if (isLongWait(q) && before && !before.longWait) lines.push(`${label}: someone has been waiting over 1 minute.`);
  }
  return lines;
}
