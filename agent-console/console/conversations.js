// Conversation panels: transcript, replies, end chat, transfer and wrap-up.
// A voice conversation has a call panel (calls.js) instead of the reply box and End chat; a text
// (SMS) conversation's reply box counts texts, and each reply shows how far it got (texting.js); an email
// conversation shows subjects, quoted text folded, files, a subject for the reply and Send and close (email.js).
// Under each panel's heading, the citizen's earlier contacts, each of which can be opened (history.js).

import { uuid, focusNode, setBusy, isBusy } from '/static/dom.js';
import { buildPanel, buildMessage } from './panel.js';
import { renderTransferred } from './offers.js';
import { addTextCounter, createDeliveries } from './texting.js';
import { createEmail } from './email.js';
import { renderHistory } from './history.js';

const FROM = new Set(['citizen', 'agent', 'system']);
const MAX_REASON = 500;

/** 'Chat' or 'Call', for the start of a sentence. */
const title = (noun) => noun.charAt(0).toUpperCase() + noun.slice(1);

/** "Bethan Jones", "the Benefits queue" or "Bethan Jones in the Benefits queue". */
function transferTarget(queueLabel, agentName) {
  if (agentName && queueLabel) return `${agentName} in the ${queueLabel} queue`;
  if (agentName) return agentName;
  return queueLabel ? `the ${queueLabel} queue` : '';
}

/**
 * ctx: { send(frame) -> bool, announce(text), announcePolite(text), queueLabel(name),
 *        queues: [{name,label}], dispositions: [string], agents: { refresh(select) },
 *        calls: createCalls(...) }
 */
export function createConversations(container, emptyState, ctx) {
  const convs = new Map();
  const sentByMe = new Set();
  const historyOpts = { queueLabel: ctx.queueLabel, announcePolite: ctx.announcePolite };

  function assign(frame) {
    const id = frame.conversation_id;
    if (!id) return;
    const existing = convs.get(id);
    if (existing) {
      if (frame.transferred) renderTransferred(existing.parts.transferred, frame.transferred);
      if (Array.isArray(frame.history)) renderHistory(existing.parts, frame.history, historyOpts);
      renderTranscript(existing, frame.transcript);
      resendPending(existing);
      if (existing.voice) ctx.calls.reassign(id, frame.call, frame.state === 'wrapup');
      return;
    }
    const conv = createConversation(frame);
    convs.set(id, conv);
    container.append(conv.parts.root);
    renderTranscript(conv, frame.transcript);
    changed();
    const noun = title(conv.noun);
    if (frame.state === 'wrapup') {
      // Re-sent after a reload: the chat has ended and is waiting for its wrap-up.
      showWrapup(conv, `${noun} ended.`);
      ctx.announcePolite(`${noun} with ${conv.name} has ended. Complete the wrap-up.`);
    } else {
      ctx.announcePolite(`${noun} with ${conv.name} is open.`);
    }
  }

  function createConversation(frame) {
    const name = frame.citizen?.name || 'Citizen';
    const voice = frame.channel === 'voice';
    const email = frame.channel === 'email';
    const noun = voice ? 'call' : (email ? 'email' : 'chat');
    const parts = buildPanel({
      id: frame.conversation_id, name, queue: frame.queue, queueLabel: ctx.queueLabel(frame.queue),
      channel: frame.channel, language: frame.citizen?.language,
      queues: ctx.queues, dispositions: ctx.dispositions, transferred: frame.transferred, noun,
    });
    const conv = {
      id: frame.conversation_id, name, parts, voice, noun, state: 'active', seen: new Set(), pending: new Map(),
    };
    renderHistory(parts, frame.history, historyOpts);
    if (voice) addCall(conv, frame);
    if (frame.channel === 'sms') {
      conv.recount = addTextCounter(parts.input);
      conv.deliveries = createDeliveries(parts.list, name, ctx.announce);
    }
    if (email) {
      const opts = { announce: ctx.announce, announcePolite: ctx.announcePolite, end: () => endChat(conv) };
      conv.email = createEmail(parts, name, opts); // before the form's own submit listener: it sees which button
      conv.deliveries = conv.email.deliveries;
    }
    parts.form.addEventListener('submit', (event) => { event.preventDefault(); submitMessage(conv); });
    parts.input.addEventListener('keydown', (event) => onInputKey(event, conv));
    parts.end.addEventListener('click', () => endChat(conv));
    parts.transfer.addEventListener('click', () => transfer(conv));
    parts.transferAgent.addEventListener('focus', () => ctx.agents?.refresh(parts.transferAgent));
    for (const field of [parts.transferSelect, parts.transferAgent]) {
      field.addEventListener('change', () => { if (field.value) showTransferError(conv, ''); });
    }
    ctx.agents?.refresh(parts.transferAgent);
    parts.wrapup.addEventListener('submit', (event) => { event.preventDefault(); submitWrapup(conv); });
    return conv;
  }

  /** Voice has no text messages: the call panel takes the reply box's place, Hang up that of End chat. */
  function addCall(conv, frame) {
    const { parts } = conv;
    const call = ctx.calls.open({
      id: conv.id, key: parts.key, name: conv.name, call: frame.call, over: frame.state === 'wrapup',
    });
    parts.log.before(call);
    parts.log.hidden = !frame.transcript?.length;
    parts.form.hidden = true;
    parts.end.hidden = true;
  }

  function onInputKey(event, conv) {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || conv.email) return; // mail: a new line
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
    log.hidden = false;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const item = buildMessage(msg, from, senderLabel(conv, msg, from));
    conv.email?.decorate(item, msg, from);
    if (from === 'agent' && msg.id) conv.deliveries?.added(item, msg.id, sentByMe.has(msg.id), msg.status);
    list.append(item);
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

  /** conversation.history: the citizen's records were merged or split, or they proved their number. */
  function history(frame) {
    const conv = convs.get(frame.conversation_id);
    if (!conv || !Array.isArray(frame.history)) return;
    renderHistory(conv.parts, frame.history, historyOpts);
    ctx.announcePolite(`Earlier contacts updated for ${conv.name}.`);
  }

  /** How far a reply in a text or email conversation got (message.status). */
  function messageStatus(frame) {
    const conv = convs.get(frame.conversation_id);
    if (conv && frame.id) conv.deliveries?.update(frame.id, frame.status);
  }

  function submitMessage(conv) {
    const { input } = conv.parts;
    const text = input.value.trim();
    if (conv.state !== 'active') return;
    if (!text) return showSendError(conv, 'Type a message before sending.');
    const id = uuid();
    if (!ctx.send({ type: 'message', conversation_id: conv.id, id, text, ...conv.email?.extra(id) })) {
      return showSendError(conv, 'Not sent: you are not connected. Your message is kept here – send it again when the connection is back.');
    }
    sentByMe.add(id);
    conv.pending.set(id, text);
    input.value = '';
    conv.recount?.(true);
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
      if (conv.seen.has(id)) continue;
      ctx.send({ type: 'message', conversation_id: conv.id, id, text, ...conv.email?.extra(id) });
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
      conv.recount?.(true);
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
    const { transferSelect, transferAgent, transferReason, transfer: button } = conv.parts;
    if (conv.state !== 'active' || isBusy(button)) return;
    const queue = transferSelect.value;
    const agentId = transferAgent.value;
    if (!queue && !agentId) {
      showTransferError(conv, `Choose another queue or an adviser to transfer the ${conv.noun} to.`);
      transferSelect.focus();
      return;
    }
    const reason = transferReason.value.trim();
    if (reason.length > MAX_REASON) {
      showTransferError(conv, `The reason must be ${MAX_REASON} characters or fewer.`);
      transferReason.focus();
      return;
    }
    const frame = { type: 'transfer', conversation_id: conv.id };
    if (queue) frame.queue = queue;
    if (agentId) frame.agent_id = Number(agentId);
    if (reason) frame.reason = reason;
    if (!ctx.send(frame)) {
      return showTransferError(conv, `The ${conv.noun} could not be transferred because you are not connected. Try again when the connection is back.`);
    }
    conv.state = 'transferring';
    conv.transferTo = transferTarget(queue && ctx.queueLabel(queue), agentId && transferAgent.selectedOptions[0]?.dataset.name);
    setBusy(button, true, 'Transferring…');
    showTransferError(conv, '');
  }

  function showTransferError(conv, text) {
    const { transferError, transferSelect, transferAgent } = conv.parts;
    transferError.textContent = text;
    for (const field of [transferSelect, transferAgent]) {
      if (text) field.setAttribute('aria-invalid', 'true');
      else field.removeAttribute('aria-invalid');
    }
  }

  function ended(frame) {
    const conv = convs.get(frame.conversation_id);
    if (!conv || conv.state === 'wrapup') return;
    const hadFocus = conv.parts.root.contains(document.activeElement);
    if (conv.voice) ctx.calls.end(conv.id, frame.by);
    const noun = title(conv.noun);
    const by = frame.by === 'agent' ? 'ended by you' : 'ended by the citizen';
    showWrapup(conv, `${noun} ${by}.`);
    ctx.announce(`${noun} with ${conv.name} ${by}. Complete the wrap-up.`);
    if (hadFocus || document.activeElement === document.body) conv.parts.disposition.focus();
  }

  /** The chat has ended: hide the reply box and tools, show the wrap-up form (a call's panel stays, ended). */
  function showWrapup(conv, statusText) {
    const { parts } = conv;
    conv.state = 'wrapup';
    parts.root.classList.add('conversation--ended');
    parts.status.textContent = statusText;
    parts.form.hidden = true;
    parts.tools.hidden = true;
    parts.wrapup.hidden = false;
  }

  function submitWrapup(conv) {
    const { disposition, notes, done, wrapupError } = conv.parts;
    if (isBusy(done)) return;
    if (!disposition.value) {
      wrapupError.textContent = `Choose the outcome of the ${conv.noun}.`;
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
    if (conv.voice) ctx.calls.remove(conv.id);
    convs.delete(conv.id);
    conv.parts.root.remove();
    changed();
    ctx.announce(closedText(conv, frame.reason));
    if (hadFocus) focusNode(document.getElementById('conversations-heading'));
  }

  /** What to tell the agent when a panel goes. */
  function closedText(conv, reason) {
    const { noun } = conv;
    if (reason === 'transferred') {
      return conv.state === 'transferring' && conv.transferTo
        ? `${title(noun)} transferred. ${conv.name} is now waiting for ${conv.transferTo}.`
        : `${title(noun)} transferred. Your ${noun} with ${conv.name} has been handed on.`;
    }
    if (reason === 'wrap-up time ended') {
      return `Wrap-up time ended; the ${noun} was closed without an outcome. This was your ${noun} with ${conv.name}.`;
    }
    return conv.state === 'wrapup' ? 'Wrap-up saved.' : `${title(noun)} with ${conv.name} has closed.`;
  }

  /** After a server error that is not about a message: let the agent retry. */
  function resetBusy() {
    for (const conv of convs.values()) {
      const { end, transfer: button, done } = conv.parts;
      setBusy(end, false);
      setBusy(button, false);
      setBusy(done, false);
      conv.email?.resetBusy();
      if (conv.state === 'transferring') conv.state = 'active';
    }
  }

  function changed() {
    emptyState.hidden = convs.size > 0;
  }

  changed();
  /** After accepting from the keyboard: the reply box, or a call's first control. */
  function focusInput(id) {
    const conv = convs.get(id);
    if (conv?.voice) ctx.calls.focus(id);
    else conv?.parts.input.focus();
  }

  return {
    assign, message, messageStatus, history, messageFailed, ended, closed, resetBusy, focusInput,
    has: (id) => convs.has(id),
  };
}
