// "Who is waiting": the contacts waiting in one queue (GET /api/queues/{name}/waiting), each with
// "Move to queue", "Change priority" (POST /api/conversations/{id}/steer) and "Why?" (the routing
// receipt). The list is fetched again when the queue's waiting count changes in the live board, and
// cards are kept by conversation, so a supervisor typing a priority is not interrupted.

import { byId, setText, focusNode } from '/static/dom.js';
import { getJSON, postJSON } from './api.js';
import { showProblem, clearProblem } from './notices.js';
import { channelPlural } from './words.js';
import { contactCard, updateCard, tickCard } from './contact-card.js';

const LIMIT = 100;

/**
 * queues: [{ name, display_name }] for the Move select; label(name); announce(text);
 * openReceipt(id): shows a conversation's routing receipt.
 * Returns { show(queue, { focus }), update(queues, channel), close() }.
 */
export function setupWaiting({ queues, label, announce, openReceipt }) {
  const section = byId('waiting');
  const list = byId('waiting-list');
  const errorBox = byId('waiting-error');
  let queue = '';
  let channel = '';
  let lastCount = null;
  let contacts = [];
  let fetchedAt = 0;
  let total = 0;
  let seq = 0;

  async function refresh() {
    const mine = ++seq;
    const name = queue;
    const outcome = await getJSON(`/api/queues/${encodeURIComponent(name)}/waiting?limit=${LIMIT}`);
    if (mine !== seq || name !== queue) return; // a newer look-up has started
    if (!outcome.ok) {
      showProblem(errorBox, `The list of people waiting in ${label(name)} could not be shown. ${outcome.error}`);
      errorBox.dataset.source = 'list';
      return;
    }
    if (errorBox.dataset.source === 'list') clearProblem(errorBox);
    contacts = Array.isArray(outcome.data.contacts) ? outcome.data.contacts.filter((c) => c && c.conversation_id) : [];
    fetchedAt = Date.now();
    total = Number.isFinite(outcome.data.total) ? outcome.data.total : contacts.length;
    render();
  }

  function render() {
    const shown = channel ? contacts.filter((c) => c.channel === channel) : contacts;
    const cards = new Map([...list.children].map((li) => [li.dataset.conversationId, li]));
    const hadFocus = list.contains(document.activeElement);
    const others = queues.filter((q) => q.name !== queue);
    let previous = null;
    for (const contact of shown) {
      let card = cards.get(contact.conversation_id);
      cards.delete(contact.conversation_id);
      if (!card) card = contactCard(contact, others, label);
      updateCard(card, contact, fetchedAt);
      if (previous ? previous.nextElementSibling !== card : list.firstElementChild !== card) {
        if (previous) previous.after(card);
        else list.prepend(card);
      }
      previous = card;
    }
    for (const card of cards.values()) card.remove();
    if (hadFocus && !list.contains(document.activeElement)) focusNode(byId('waiting-heading'));
    setText(byId('waiting-summary'), summary(shown.length));
  }

  function summary(shown) {
    const where = label(queue);
    if (!total) return `Nobody is waiting in ${where}.`;
    const people = total === 1 ? '1 contact is waiting' : `${total} contacts are waiting`;
    let only = channel && shown !== contacts.length ? ` Showing the ${shown} ${channelPlural(channel).toLowerCase()}.` : '';
    if (total > contacts.length) only += ` Only the first ${contacts.length} are listed.`;
    return `${people} in ${where}, first in line first.${only}`;
  }

  list.addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.target.closest('form[data-form]');
    const card = form?.closest('li[data-conversation-id]');
    if (card) steer(card, form);
  });
  list.addEventListener('click', (event) => {
    const why = event.target.closest('a[data-action="why"]');
    if (!why) return;
    event.preventDefault();
    openReceipt(why.closest('li[data-conversation-id]').dataset.conversationId);
  });
  byId('waiting-close').addEventListener('click', () => {
    const was = queue;
    close();
    document.querySelector(`button[data-action="waiting"][data-queue-name="${CSS.escape(was)}"]`)?.focus();
  });
  setInterval(() => { for (const card of list.children) tickCard(card, Date.now()); }, 1000);

  async function steer(card, form) {
    const name = card.dataset.name;
    const kind = form.dataset.form;
    const input = form.querySelector('select, input');
    const value = kind === 'move' ? input.value : input.value.trim();
    const problem = kind === 'move'
      ? (!value ? `Choose the queue to move ${name} to` : '')
      : (!/^\d{1,3}$/.test(value) ? 'Enter a priority from 0 to 999, as a whole number' : '');
    clearProblem(errorBox);
    if (problem) {
      showProblem(errorBox, problem, input.id);
      input.focus();
      return;
    }
    const body = kind === 'move' ? { queue: value } : { priority: Number(value) };
    const outcome = await postJSON(`/api/conversations/${encodeURIComponent(card.dataset.conversationId)}/steer`, body);
    if (!outcome.ok) {
      showProblem(errorBox, `${name} could not be ${kind === 'move' ? 'moved' : 'given a new priority'}. ${outcome.error}`);
      errorBox.dataset.source = 'steer';
      return;
    }
    delete input.dataset.edited;
    announce(kind === 'move' ? `${name} moved to ${label(value)}.` : `${name} now has priority ${value}.`);
    await refresh();
  }

  /** Shows the people waiting in `name`; focus: move focus to the panel (the user asked for it). */
  function show(name, { focus = false } = {}) {
    if (name !== queue) {
      list.replaceChildren();
      clearProblem(errorBox);
      contacts = [];
      total = 0;
      setText(byId('waiting-summary'), 'Loading…');
    }
    if (name !== queue) lastCount = null;
    queue = name;
    setText(byId('waiting-heading'), `Who is waiting in ${label(name)}`);
    section.hidden = false;
    if (focus) focusNode(byId('waiting-heading'));
    refresh();
  }

  /** From each board.snapshot: fetch the list again when the queue's waiting count changed. */
  function update(snapshotQueues, chosenChannel) {
    if (chosenChannel !== channel) {
      channel = chosenChannel;
      if (queue) render();
    }
    const mine = snapshotQueues.find((q) => q.name === queue);
    const waiting = mine ? mine.waiting : null;
    if (queue && waiting !== lastCount) {
      const first = lastCount === null;
      lastCount = waiting;
      if (!first) refresh();
    }
  }

  function close() {
    queue = '';
    lastCount = null;
    seq += 1;
    section.hidden = true;
    list.replaceChildren();
  }

  return { show, update, close, current: () => queue };
}
