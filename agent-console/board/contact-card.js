// One waiting contact in "Who is waiting": who, how long, and the two steering forms.
// Made once per conversation and then only its text changes (a priority being typed is kept).

import { el, setText, formatDuration } from '/static/dom.js';
import { DASH, channelName, languageName } from './words.js';

/** A new card. others: the queues it may move to ([{ name }]); label(name) names a queue. */
export function contactCard(contact, others, label) {
  const id = contact.conversation_id;
  const name = contact.name || 'Name not given';
  const moveId = `move-${id}`;
  const priorityId = `priority-${id}`;
  const fact = (term, field) => el('div', {}, [el('dt', { text: term }), el('dd', { 'data-field': field })]);
  const card = el('li', { class: 'contact-card', 'data-conversation-id': id, 'data-name': name }, [
    el('h3', { class: 'contact-card__title' }, [
      el('span', { 'data-field': 'position' }), ' ', el('span', { 'data-field': 'name', text: name }),
    ]),
    el('dl', { class: 'contact-card__facts' }, [
      fact('Channel', 'channel'),
      fact('Language', 'language'),
      fact('Waited', 'waited'),
      fact('Priority', 'priority'),
      fact('Escalation step', 'step'),
    ]),
    el('div', { class: 'contact-card__forms' }, [
      el('form', { 'data-form': 'move', class: 'steer-form', novalidate: true }, [
        el('label', { for: moveId }, ['Move to queue', el('span', { class: 'visually-hidden', text: ` (${name})` })]),
        el('div', { class: 'steer-form__row' }, [
          el('select', { id: moveId, name: 'queue' }, [
            el('option', { value: '', text: 'Choose a queue' }),
            ...others.map((q) => el('option', { value: q.name, text: label(q.name) })),
          ]),
          el('button', { type: 'submit', class: 'button button--secondary button--small' }, [
            'Move', el('span', { class: 'visually-hidden', text: ` ${name}` }),
          ]),
        ]),
      ]),
      el('form', { 'data-form': 'priority', class: 'steer-form', novalidate: true }, [
        el('label', { for: priorityId }, ['Change priority', el('span', { class: 'visually-hidden', text: ` (${name})` })]),
        el('p', { class: 'hint', id: `${priorityId}-hint`, text: '0 to 999. Higher is answered sooner.' }),
        el('div', { class: 'steer-form__row' }, [
          el('input', {
            type: 'number', id: priorityId, name: 'priority', min: '0', max: '999', step: '1', inputmode: 'numeric',
            class: 'input--priority', 'aria-describedby': `${priorityId}-hint`,
          }),
          el('button', { type: 'submit', class: 'button button--secondary button--small' }, [
            'Change', el('span', { class: 'visually-hidden', text: ` priority of ${name}` }),
          ]),
        ]),
      ]),
    ]),
    el('p', { class: 'contact-card__why' }, el('a', { href: '#receipts-heading', 'data-action': 'why' }, [
      'Why?', el('span', { class: 'visually-hidden', text: ` How ${name} has been routed` }),
    ])),
  ]);
  return card;
}

/** Writes a contact's figures into its card; fetchedAt: when waited_s was true (epoch ms). */
export function updateCard(card, contact, fetchedAt) {
  const put = (field, text) => setText(card.querySelector(`[data-field="${field}"]`), text);
  put('position', Number.isFinite(contact.position) ? `${contact.position}.` : '');
  put('channel', channelName(contact.channel));
  put('language', languageName(contact.language));
  put('priority', Number.isFinite(contact.priority) ? String(contact.priority) : DASH);
  put('step', Number.isFinite(contact.step) && contact.step > 0 ? `Step ${contact.step}` : 'Not escalated');
  card.dataset.waitedS = Number.isFinite(contact.waited_s) ? String(contact.waited_s) : '';
  card.dataset.fetchedAt = String(fetchedAt);
  card.dataset.priority = card.querySelector('[data-field="priority"]').textContent;
  const input = card.querySelector('input[name="priority"]');
  // Never overwrite what a supervisor is typing.
  if (document.activeElement !== input && !input.dataset.edited && Number.isFinite(contact.priority)) {
    input.value = String(contact.priority);
  }
  input.oninput = () => { input.dataset.edited = 'true'; };
  tickCard(card, Date.now());
}

/** Time waited, counted on from when the list was fetched. */
export function tickCard(card, now) {
  const cell = card.querySelector('[data-field="waited"]');
  if (!card.dataset.waitedS) {
    setText(cell, DASH);
    return;
  }
  const waited = Number(card.dataset.waitedS) + Math.max(0, now - Number(card.dataset.fetchedAt)) / 1000;
  setText(cell, formatDuration(waited, true));
}
