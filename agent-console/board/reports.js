// The reports form: a range of days (today unless changed) and the interval of the history.
// It draws the history (history.js, with the board's queue and channel filters) and the
// fairness tables (fairness.js, every queue and channel).

import { byId, setText, setBusy, isBusy } from '/static/dom.js';
import { showProblem, clearProblem } from './notices.js';
import { loadHistory } from './history.js';
import { loadFairness } from './fairness.js';

/** "2026-11-30" for a local date. */
export function dayValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Local midnight at the start of "2026-11-30", or null when it is not a date. */
export function dayStart(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(date.getTime()) || dayValue(date) !== value ? null : date;
}

/** The next local midnight after a day's start (a day may be 23 or 25 hours long). */
export function nextDay(start) {
  return new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1);
}

/** filters(): the board's { queue, channel }; label(name): a queue's display name. */
export function setupReports({ filters, label }) {
  const form = byId('reports-form');
  const today = dayValue(new Date());
  byId('reports-from').value = today;
  byId('reports-to').value = today;
  let last = null;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = byId('reports-button');
    if (isBusy(button)) return;
    const period = readPeriod();
    if (!period) return;
    setBusy(button, true, 'Loading…');
    setText(byId('reports-status'), 'Loading the reports…');
    try {
      await show(period);
    } finally {
      setBusy(button, false);
    }
    setText(byId('reports-status'), 'Reports updated.');
  });

  function readPeriod() {
    const box = byId('reports-error');
    clearProblem(box);
    const from = dayStart(byId('reports-from').value);
    const to = dayStart(byId('reports-to').value);
    if (!from) return fail(box, 'Enter the first day of the report, for example 30/11/2026', 'reports-from');
    if (!to) return fail(box, 'Enter the last day of the report, for example 30/11/2026', 'reports-to');
    if (to < from) return fail(box, 'The last day must be the same as or after the first day', 'reports-to');
    return { from, to: nextDay(to), interval: byId('reports-interval').value };
  }

  async function show(period) {
    last = period;
    const box = byId('reports-error');
    const problems = (await Promise.all([
      loadHistory({ ...period, ...filters(), label }),
      loadFairness(period),
    ])).filter(Boolean);
    if (problems.length) showProblem(box, problems.join(' '));
  }

  return {
    /** Draws the reports for the form as it is (on sign-in). */
    load: () => { const period = readPeriod(); if (period) show(period); },
    /** The board's filters changed: draw the history again for the period last shown. */
    filtersChanged: () => {
      if (last) loadHistory({ ...last, ...filters(), label }).then((problem) => {
        if (problem) showProblem(byId('reports-error'), problem);
      });
    },
  };
}

function fail(box, message, field) {
  showProblem(box, message, field);
  byId(field).focus();
  return null;
}
