// History (GET /api/reports/queues): average wait and service level per interval, as two bar charts
// and the same figures as a table under <details>, with the CSV download of the same report.
// The API gives one row per interval, queue and channel; the charts add them up per interval.

import { byId, el, setText, formatDuration, formatHM } from '/static/dom.js';
import { getJSON } from './api.js';
import { barChart, niceMax } from './chart.js';
import { describe } from './filters.js';
import { DASH, known, count, percent } from './words.js';

const STEP_MS = { '15m': 15 * 60000, '1h': 3600000, '1d': 86400000 };
const NAMES = { '15m': '15 minutes', '1h': 'hour', '1d': 'day' };
const MAX_BARS = 800;

/** The report's address: from/to as ISO times; queue and channel only when chosen. */
export function historyUrl({ from, to, interval, queue, channel }, csv = false) {
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), interval });
  if (queue) query.set('queue', queue);
  if (channel) query.set('channel', channel);
  if (csv) query.set('format', 'csv');
  return `/api/reports/queues?${query}`;
}

/**
 * Rows added up per interval start (epoch ms). An interval's average wait is weighted by its contacts,
 * its service level by the contacts answered (the API does not give the exact denominator per row).
 */
export function perInterval(rows) {
  const out = new Map();
  for (const row of rows) {
    const at = Date.parse(row.start);
    if (!Number.isFinite(at)) continue;
    const sum = out.get(at) || { offered: 0, answered: 0, abandoned: 0, waitSum: 0, waitN: 0, slSum: 0, slN: 0 };
    sum.offered += Number(row.offered) || 0;
    sum.answered += Number(row.answered) || 0;
    sum.abandoned += Number(row.abandoned) || 0;
    if (known(row.avg_wait_s) && row.offered > 0) {
      sum.waitSum += row.avg_wait_s * row.offered;
      sum.waitN += row.offered;
    }
    if (known(row.service_level_pct)) {
      const weight = Math.max(1, Number(row.answered) || 0);
      sum.slSum += row.service_level_pct * weight;
      sum.slN += weight;
    }
    out.set(at, sum);
  }
  for (const sum of out.values()) {
    sum.avgWait = sum.waitN ? sum.waitSum / sum.waitN : null;
    sum.serviceLevel = sum.slN ? sum.slSum / sum.slN : null;
  }
  return out;
}

function when(date, interval, multiDay) {
  const day = date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  if (interval === '1d') return day;
  return multiDay ? `${day} ${formatHM(date)}` : formatHM(date);
}

/** Draws the history; resolves to null, or a sentence saying why it could not. */
export async function loadHistory({ from, to, interval, queue, channel, label }) {
  const scope = `${describe({ queue, channel }, label)}`;
  setText(byId('history-scope'), scope);
  byId('history-csv').href = historyUrl({ from, to, interval, queue, channel }, true);
  const outcome = await getJSON(historyUrl({ from, to, interval, queue, channel }));
  const body = byId('history-body');
  if (!outcome.ok) {
    body.replaceChildren(el('p', { text: 'The history could not be shown.' }));
    return `The history could not be shown. ${outcome.error}`;
  }
  const sums = perInterval(Array.isArray(outcome.data.rows) ? outcome.data.rows : []);
  if (sums.size === 0) {
    body.replaceChildren(el('p', { 'data-testid': 'history-empty', text: 'Nobody joined a queue in this period.' }));
    return null;
  }
  const multiDay = to - from > 86400000 + 3600000;
  const starts = [];
  for (let at = from.getTime(); at < to.getTime() && starts.length < MAX_BARS; at += STEP_MS[interval]) starts.push(at);
  body.replaceChildren(...charts(starts, sums, interval, multiDay), table(sums, interval, multiDay));
  return null;
}

function charts(starts, sums, interval, multiDay) {
  const name = NAMES[interval];
  const range = `from ${when(new Date(starts[0]), interval, true)} to ${when(new Date(starts.at(-1) + STEP_MS[interval]), interval, true)}`;
  const bars = (pick, text) => starts.map((at) => {
    const sum = sums.get(at);
    const value = sum ? pick(sum) : null;
    const label = when(new Date(at), interval, multiDay);
    return { label, value, tip: `${label}: ${value === null ? 'no figure' : text(value)}` };
  });
  const waits = bars((s) => s.avgWait, (v) => `average wait ${formatDuration(v, true)}`);
  const levels = bars((s) => s.serviceLevel, (v) => `service level ${Math.round(v)}%`);
  const worst = waits.filter((b) => b.value !== null).sort((a, b) => b.value - a.value)[0];
  const lowest = levels.filter((b) => b.value !== null).sort((a, b) => a.value - b.value)[0];
  const none = 'Intervals with no contacts have no bar.';
  const waitChart = barChart({
    title: `Average wait each ${name}`,
    desc: `Bar chart ${range}. ${worst ? `The longest average wait was ${formatDuration(worst.value, true)}, at ${worst.label}.` : ''} ${none}`,
    bars: waits, max: niceMax(worst ? worst.value : 60, 60), axis: (v) => formatDuration(v, true), className: 'chart--wait',
  });
  const levelChart = barChart({
    title: `Service level each ${name}`,
    desc: `Bar chart ${range}, 0% to 100%. ${lowest ? `The lowest was ${Math.round(lowest.value)}%, at ${lowest.label}.` : ''} ${none}`,
    bars: levels, max: 100, axis: (v) => `${Math.round(v)}%`, className: 'chart--level',
  });
  return [figure(waitChart, 'chart-wait', `Average wait each ${name} (minutes:seconds)`),
    figure(levelChart, 'chart-level', `Service level each ${name} (share answered within the target time)`)];
}

function figure(chart, id, caption) {
  return el('figure', { class: 'chart-figure', 'data-testid': id }, [
    el('figcaption', { id: `${id}-caption`, class: 'chart-figure__caption', text: caption }),
    el('div', { class: 'chart-scroll', role: 'region', tabindex: '0', 'aria-labelledby': `${id}-caption` }, chart),
  ]);
}

function table(sums, interval, multiDay) {
  const rows = [...sums.entries()].sort(([a], [b]) => a - b).map(([at, s]) => el('tr', {}, [
    el('th', { scope: 'row', text: when(new Date(at), interval, multiDay) }),
    el('td', { class: 'numeric', text: count(s.offered) }),
    el('td', { class: 'numeric', text: count(s.answered) }),
    el('td', { class: 'numeric', text: count(s.abandoned) }),
    el('td', { class: 'numeric', 'data-field': 'avg_wait', text: s.avgWait === null ? DASH : formatDuration(s.avgWait, true) }),
    el('td', { class: 'numeric', 'data-field': 'service_level', text: percent(s.serviceLevel) }),
  ]));
  const head = ['Starting', 'Contacts', 'Answered', 'Abandoned', 'Average wait', 'Service level'];
  return el('details', { class: 'board-help history-table' }, [
    el('summary', { text: 'Show these figures as a table' }),
    el('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-label': 'History figures' }, el('table', { class: 'table', id: 'history-table' }, [
      el('caption', { class: 'visually-hidden', text: `Figures each ${NAMES[interval]}` }),
      el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { scope: 'col', class: i ? 'numeric' : null, text: h })))),
      el('tbody', {}, rows),
    ])),
    el('p', { class: 'hint', text: 'Intervals with no contacts are left out.' }),
  ]);
}
