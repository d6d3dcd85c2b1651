// Routing receipt drill-down: a supervisor types a conversation reference and sees
// why the citizen waited and why an adviser got the chat (GET /api/conversations/{id}/routing).
// Everything is written with textContent (via el()), never innerHTML: names and reasons come from the server.

import { byId, el, parseTime, formatHMS, formatDuration, focusNode, setBusy, isBusy } from '/static/dom.js';

const DASH = '–';

const STATES = {
  queued: 'Waiting in the queue',
  offered: 'Being offered to an adviser',
  assigned: 'With an adviser',
  wrapup: 'Adviser finishing wrap-up',
  closed: 'Closed',
  abandoned: 'Citizen left before an answer',
};

const OUTCOMES = {
  accepted: { text: 'Accepted', tag: 'tag--green' },
  rejected: { text: 'Rejected', tag: 'tag--red' },
  timeout: { text: 'Timed out', tag: 'tag--yellow' },
  withdrawn: { text: 'Withdrawn', tag: 'tag--grey' },
};

const EVENTS = {
  'conversation.arrived': 'Arrived',
  'conversation.outside_hours': 'Arrived outside opening hours',
  'routing.waiting': 'Waited for an adviser',
  'routing.offered': 'Offered',
  'routing.escalated': 'Escalated',
  'routing.rebuilt': 'Routing restored after a restart',
  'offer.accepted': 'Offer accepted',
  'offer.rejected': 'Offer rejected',
  'offer.timeout': 'Offer timed out',
  'offer.withdrawn': 'Offer withdrawn',
  'conversation.transferred': 'Transferred',
  'conversation.abandoned': 'Citizen left',
  'conversation.ended': 'Chat ended',
};

let queueLabel = (name) => name;
let requestSeq = 0;

/** Wires up form#receipt-form. label(name) turns a queue name into its display name. */
export function setupReceipts({ label } = {}) {
  if (label) queueLabel = label;
  byId('receipt-form').addEventListener('submit', onSubmit);
}

/** Shows the receipt of conversation `reference`, as if the supervisor had typed it in the form. */
export function openReceipt(reference) {
  byId('receipt-id').value = reference;
  byId('receipt-form').requestSubmit();
}

async function onSubmit(event) {
  event.preventDefault();
  const button = byId('receipt-button');
  if (isBusy(button)) return;
  const input = byId('receipt-id');
  const reference = input.value.trim();
  clearError();
  if (!reference) {
    showError('Enter a conversation reference.');
    input.focus();
    return;
  }

  const seq = ++requestSeq;
  setBusy(button, true, 'Loading…');
  setStatus('Loading the routing receipt…');
  let outcome;
  try {
    outcome = await fetchReceipt(reference);
  } finally {
    setBusy(button, false);
  }
  if (seq !== requestSeq) return; // a newer look-up has started; its answer wins

  if (outcome.error) {
    hideReceipt();
    setStatus('');
    showError(outcome.error);
    return;
  }
  renderReceipt(byId('receipt'), outcome.receipt, reference);
  setStatus('Routing receipt loaded.');
  focusNode(byId('receipt-heading'));
}

/** { receipt } or { error: message a supervisor can act on }. */
async function fetchReceipt(reference) {
  let res;
  try {
    res = await fetch(`/api/conversations/${encodeURIComponent(reference)}/routing`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    return { error: 'We could not reach the service. Check your connection and try again.' };
  }
  if (res.status === 404) return { error: 'No conversation with that reference.' };
  if (res.status === 401) return { error: 'You have been signed out. Reload the page and sign in again.' };
  if (res.status === 403) return { error: 'You cannot see routing receipts.' };
  if (!res.ok) return { error: 'Sorry, there is a problem with the service. Try again later.' };
  const receipt = await res.json().catch(() => null);
  if (!receipt || typeof receipt !== 'object') {
    return { error: 'Sorry, there is a problem with the service. Try again later.' };
  }
  return { receipt };
}

function showError(message) {
  byId('receipt-error').textContent = message;
  const input = byId('receipt-id');
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', 'receipt-error receipt-id-hint');
  input.closest('.form-group')?.classList.add('form-group--error');
}

function clearError() {
  byId('receipt-error').textContent = '';
  const input = byId('receipt-id');
  input.removeAttribute('aria-invalid');
  input.setAttribute('aria-describedby', 'receipt-id-hint');
  input.closest('.form-group')?.classList.remove('form-group--error');
}

function setStatus(text) {
  const status = byId('receipt-status');
  if (status.textContent !== text) status.textContent = text;
}

function hideReceipt() {
  const box = byId('receipt');
  box.hidden = true;
  box.replaceChildren();
}

/** A <time> showing local HH:MM:SS, with the date too when it is not today. */
function timeNode(iso) {
  const date = parseTime(iso);
  if (!date) return DASH;
  const today = new Date().toDateString() === date.toDateString();
  const text = today
    ? formatHMS(date)
    : `${date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })} ${formatHMS(date)}`;
  return el('time', { datetime: date.toISOString(), text });
}

function fact(term, value, field) {
  return el('div', {}, [el('dt', { text: term }), el('dd', { 'data-field': field }, value)]);
}

function name(agent) {
  return agent && typeof agent === 'object' ? agent.name || `Adviser ${agent.id}` : DASH;
}

function list(value) {
  return Array.isArray(value) ? value : [];
}

function waited(receipt) {
  if (receipt.waited_s !== null && receipt.waited_s !== undefined) return formatDuration(receipt.waited_s, true);
  if (receipt.assigned_at) return DASH;
  return ['queued', 'offered'].includes(receipt.state) ? 'Still waiting: not answered yet' : 'Not answered by an adviser';
}

export function renderReceipt(box, receipt, reference) {
  const id = receipt.id || reference;
  const facts = el('dl', { class: 'details-list receipt-facts' }, [
    fact('Reference', id, 'id'),
    fact('Queue', receipt.queue ? queueLabel(receipt.queue) : DASH, 'queue'),
    fact('State', STATES[receipt.state] || receipt.state || DASH, 'state'),
    fact('Waited', waited(receipt), 'waited'),
    fact('Arrived', timeNode(receipt.queued_at), 'queued_at'),
    receipt.assigned_at ? fact('Answered', timeNode(receipt.assigned_at), 'assigned_at') : null,
  ]);

  const decisions = list(receipt.decisions);
  const timeline = list(receipt.timeline);
  box.replaceChildren(
    el('h3', { id: 'receipt-heading', tabindex: '-1', class: 'receipt-heading' }, 'Routing receipt'),
    facts,
    el('h4', { id: 'receipt-decisions-heading', text: `Decisions (${decisions.length})` }),
    decisions.length
      ? el('ol', { class: 'receipt-decisions', 'aria-labelledby': 'receipt-decisions-heading' }, decisions.map(decisionItem))
      : el('p', { class: 'hint', text: 'No routing decisions were recorded.' }),
    el('h4', { id: 'receipt-timeline-heading', text: 'Timeline' }),
    timeline.length
      ? el('ol', { class: 'receipt-timeline', 'aria-labelledby': 'receipt-timeline-heading' }, timeline.map(timelineItem))
      : el('p', { class: 'hint', text: 'No routing events were recorded.' }),
    el('p', { class: 'hint receipt-as-at' }, ['As at ', timeNode(new Date().toISOString()), '. Show the receipt again to refresh it.']),
  );
  box.hidden = false;
}

// A receipt names the first few eligible advisers and counts the rest.
function rankedText(ranked, eligible) {
  const more = Number.isInteger(eligible) && eligible > ranked.length ? eligible - ranked.length : 0;
  return more ? `${ranked.join(', ')} and ${more} more` : ranked.join(', ');
}

function decisionItem(decision) {
  const outcome = OUTCOMES[decision.outcome];
  const outcomeValue = outcome
    ? [el('strong', { class: `tag ${outcome.tag}`, text: outcome.text }),
      decision.decided_at ? [' at ', timeNode(decision.decided_at)] : null].flat()
    : DASH;
  const ranked = list(decision.ranked).map(name);
  const skipped = list(decision.skipped);
  const meta = el('dl', { class: 'receipt-meta' }, [
    fact('Time', timeNode(decision.at), 'at'),
    fact('Offer outcome', outcomeValue, 'outcome'),
    ranked.length ? fact('Eligible, in order', rankedText(ranked, decision.eligible), 'ranked') : null,
    decision.step ? fact('Escalation step', String(decision.step), 'step') : null,
  ]);
  meta.querySelector('[data-field="outcome"]').dataset.outcome = decision.outcome || '';

  const passedOver = skipped.length
    ? el('details', { class: 'receipt-skipped' }, [
      el('summary', { text: skipped.length === 1 ? '1 adviser passed over' : `${skipped.length} advisers passed over` }),
      el('ul', {}, skipped.map((s) => el('li', { 'data-testid': 'receipt-skipped' }, [
        el('span', { 'data-field': 'name', text: name(s) }),
        ': ',
        el('span', { 'data-field': 'reason', text: s.reason || 'no reason recorded' }),
      ]))),
    ])
    : null;

  return el('li', { 'data-testid': 'receipt-decision', 'data-kind': decision.kind || '', class: 'receipt-decision' }, [
    el('p', { class: 'receipt-summary', 'data-field': 'summary', text: decision.summary || DASH }),
    meta,
    passedOver,
  ]);
}

function timelineItem(event) {
  const data = event.data && typeof event.data === 'object' ? event.data : {};
  let what = EVENTS[event.type] || event.type || DASH;
  if (event.type === 'routing.escalated' && data.step !== undefined) {
    what += ` to step ${data.step}`;
    const overflow = list(data.overflow);
    if (overflow.length) what += `; ${overflow.map(queueLabel).join(', ')} may take it`;
  }
  if (event.type === 'conversation.transferred' && data.to_queue) what += ` to ${queueLabel(data.to_queue)}`;
  return el('li', { 'data-testid': 'receipt-event', 'data-type': event.type || '' }, [
    timeNode(event.at),
    el('span', { class: 'receipt-event', text: event.agent ? `${what} – ${name(event.agent)}` : what }),
  ]);
}
