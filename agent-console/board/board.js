// Queue board: live queue and agent figures from /ws/board, for supervisors and admins.

import { byId, createAnnouncer, fetchQueues, parseTime, formatHMS } from '/static/dom.js';
import { startAuth, fetchMe } from '/static/auth.js';
import { openSocket, showConnectionState } from '/static/ws.js';
import { renderQueues, renderAgents, tickAgents, isLongWait } from './tables.js';
import { setupReceipts } from './receipt.js';

const ANNOUNCE_EVERY_MS = 10000;
const ALLOWED_ROLES = new Set(['supervisor', 'admin']);

const announce = createAnnouncer(byId('board-announcer'), 9000);
const labels = new Map();
const queueLabel = (name) => labels.get(name) || name;

let socket = null;
let latestQueues = null;
let announced = null; // Map name -> { waiting, longWait } last told to screen reader users
let lastAnnounceAt = 0;
let announceTimer = null;
let clockSkewMs = 0;

setupReceipts({ label: queueLabel });

startAuth({
  appView: 'board',
  forbiddenView: 'forbidden-view',
  isAllowed: (me) => ALLOWED_ROLES.has(me?.user?.role),
  onSignedIn: start,
  onSignOut: () => socket?.close(),
});

async function start() {
  for (const q of await fetchQueues()) labels.set(q.name, q.display_name || q.name);
  socket = openSocket('/ws/board', { onMessage: handleFrame, onStatus: onSocketStatus });
  setInterval(() => tickAgents(byId('agents-body'), Date.now() - clockSkewMs), 1000);
}

function onSocketStatus(state, attempt) {
  showConnectionState(byId('connection-banner'), state, 'Connection lost. Reconnecting… The figures below may be out of date.');
  if (state === 'reconnecting' && attempt >= 3) {
    fetchMe().then((me) => { if (me === null) location.reload(); }).catch(() => {});
  }
}

function handleFrame(frame) {
  if (frame.type === 'board.snapshot') renderSnapshot(frame);
  else if (frame.type === 'error') byId('board-error').textContent = frame.message || `Something went wrong (${frame.code}).`;
}

function renderSnapshot(frame) {
  const at = parseTime(frame.at) || new Date();
  // Time in status is measured against the server's clock, so a wrong PC clock does not skew it.
  clockSkewMs = parseTime(frame.at) ? Date.now() - at.getTime() : 0;
  const queues = Array.isArray(frame.queues) ? frame.queues : [];
  const agents = Array.isArray(frame.agents) ? frame.agents : [];
  renderQueues(byId('queues-body'), byId('queues-empty'), queues, queueLabel);
  renderAgents(byId('agents-body'), byId('agents-empty'), agents, Date.now() - clockSkewMs);
  byId('board-updated').textContent = `Updated ${formatHMS(at)}`;
  byId('board-error').textContent = '';
  latestQueues = queues;
  scheduleAnnouncement();
}

/** Queue a summary of meaningful changes; at most one announcement every 10 seconds. */
function scheduleAnnouncement() {
  if (!announced) {
    announced = summarise(latestQueues); // first snapshot is the baseline: nothing to announce
    return;
  }
  if (announceTimer || changes().length === 0) return;
  const wait = Math.max(0, lastAnnounceAt + ANNOUNCE_EVERY_MS - Date.now());
  announceTimer = setTimeout(flushAnnouncement, wait);
}

function flushAnnouncement() {
  announceTimer = null;
  const lines = changes();
  announced = summarise(latestQueues);
  if (lines.length === 0) return;
  lastAnnounceAt = Date.now();
  announce(lines.join(' '));
}

function summarise(queues) {
  return new Map(queues.map((q) => [q.name, { waiting: q.waiting ?? null, longWait: isLongWait(q) }]));
}

function changes() {
  const lines = [];
  for (const q of latestQueues || []) {
    const before = announced.get(q.name);
    const label = queueLabel(q.name);
    if (q.waiting !== null && q.waiting !== undefined && q.waiting !== before?.waiting) {
      lines.push(`${q.waiting} waiting in ${label}.`);
    }
    if (isLongWait(q) && !before?.longWait) lines.push(`${label}: someone has been waiting over 1 minute.`);
  }
  return lines;
}
