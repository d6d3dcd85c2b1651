// Error summaries (GOV.UK pattern): "There is a problem" and what to do, in a box that is
// always on the page with role="alert", so a screen reader reads it as soon as it is filled
// without focus moving. A problem with a field links to that field.

import { el, byId } from '/static/dom.js';

/**
 * Shows one problem in the error summary `box` (an element with role="alert").
 * field: optional id of the input it is about; the field is marked invalid and linked.
 */
export function showProblem(box, message, field = null) {
  clearProblem(box);
  const text = field
    ? el('a', { href: `#${field}`, onclick: (event) => focusField(event, field), text: message })
    : message;
  box.append(
    el('h2', { class: 'error-summary__title', text: 'There is a problem' }),
    el('ul', { class: 'error-summary__list' }, el('li', {}, text)),
  );
  if (field) markInvalid(byId(field), true);
  box.dataset.field = field || '';
}

/** Empties the summary and un-marks the field it named. */
export function clearProblem(box) {
  const field = box.dataset.field ? document.getElementById(box.dataset.field) : null;
  if (field) markInvalid(field, false);
  delete box.dataset.field;
  box.replaceChildren();
}

function markInvalid(field, invalid) {
  if (invalid) field.setAttribute('aria-invalid', 'true');
  else field.removeAttribute('aria-invalid');
  field.closest('.form-group')?.classList.toggle('form-group--error', invalid);
}

function focusField(event, id) {
  event.preventDefault();
  document.getElementById(id)?.focus();
}
