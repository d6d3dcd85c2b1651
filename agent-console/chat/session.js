// The citizen's chat session: socket, resume, queue position, messages and ending.

import { byId, uuid, focusNode, setBusy, isBusy } from '/static/dom.js';
import { openSocket, showConnectionState } from '/static/ws.js';
import { createTranscript, renderPending } from './transcript.js';

export const TOKEN_KEY = 'contactd.chat.resume_token'; // sessionStorage; verify.js: is a chat being resumed?
const PENDING_KEY = 'contactd.chat.pending';
const ERROR_KEYS = { queue_closed: 'queueClosed', unknown_queue: 'unknownQueue' };

/**
 * deps: { state, t(key, vars), storage, showError(text, key), callback, verify } (callback.js's and verify.js's forms).
 * state is shared with chat.js (language, phase, pending start).
 */
export function createSession({ state, t, storage, showError, callback, verify }) {
  const transcript = createTranscript(byId('transcript-list'), byId('transcript'), {
    senderLabel: (from, agentName) => {
      if (from === 'citizen') return t('you');
      if (from === 'agent') return agentName || state.agentName || t('adviser');
      return '';
    },
    t,
  });

  /** Starts a chat (from the start form) or sends the start frame once connected. */
  function start(frame) {
    state.pendingStart = frame;
    if (state.connected) state.socket.send(frame);
    else connect();
  }

  /** Called on load: resume a chat whose token is in sessionStorage. */
  function restore() {
    restorePending();
    if (storage.get(TOKEN_KEY)) resumeSaved();
  }

  /** Re-renders the chat's own strings after a language change. */
  function relabel() {
    renderQueueStatus();
    renderEnded();
    transcript.relabel();
  }

  /* ---------- connection ---------- */

  function connect() {
    if (state.socket) return;
    state.socket = openSocket('/ws/chat', { onOpen, onMessage: handleFrame, onStatus });
  }

  function onOpen() {
    const token = storage.get(TOKEN_KEY);
    if (token) {
      state.resuming = true;
      state.socket.send({ type: 'chat.resume', resume_token: token });
    } else if (state.pendingStart) {
      state.socket.send(state.pendingStart);
    }
  }

  function onStatus(status) {
    state.connected = status === 'open';
    showConnectionState(byId('connection-banner'), status, t('reconnecting'));
    showPending();
    callback.render();
    verify.render();
  }

  function disconnect() {
    const socket = state.socket;
    state.socket = null;
    state.connected = false;
    socket?.close();
  }

  function resumeSaved() {
    state.phase = 'resuming';
    enterChat(false);
    renderQueueStatus();
    connect();
  }

  const HANDLERS = {
    'chat.queued': onQueued,
    'chat.resumed': onResumed,
    'chat.agent_joined': onAgentJoined,
    'chat.transferred': onTransferred,
    message: onMessage,
    'chat.ended': onEnded,
    'chat.closed': onClosed,
    'callback.accepted': onCallbackAccepted,
    'verify.sent': verify.sent,
    'verify.done': verify.done,
    error: onError,
  };

  function handleFrame(frame) {
    HANDLERS[frame.type]?.(frame);
  }

  /* ---------- server frames ---------- */

  function onQueued(frame) {
    if (state.phase === 'ended') return;
    state.pendingStart = null;
    if (frame.resume_token) storage.set(TOKEN_KEY, frame.resume_token);
    idle(byId('start-button'), t);
    if (state.errorKey !== 'queuesUnavailable') showError('');
    state.lastQueued = frame;
    const firstTime = state.phase === 'start';
    state.phase = 'queued';
    if (firstTime) enterChat(true);
    renderQueueStatus();
  }

  function onResumed(frame) {
    state.resuming = false;
    showError('');
    if (frame.agent_name) state.agentName = frame.agent_name;
    transcript.clear();
    // Put the "has joined" line back before the first adviser message, where it stood before the reload.
    let joinedShown = false;
    for (const msg of frame.transcript || []) {
      if (!joinedShown && msg.from === 'agent' && state.agentName) {
        transcript.addNotice('agentJoined', { name: state.agentName });
        joinedShown = true;
      }
      transcript.add(msg);
      state.pending.delete(msg.id);
    }
    if (!joinedShown && frame.state === 'assigned' && state.agentName) {
      transcript.addNotice('agentJoined', { name: state.agentName });
    }
    if (frame.state === 'ended') return onEnded({ by: null });
    state.phase = frame.state === 'assigned' ? 'assigned' : 'queued';
    if (byId('chat-section').hidden) enterChat(false);
    renderQueueStatus();
    resendPending();
  }

  function onAgentJoined(frame) {
    state.agentName = frame.agent_name || null;
    state.phase = 'assigned';
    transcript.addNotice('agentJoined', { name: state.agentName || t('adviser') });
    renderQueueStatus();
  }

  /** The adviser handed the chat on: back to waiting until chat.queued and the next chat.agent_joined. */
  function onTransferred() {
    if (state.phase === 'ended') return;
    state.phase = 'queued';
    state.agentName = null;
    state.lastQueued = null;
    transcript.addNotice('transferred');
    renderQueueStatus();
  }

  function onMessage(frame) {
    transcript.add(frame, frame.from === 'agent' ? state.agentName : null);
    if (state.pending.delete(frame.id)) savePending();
    showPending();
  }

  function onEnded(frame) {
    const hadFocus = byId('chat-section').contains(document.activeElement) || document.activeElement === document.body;
    finish(frame.by || null, hadFocus);
  }

  /** The chat has become a call back: it is over on this page, and the confirmation takes focus. */
  function onCallbackAccepted(frame) {
    if (state.phase === 'ended') return;
    callback.accepted(frame);
    finish('callback', true);
  }

  /** The chat is over on this page (ended, or a call back instead): forget it, so a reload starts afresh. */
  function finish(by, moveFocus) {
    state.phase = 'ended';
    state.endedBy = by;
    state.pending.clear();
    savePending();
    storage.remove(TOKEN_KEY);
    disconnect();
    idle(byId('end-button'), t);
    if (byId('chat-section').hidden) enterChat(false);
    byId('message-form').hidden = true;
    byId('ended-section').hidden = false;
    renderQueueStatus();
    renderEnded();
    showPending();
    if (moveFocus) focusNode(byId('ended-message'));
  }

  function onError(frame) {
    if (state.resuming) return resumeFailed();
    if (frame.id && state.pending.has(frame.id)) return messageRejected(frame.id);
    if (callback.rejected(frame) || verify.rejected(frame)) return;
    if (state.pendingStart) {
      state.pendingStart = null;
      idle(byId('start-button'), t);
    }
    idle(byId('end-button'), t);
    const key = ERROR_KEYS[frame.code];
    if (key && (state.lang === 'cy' || !frame.message)) showError(t(key), key);
    else if (frame.message) showError(frame.message);
    else showError(t('errorGeneric'), 'errorGeneric');
  }

  /** The topic is closed (opening hours): the contact is recorded; the server's words say when it opens. */
  function onClosed(frame) {
    state.pendingStart = null;
    storage.remove(TOKEN_KEY);
    disconnect();
    resetToStart();
    const message = typeof frame.message === 'string' && frame.message ? frame.message : t('queueClosed');
    showError(message, 'queueClosed');
  }

  function resumeFailed() {
    state.resuming = false;
    storage.remove(TOKEN_KEY);
    state.pending.clear();
    savePending();
    disconnect();
    resetToStart();
    showError(t('resumeFailed'), 'resumeFailed');
  }

  function messageRejected(id) {
    const input = byId('message-input');
    const text = state.pending.get(id);
    state.pending.delete(id);
    savePending();
    showPending();
    input.value = input.value ? `${text}\n${input.value}` : text;
    showError(t('messageRejected'), 'messageRejected');
  }

  /* ---------- chat actions ---------- */

  function sendMessage() {
    const input = byId('message-input');
    const text = input.value.trim();
    if (!['queued', 'assigned', 'resuming'].includes(state.phase)) return;
    if (!text) {
      byId('message-error').textContent = t('messageMissing');
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    byId('message-error').textContent = '';
    input.removeAttribute('aria-invalid');
    const id = uuid();
    state.pending.set(id, text);
    savePending();
    input.value = '';
    if (canSend()) state.socket.send({ type: 'message', id, text });
    showPending();
  }

  function canSend() {
    return state.connected && !state.resuming && Boolean(state.socket);
  }

  /** Sends a frame about this chat now; false if not connected (callback.js). */
  function send(frame) {
    return canSend() && state.socket.send(frame);
  }

  function resendPending() {
    if (!canSend()) return;
    for (const [id, text] of state.pending) state.socket.send({ type: 'message', id, text });
    showPending();
  }

  function endChat() {
    const button = byId('end-button');
    if (isBusy(button) || state.phase === 'ended') return;
    if (!canSend() || !state.socket.send({ type: 'chat.end' })) {
      showError(t('notConnected'), 'notConnected');
      return;
    }
    busy(button, 'ending', t);
  }

  function newChat() {
    state.endedBy = null;
    resetToStart();
    focusNode(byId('start-heading'));
  }

  /* ---------- rendering ---------- */

  function enterChat(moveFocus) {
    byId('start-section').hidden = true;
    byId('chat-section').hidden = false;
    byId('message-form').hidden = state.phase === 'ended';
    byId('ended-section').hidden = state.phase !== 'ended';
    if (moveFocus) focusNode(byId('chat-heading'));
  }

  function resetToStart() {
    state.phase = 'start';
    state.agentName = null;
    state.lastQueued = null;
    transcript.clear();
    callback.reset();
    verify.reset();
    byId('chat-section').hidden = true;
    byId('start-section').hidden = false;
    byId('language').value = state.lang;
    idle(byId('start-button'), t);
    renderQueueStatus();
    renderEnded();
  }

  function renderQueueStatus() {
    callback.render();
    verify.render();
    const box = byId('queue-status');
    if (state.phase === 'resuming') {
      box.hidden = false;
      box.textContent = t('resuming');
      return;
    }
    if (state.phase !== 'queued') {
      box.hidden = true;
      box.textContent = '';
      return;
    }
    box.hidden = false;
    const text = queueStatusText(state.lastQueued, t);
    if (box.textContent !== text) box.textContent = text;
  }

  /** "The chat has ended." plus who ended it, or the call back's confirmation; empty unless the chat has ended. */
  function renderEnded() {
    if (state.phase === 'ended' && state.endedBy === 'callback') {
      byId('ended-message').textContent = callback.confirmation();
      return;
    }
    const detail = { agent: 'endedByAgent', citizen: 'endedByCitizen' }[state.endedBy];
    const text = state.phase === 'ended' ? [t('ended'), detail ? t(detail) : ''].join(' ').trim() : '';
    byId('ended-message').textContent = text;
  }

  function showPending() {
    renderPending(byId('pending'), byId('pending-list'), state.pending, !canSend() && state.phase !== 'ended');
  }

  function savePending() {
    if (state.pending.size) storage.set(PENDING_KEY, JSON.stringify([...state.pending]));
    else storage.remove(PENDING_KEY);
  }

  function restorePending() {
    try {
      const saved = JSON.parse(storage.get(PENDING_KEY) || '[]');
      if (Array.isArray(saved)) state.pending = new Map(saved.filter((p) => Array.isArray(p) && p.length === 2));
    } catch {
      state.pending = new Map();
    }
  }

  return { start, restore, relabel, send, sendMessage, endChat, newChat };
}

/** "You are number 2 in the queue. Estimated wait: about 3 minutes." for a chat.queued frame (chats and calls). */
export function queueStatusText(q, t) {
  if (!q || q.position === null || q.position === undefined) return t('inQueue');
  let text = t('queuePosition', { n: q.position });
  if (q.estimated_wait_s !== null && q.estimated_wait_s !== undefined && Number.isFinite(Number(q.estimated_wait_s))) {
    text += ` ${t('estimatedWait', { m: Math.max(1, Math.round(Number(q.estimated_wait_s) / 60)) })}`;
  }
  return text;
}

/** Marks a button busy with a translatable label (re-translated by chat.js on language change). */
export function busy(button, key, t) {
  button.dataset.busyKey = key;
  setBusy(button, true, t(key));
}

/** Restores a busy button, in the current language. */
export function idle(button, t) {
  setBusy(button, false);
  delete button.dataset.busyKey;
  if (button.dataset.i18n) button.textContent = t(button.dataset.i18n);
}
