// Agent console: sign-in, status, offers and conversations over /ws/agent.

import { byId, el, createAnnouncer, fetchQueues } from '/static/dom.js';
import { startAuth, fetchMe } from '/static/auth.js';
import { openSocket, showConnectionState } from '/static/ws.js';
import { createOffers } from './offers.js';
import { createConversations } from './conversations.js';
import { createAgentDirectory } from './agents.js';
import { createCalls } from './calls.js';
import { loadLines } from './channels.js';

const STATUS_LABELS = { available: 'Available', away: 'Away', offline: 'Offline' };
const DEFAULT_DISPOSITIONS = ['resolved', 'follow-up', 'referred', 'no-action'];
const BASE_TITLE = document.title;
const MISSED_OFFERS_TEXT = 'You missed several chat offers in a row, so your status is now Away (missed offers). '
  + 'Choose Available when you are ready to take chats again.';

const announce = createAnnouncer(byId('announcer'));
const announcePolite = createAnnouncer(byId('polite-announcer'));

let socket = null;
let offers = null;
let conversations = null;
let calls = null;
let currentStatus = null;
let requestedStatus = null;
let shownLoad = null;

startAuth({ appView: 'console', onSignedIn: start, onSignOut: () => socket?.close() });

async function start(me) {
  const queueList = await fetchQueues();
  const labels = new Map(queueList.map((q) => [q.name, q.display_name || q.name]));
  const queueLabel = (name) => labels.get(name) || name || 'Unknown queue';
  const ctx = {
    send, announce, announcePolite, showError, queueLabel,
    queues: queueList.map((q) => ({ name: q.name, label: queueLabel(q.name) })),
    dispositions: Array.isArray(me.dispositions) && me.dispositions.length ? me.dispositions : DEFAULT_DISPOSITIONS,
    onCountChange: updateTitle,
    agents: createAgentDirectory(me.user?.id),
  };
  calls = createCalls(ctx);
  ctx.calls = calls;
  offers = createOffers(byId('offers'), byId('offers-empty'), ctx);
  conversations = createConversations(byId('conversations'), byId('conversations-empty'), ctx);
  byId('status-select').addEventListener('change', onStatusChosen);
  socket = openSocket('/ws/agent', { onMessage: handleFrame, onStatus: onSocketStatus, onOpen: sendRequestedStatus });
}

function send(frame) {
  return Boolean(socket?.send(frame));
}

const HANDLERS = {
  'agent.state': renderAgentState,
  offer: (f) => offers.add(f),
  'offer.withdrawn': (f) => offers.withdraw(f),
  'conversation.assigned': onAssigned,
  message: (f) => conversations.message(f),
  'message.status': (f) => conversations.messageStatus(f),
  'conversation.history': (f) => conversations.history(f),
  'conversation.ended': (f) => conversations.ended(f),
  'conversation.closed': (f) => conversations.closed(f),
  'rtc.answer': (f) => calls.answer(f),
  'call.state': (f) => calls.state(f),
  'call.dtmf': (f) => calls.dtmf(f),
  'call.recording': (f) => calls.recording(f),
  'call.supervisor': (f) => calls.supervisor(f),
  error: handleError,
};

/** A new or re-sent conversation. If the agent just accepted it from the keyboard, go to its reply box (or call). */
function onAssigned(frame) {
  const fromOffer = offers.remove(frame.conversation_id, { moveFocus: false });
  conversations.assign(frame);
  if (fromOffer) conversations.focusInput(frame.conversation_id);
}

function handleFrame(frame) {
  const handler = HANDLERS[frame.type];
  if (handler) handler(frame);
}

function onSocketStatus(state, attempt) {
  showConnectionState(byId('connection-banner'), state, 'Connection lost. Reconnecting…');
  if (state === 'open') {
    showError('');
  } else {
    // Calls need the socket to renegotiate: drop their peers now; the server re-sends
    // conversation.assigned on reconnect, and each call then sends a new offer.
    calls?.suspendAll();
  }
  // Repeated failures may mean the session has expired: check, and go back to sign-in if so.
  if (state === 'reconnecting' && attempt >= 3) {
    fetchMe().then((me) => { if (me === null) location.reload(); }).catch(() => {});
  }
}

function onStatusChosen(event) {
  requestedStatus = event.target.value;
  if (!sendRequestedStatus()) {
    announcePolite('You are not connected yet. Your status will be changed when you are connected.');
  }
}

/** Sends a status the agent chose that the server has not confirmed yet (also after reconnecting). */
function sendRequestedStatus() {
  if (!requestedStatus) return true;
  return send({ type: 'agent.status', status: requestedStatus });
}

function renderAgentState(frame) {
  const status = frame.status;
  const label = STATUS_LABELS[status] || status || 'Unknown';
  const firstState = currentStatus === null;
  const changedByServer = currentStatus && status !== currentStatus && status !== requestedStatus;
  currentStatus = status;
  if (status === requestedStatus) requestedStatus = null;
  const reason = status === 'away' && frame.reason ? ` (${frame.reason})` : '';
  byId('status-text').textContent = label + reason;
  byId('status-summary').dataset.status = status;
  const select = byId('status-select');
  if (STATUS_LABELS[status]) select.value = requestedStatus || status;
  renderLoad(frame.load, frame.capacity);
  byId('conversations-empty').textContent = status === 'available'
    ? 'No conversations yet. New chats will appear here when you accept an offer.'
    : 'No conversations yet. Set yourself Available to receive chats.';
  const missed = status === 'away' && frame.reason === 'missed offers';
  if (missed && (changedByServer || firstState)) {
    showMissedOffers();
  } else if (changedByServer) {
    announcePolite(`Your status is now ${label}${reason}.`);
  }
  if (status === 'available' && byId('console-error').textContent === MISSED_OFFERS_TEXT) showError('');
}

/** The workload in the status bar: a list, one line a channel ("Chats: 1 of 3"), redrawn only when it changed. */
function renderLoad(load, capacity) {
  const lines = loadLines(load, capacity);
  const key = lines.map((line) => line.text).join('\n');
  if (key === shownLoad) return;
  shownLoad = key;
  const items = lines.map((line) => el('li', { 'data-channel': line.channel, text: line.text }));
  byId('load-text').replaceChildren(el('ul', { class: 'load-list', 'data-testid': 'load' },
    items.length ? items : el('li', { text: 'No contacts: you have no capacity set' })));
}

function handleError(frame) {
  const text = frame.message || `Something went wrong (${frame.code || 'unknown error'}).`;
  if (frame.id && conversations?.messageFailed(frame.id, frame.message)) return;
  if (!frame.id && calls?.offerFailed(frame)) return;
  offers?.resetBusy();
  conversations?.resetBusy();
  calls?.resetBusy();
  requestedStatus = null;
  if (currentStatus) byId('status-select').value = currentStatus;
  showError(text);
}

/** Tells the agent, in the alert area (read out by screen readers), why they were set away. */
function showMissedOffers() {
  showError(MISSED_OFFERS_TEXT);
}

/** Shows an error in the alert area (empty text clears it). */
function showError(text) {
  const dismiss = byId('console-error-dismiss');
  byId('console-error-box').hidden = !text;
  byId('console-error').textContent = text;
  if (!dismiss.dataset.bound) {
    dismiss.dataset.bound = 'true';
    dismiss.addEventListener('click', () => {
      showError('');
      byId('console').focus();
    });
  }
}

function updateTitle(offerCount) {
  const offers = offerCount === 1 ? 'New offer' : 'New offers';
  document.title = offerCount > 0 ? `(${offerCount}) ${offers} – ${BASE_TITLE}` : BASE_TITLE;
}
