// Conversation panels: transcript, replies, end chat, transfer and wrap-up.

import { uuid, focusNode, setBusy, isBusy } from '/static/dom.js';
import { buildPanel, buildMessage } from './panel.js';

const FROM = new Set(['citizen', 'agent', 'system']);

/**
 * ctx: { send(frame) -> bool, announce(text), announcePolite(text), queueLabel(name),
 *        queues: [{name,label}], dispositions: [string] }
 */
export function createConversations(container, emptyState, ctx) {
  const convs = new Map();
  const sentByMe = new Set();

  function assign(frame) {
    const id = frame.conversation_id;
    if (!id) return;
    const existing = convs.get(id);
    if (existing) {
      renderTranscript(existing, frame.transcript);
      resendPending(existing);
      return;
    }
    const conv = createConversation(frame);
    convs.set(id, conv);
    container.append(conv.parts.root);
    renderTranscript(conv, frame.transcript);
    changed();
    ctx.announcePolite(`Chat with ${conv.name} is open.`);
  }

  function createConversation(frame) {
    const name = frame.citizen?.name || 'Citizen';
    const parts = buildPanel({
      id: frame.conversation_id, name, queue: frame.queue, queueLabel: ctx.queueLabel(frame.queue),
      channel: frame.channel, language: frame.citizen?.language,
      queues: ctx.queues, dispositions: ctx.dispositions,
    });
    const conv = { id: frame.conversation_id, name, parts, state: 'active', seen: new Set(), pending: new Map() };
    parts.form.addEventListener('submit', (event) => { event.preventDefault(); submitMessage(conv); });
    parts.input.addEventListener('keydown', (event) => onInputKey(event, conv));
    parts.end.addEventListener('click', () => endChat(conv));
    parts.transfer?.addEventListener('click', () => transfer(conv));
    parts.wrapup.addEventListener('submit', (event) => { event.preventDefault(); submitWrapup(conv); });
    return conv;
  }

  function onInputKey(event, conv) {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    submitMessage(conv);
  }

  function renderTranscript(conv, transcript) {
    if (!Array.isArray(transcript)) return;
    for (const msg of transcript) addMessage(conv, msg);
  }

  function addMessage(conv, msg) {
    if (!msg || (msg.id && conv.seen.has(msg.id))) return;
    if (msg.id) conv.seen.add(msg.id);
    conv.pending.delete(msg.id);
    const from = FROM.has(msg.from) ? msg.from : 'system';
    const { log, list } = conv.parts;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    list.append(buildMessage(msg, from, senderLabel(conv, msg, from)));
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function senderLabel(conv, msg, from) {
    if (from === 'citizen') return conv.name;
    if (from === 'agent') return sentByMe.has(msg.id) ? 'You' : 'Agent';
    return 'System';
  }

  function message(frame) {
    const conv = convs.get(frame.conversation_id);
    if (conv) addMessage(conv, frame);
  }

  function submitMessage(conv) {
    const { input } = conv.parts;
    const text = input.value.trim();
    if (conv.state !== 'active') return;
    if (!text) return showSendError(conv, 'Type a message before sending.');
    const id = uuid();
    if (!ctx.send({ type: 'message', conversation_id: conv.id, id, text })) {
      return showSendError(conv, 'Not sent: you are not connected. Your message is kept here – send it again when the connection is back.');
    }
    sentByMe.add(id);
    conv.pending.set(id, text);
    input.value = '';
    showSendError(conv, '');
  }

  function showSendError(conv, text) {
    conv.parts.sendError.textContent = text;
    if (text) conv.parts.input.setAttribute('aria-invalid', 'true');
    else conv.parts.input.removeAttribute('aria-invalid');
  }

  /** After a reconnect the server re-sends conversation.assigned: send what it never echoed. */
  function resendPending(conv) {
    for (const [id, text] of conv.pending) {
      if (!conv.seen.has(id)) ctx.send({ type: 'message', conversation_id: conv.id, id, text });
    }
  }

  /** An error frame whose id is one of our messages: put the text back. Returns true if handled. */
  function messageFailed(id, reason) {
    for (const conv of convs.values()) {
      const text = conv.pending.get(id);
      if (text === undefined) continue;
      conv.pending.delete(id);
      const { input } = conv.parts;
      input.value = input.value ? `${text}\n${input.value}` : text;
      const why = (reason || 'something went wrong').replace(/[.\s]+$/, '');
      showSendError(conv, `Not sent: ${why}. Your message is back in the box.`);
      return true;
    }
    return false;
  }

  function endChat(conv) {
    if (conv.state !== 'active' || isBusy(conv.parts.end)) return;
    if (!ctx.send({ type: 'conversation.end', conversation_id: conv.id })) {
      return showSendError(conv, 'The chat could not be ended because you are not connected. Try again when the connection is back.');
    }
    setBusy(conv.parts.end, true, 'Ending…');
  }

  function transfer(conv) {
    const { transferSelect, transfer: button } = conv.parts;
    if (conv.state !== 'active' || isBusy(button)) return;
    if (!transferSelect.value) {
      showSendError(conv, 'Choose a queue to transfer the chat to.');
      transferSelect.focus();
      return;
    }
    if (!ctx.send({ type: 'transfer', conversation_id: conv.id, queue: transferSelect.value })) {
      return showSendError(conv, 'The chat could not be transferred because you are not connected.');
    }
    conv.state = 'transferring';
    conv.transferTo = ctx.queueLabel(transferSelect.value);
    setBusy(button, true, 'Transferring…');
    showSendError(conv, '');
  }

  function ended(frame) {
    const conv = convs.get(frame.conversation_id);
    if (!conv || conv.state === 'wrapup') return;
    const { parts } = conv;
    const hadFocus = parts.root.contains(document.activeElement);
    conv.state = 'wrapup';
    parts.root.classList.add('conversation--ended');
    parts.status.textContent = frame.by === 'agent' ? 'Chat ended by you.' : 'Chat ended by the citizen.';
    parts.form.hidden = true;
    parts.tools.hidden = true;
    parts.wrapup.hidden = false;
    ctx.announce(`Chat with ${conv.name} ${frame.by === 'agent' ? 'ended by you' : 'ended by the citizen'}. Complete the wrap-up.`);
    if (hadFocus || document.activeElement === document.body) parts.disposition.focus();
  }

  function submitWrapup(conv) {
    const { disposition, notes, done, wrapupError } = conv.parts;
    if (isBusy(done)) return;
    if (!disposition.value) {
      wrapupError.textContent = 'Choose the outcome of the chat.';
      disposition.setAttribute('aria-invalid', 'true');
      disposition.focus();
      return;
    }
    wrapupError.textContent = '';
    disposition.removeAttribute('aria-invalid');
    const frame = { type: 'wrapup.done', conversation_id: conv.id, disposition: disposition.value, notes: notes.value.trim() };
    if (!ctx.send(frame)) {
      wrapupError.textContent = 'Not saved: you are not connected. Your wrap-up is kept here – try again when the connection is back.';
      return;
    }
    setBusy(done, true, 'Saving…');
  }

  function closed(frame) {
    const conv = convs.get(frame.conversation_id);
    if (!conv) return;
    const hadFocus = conv.parts.root.contains(document.activeElement);
    convs.delete(conv.id);
    conv.parts.root.remove();
    changed();
    if (conv.state === 'transferring') ctx.announce(`Chat with ${conv.name} transferred to ${conv.transferTo}.`);
    else if (conv.state === 'wrapup') ctx.announce('Wrap-up saved.');
    else ctx.announce(`Chat with ${conv.name} has closed.`);
    if (hadFocus) focusNode(document.getElementById('conversations-heading'));
  }

  /** After a server error that is not about a message: let the agent retry. */
  function resetBusy() {
    for (const conv of convs.values()) {
      const { end, transfer: button, done } = conv.parts;
      setBusy(end, false);
      if (button) setBusy(button, false);
      setBusy(done, false);
      if (conv.state === 'transferring') conv.state = 'active';
    }
  }

  function changed() {
    emptyState.hidden = convs.size > 0;
  }

  changed();
  function focusInput(id) {
    convs.get(id)?.parts.input.focus();
  }

  return { assign, message, messageFailed, ended, closed, resetBusy, focusInput, has: (id) => convs.has(id) };
}
