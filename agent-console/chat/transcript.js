// The citizen's transcript and the list of messages waiting to be sent.

import { el, parseTime, formatHM } from '/static/dom.js';

const FROM = new Set(['citizen', 'agent', 'system']);

/**
 * list: the <ol> of messages; log: its scrolling role="log" container.
 * senderLabel(from, agentName) -> string; t(key, vars) -> string (for client-made system lines).
 */
export function createTranscript(list, log, { senderLabel, t }) {
  const seen = new Set();

  function append(node) {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    list.append(node);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  /** Adds a message from the server unless its id was already shown. */
  function add(msg, agentName) {
    if (!msg || (msg.id && seen.has(msg.id))) return;
    if (msg.id) seen.add(msg.id);
    const from = FROM.has(msg.from) ? msg.from : 'system';
    const at = parseTime(msg.at);
    const sender = el('span', { class: 'message__sender', text: senderLabel(from, agentName) });
    const meta = el('p', { class: 'message__meta' }, [sender]);
    if (at) meta.append(el('time', { datetime: msg.at, text: formatHM(at) }));
    append(el('li', {
      class: 'message', 'data-testid': 'message', 'data-from': from,
      'data-message-id': msg.id || null, 'data-agent-name': from === 'agent' ? agentName || null : null,
    }, [meta, el('p', { class: 'message__text', text: msg.text ?? '' })]));
  }

  /** A line made by this page (e.g. "Sam has joined the chat"); re-translated on language change. */
  function addNotice(key, vars = {}) {
    const text = el('p', { class: 'message__text', 'data-i18n': key, 'data-i18n-name': vars.name ?? null, text: t(key, vars) });
    append(el('li', { class: 'message', 'data-testid': 'message', 'data-from': 'system' }, text));
  }

  /** Re-writes "You" / adviser labels after a language change. */
  function relabel() {
    for (const item of list.querySelectorAll('li[data-from]')) {
      const sender = item.querySelector('.message__sender');
      if (sender) sender.textContent = senderLabel(item.dataset.from, item.dataset.agentName);
    }
  }

  function clear() {
    seen.clear();
    list.replaceChildren();
  }

  return { add, addNotice, relabel, clear, has: (id) => seen.has(id) };
}

/** Shows the messages not yet echoed by the server, when we cannot send them now. */
export function renderPending(box, listNode, pending, show) {
  listNode.replaceChildren(...[...pending].map(([id, text]) => el('li', {
    'data-testid': 'pending-message', 'data-message-id': id, text,
  })));
  box.hidden = !show || pending.size === 0;
}
