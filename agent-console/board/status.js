// "Set away" and "Set available" in the advisers table (POST /api/agents/{id}/status).
// Away asks for a reason in a small form inside the row; the adviser's console shows
// "set by <supervisor>: <reason>". Available is refused (409) when the adviser has no console open:
// the service's message is shown in the error summary under the table.

import { byId, el, setBusy, isBusy } from '/static/dom.js';
import { postJSON } from './api.js';
import { showProblem, clearProblem } from './notices.js';

const MAX_REASON = 80;

/** Wires the table's status buttons. announce(text): the polite announcer. */
export function setupStatusActions({ announce }) {
  const tbody = byId('agents-body');
  tbody.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const row = button?.closest('tr[data-agent-id]');
    if (!row) return;
    if (button.dataset.action === 'away') openAwayForm(row);
    else if (button.dataset.action === 'available') setStatus(row, button, 'available', '', announce);
    else if (button.dataset.action === 'away-cancel') closeAwayForm(row, true);
  });
  tbody.addEventListener('submit', (event) => {
    const form = event.target.closest('form.away-form');
    if (!form) return;
    event.preventDefault();
    submitAway(form.closest('tr[data-agent-id]'), form, announce);
  });
  tbody.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && event.target.closest('form.away-form')) closeAwayForm(event.target.closest('tr'), true);
  });
}

function openAwayForm(row) {
  const cell = row.querySelector('[data-field="actions"]');
  const existing = cell.querySelector('form.away-form');
  if (existing) {
    existing.querySelector('input').focus();
    return;
  }
  const id = row.dataset.agentId;
  const name = row.dataset.agentName || `Adviser ${id}`;
  const field = `away-reason-${id}`;
  const form = el('form', { class: 'away-form', novalidate: true }, [
    el('div', { class: 'form-group' }, [
      el('label', { for: field, text: `Why is ${name} away?` }),
      el('p', { class: 'hint', id: `${field}-hint`, text: `For example, training or a team meeting. At most ${MAX_REASON} characters.` }),
      el('p', { class: 'error-message', id: `${field}-error` }),
      el('input', {
        type: 'text', id: field, name: 'reason', maxlength: String(MAX_REASON), autocomplete: 'off',
        'aria-describedby': `${field}-hint`,
      }),
    ]),
    el('div', { class: 'button-group' }, [
      el('button', { type: 'submit', class: 'button button--small', 'data-action': 'away-confirm' }, [
        'Confirm', el('span', { class: 'visually-hidden', text: ` ${name} is away` }),
      ]),
      el('button', { type: 'button', class: 'button button--secondary button--small', 'data-action': 'away-cancel', text: 'Cancel' }),
    ]),
  ]);
  cell.append(form);
  form.querySelector('input').focus();
}

function closeAwayForm(row, refocus) {
  row?.querySelector('form.away-form')?.remove();
  if (refocus) row?.querySelector('button[data-action="away"]')?.focus();
}

function submitAway(row, form, announce) {
  const input = form.querySelector('input');
  const error = form.querySelector('.error-message');
  const reason = input.value.trim();
  const problem = !reason ? 'Enter why the adviser is away, for example training'
    : reason.length > MAX_REASON ? `The reason must be ${MAX_REASON} characters or fewer` : '';
  error.textContent = problem ? `Error: ${problem}` : '';
  input.setAttribute('aria-describedby', problem ? `${input.id}-error ${input.id}-hint` : `${input.id}-hint`);
  if (problem) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  form.querySelector('.form-group').classList.toggle('form-group--error', Boolean(problem));
  if (problem) {
    input.focus();
    return;
  }
  setStatus(row, form.querySelector('button[type="submit"]'), 'away', reason, announce);
}

const DONE = { away: 'is now away', available: 'is now available', offline: 'is now offline' };

/** POSTs the status; on success says so politely, else shows why in the error summary. */
async function setStatus(row, button, status, reason, announce) {
  if (isBusy(button)) return;
  const box = byId('agents-error');
  const id = row.dataset.agentId;
  const name = row.dataset.agentName || `Adviser ${id}`;
  clearProblem(box);
  setBusy(button, true);
  let outcome;
  try {
    outcome = await postJSON(`/api/agents/${encodeURIComponent(id)}/status`, { status, reason });
  } finally {
    setBusy(button, false);
  }
  if (!outcome.ok) {
    const verb = status === 'away' ? 'away' : status;
    showProblem(box, `${name} could not be set ${verb}. ${outcome.error}`);
    return;
  }
  if (status === 'away') closeAwayForm(row, row.contains(document.activeElement));
  announce(`${name} ${DONE[status]}${reason ? `: ${reason}` : ''}.`);
}
