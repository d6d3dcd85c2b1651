// Builds the DOM of one conversation panel. No state here: conversations.js drives it.

import { el, parseTime, formatHM } from '/static/dom.js';
import { renderTransferred } from './offers.js';
import { channelLabel } from './channels.js';
import { NO_ADVISER_TEXT } from './agents.js';

const LANGUAGES = { en: 'English', cy: 'Welsh (Cymraeg)' };
const DISPOSITION_LABELS = {
  resolved: 'Resolved',
  'follow-up': 'Follow-up needed',
  referred: 'Referred elsewhere',
  'no-action': 'No action needed',
};

let panelCount = 0;

/**
 * Returns the panel's elements. opts: { id, name, queueLabel, channel, language,
 * queues: [{name,label}], dispositions: [string], transferred?, noun? ('chat' or 'call') }.
 */
export function buildPanel(opts) {
  panelCount += 1;
  const key = `conv${panelCount}`;
  const parts = { key };
  parts.heading = el('h3', { id: `${key}-heading`, text: opts.name });
  parts.meta = el('p', { class: 'conversation__meta', text: metaText(opts) });
  parts.transferred = el('p', { class: 'conversation__transferred', 'data-testid': 'conversation-transferred' });
  renderTransferred(parts.transferred, opts.transferred);
  parts.list = el('ol');
  parts.log = el('div', {
    class: 'transcript', 'data-testid': 'transcript', role: 'log', 'aria-live': 'polite',
    'aria-label': `Messages with ${opts.name}`, tabindex: '0',
  }, parts.list);
  parts.status = el('p', { class: 'conversation__status', 'data-testid': 'conversation-status' });
  buildMessageForm(parts, opts, key);
  buildTools(parts, opts, key);
  buildWrapup(parts, opts, key);
  parts.root = el('article', {
    class: 'conversation', 'data-testid': 'conversation', 'data-conversation-id': opts.id,
    'aria-labelledby': `${key}-heading`,
  }, [
    el('header', { class: 'conversation__header' }, [parts.heading, parts.meta, parts.transferred]),
    parts.log, parts.status, parts.form, parts.tools, parts.wrapup,
  ]);
  return parts;
}

function metaText({ queueLabel, channel, language }) {
  const bits = [queueLabel, channelLabel(channel)];
  if (language) bits.push(LANGUAGES[language] || language);
  return bits.join(' · ');
}

function buildMessageForm(parts, opts, key) {
  parts.input = el('textarea', {
    id: `${key}-input`, name: 'message', rows: '3', 'data-testid': 'message-input',
    'aria-describedby': `${key}-hint ${key}-error`,
  });
  parts.sendError = el('p', { class: 'error-message', id: `${key}-error`, role: 'alert' });
  parts.send = el('button', { type: 'submit', class: 'button', 'data-testid': 'send', text: 'Send' });
  parts.form = el('form', { class: 'message-form', novalidate: true }, [
    el('label', { for: `${key}-input`, text: `Reply to ${opts.name}` }),
    el('p', { class: 'hint', id: `${key}-hint`, text: 'Press Enter to send. Press Shift and Enter for a new line.' }),
    parts.input,
    parts.sendError,
    el('div', { class: 'button-group' }, parts.send),
  ]);
}

function buildTools(parts, opts, key) {
  parts.end = el('button', {
    type: 'button', class: 'button button--warning', 'data-testid': 'end-chat', text: 'End chat',
    'aria-label': `End chat with ${opts.name}`,
  });
  const noun = opts.noun || 'chat';
  const targets = opts.queues.filter((q) => q.name !== opts.queue);
  parts.transferError = el('p', {
    class: 'error-message', id: `${key}-transfer-error`, role: 'alert', 'data-testid': 'transfer-error',
  });
  parts.transferSelect = el('select', {
    id: `${key}-transfer`, name: 'queue', 'data-testid': 'transfer-queue',
    'aria-describedby': `${key}-transfer-hint ${key}-transfer-error`,
  }, [
    el('option', { value: '', text: 'Keep in this queue' }),
    ...targets.map((q) => el('option', { value: q.name, text: q.label })),
  ]);
  parts.transferAgent = el('select', {
    id: `${key}-transfer-agent`, name: 'agent', 'data-testid': 'transfer-agent',
    'aria-describedby': `${key}-transfer-hint ${key}-transfer-error`,
  }, el('option', { value: '', text: NO_ADVISER_TEXT }));
  parts.transferReason = el('textarea', {
    id: `${key}-transfer-reason`, name: 'reason', rows: '2', maxlength: '500', 'data-testid': 'transfer-reason',
  });
  parts.transfer = el('button', {
    type: 'button', class: 'button button--secondary', 'data-testid': 'transfer', text: 'Transfer',
    'aria-label': `Transfer ${noun} with ${opts.name}`,
  });
  const transfer = el('fieldset', { class: 'transfer', 'data-testid': 'transfer-section' }, [
    el('legend', { class: 'label', text: `Transfer this ${noun}` }),
    el('p', { class: 'hint', id: `${key}-transfer-hint`, text: 'Choose another queue, an adviser, or both.' }),
    parts.transferError,
    el('div', { class: 'transfer__field' }, [
      el('label', { for: `${key}-transfer`, text: 'Queue' }),
      parts.transferSelect,
    ]),
    el('div', { class: 'transfer__field' }, [
      el('label', { for: `${key}-transfer-agent`, text: 'Adviser (optional)' }),
      parts.transferAgent,
    ]),
    el('div', { class: 'transfer__field' }, [
      el('label', { for: `${key}-transfer-reason`, text: 'Reason (the next adviser sees this)' }),
      parts.transferReason,
    ]),
    el('div', { class: 'button-group' }, parts.transfer),
  ]);
  parts.tools = el('div', { class: 'conversation__tools' }, [transfer, parts.end]);
}

function buildWrapup(parts, opts, key) {
  parts.disposition = el('select', {
    id: `${key}-disposition`, name: 'disposition', 'data-testid': 'disposition',
    'aria-describedby': `${key}-wrapup-error`,
  }, [
    el('option', { value: '', text: 'Choose an outcome' }),
    ...opts.dispositions.map((d) => el('option', { value: d, text: dispositionLabel(d) })),
  ]);
  parts.notes = el('textarea', { id: `${key}-notes`, name: 'notes', rows: '3', 'data-testid': 'notes' });
  parts.wrapupError = el('p', { class: 'error-message', id: `${key}-wrapup-error`, role: 'alert' });
  parts.done = el('button', { type: 'submit', class: 'button', 'data-testid': 'wrapup-done', text: 'Finish wrap-up' });
  parts.wrapup = el('form', {
    class: 'wrapup', 'data-testid': 'wrapup', novalidate: true, hidden: true, 'aria-labelledby': `${key}-wrapup-heading`,
  }, [
    el('h4', { id: `${key}-wrapup-heading`, class: 'label', text: 'Wrap-up' }),
    el('div', { class: 'form-group' }, [
      el('label', { for: `${key}-disposition`, text: 'Outcome' }),
      parts.wrapupError,
      parts.disposition,
    ]),
    el('div', { class: 'form-group' }, [
      el('label', { for: `${key}-notes`, text: 'Notes (optional)' }),
      el('p', { class: 'hint', text: 'Do not include bank details or passwords.' }),
      parts.notes,
    ]),
    parts.done,
  ]);
}

export function dispositionLabel(value) {
  return DISPOSITION_LABELS[value] || value;
}

/** One transcript line. senderLabel is shown before the time. */
export function buildMessage(msg, from, senderLabel) {
  const at = parseTime(msg.at);
  const meta = el('p', { class: 'message__meta' }, [el('span', { class: 'message__sender', text: senderLabel })]);
  if (at) meta.append(el('time', { datetime: msg.at, text: formatHM(at) }));
  return el('li', {
    class: 'message', 'data-testid': 'message', 'data-from': from, 'data-message-id': msg.id || null,
  }, [meta, el('p', { class: 'message__text', text: msg.text ?? '' })]);
}
