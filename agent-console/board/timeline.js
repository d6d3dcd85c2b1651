// An adviser's day (GET /api/reports/agents/{id}/timeline): their states as a horizontal bar, each part
// coloured and labelled in words, the contacts they had underneath, and the same as lists for screen readers.

import { byId, el, setText, formatHM, focusNode, setBusy, isBusy } from '/static/dom.js';
import { getJSON } from './api.js';
import { svg } from './chart.js';
import { showProblem, clearProblem } from './notices.js';
import { dayValue, dayStart, nextDay } from './reports.js';
import { statusLabel, channelName } from './words.js';

const HOUR_PX = 40;
const LEFT = 72;

/** "2 hours 5 minutes", "45 seconds". */
export function spoken(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? '' : 's'}`);
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (!h && !m) parts.push(`${s % 60} second${s % 60 === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/** Wires the timeline panel. Returns { show(agentId, name) }. */
export function setupTimeline() {
  let agent = null;
  let seq = 0;
  byId('timeline-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  byId('timeline-close').addEventListener('click', () => {
    byId('timeline').hidden = true;
    if (agent) document.querySelector(`tr[data-agent-id="${CSS.escape(agent.id)}"] button[data-action="timeline"]`)?.focus();
    agent = null;
  });

  async function load() {
    const box = byId('timeline-error');
    const button = byId('timeline-show');
    clearProblem(box);
    const start = dayStart(byId('timeline-day').value);
    if (!start) return showProblem(box, 'Enter a day, for example 30/11/2026', 'timeline-day');
    const now = new Date();
    if (start > now) return showProblem(box, 'Choose today or an earlier day', 'timeline-day');
    const end = nextDay(start);
    const to = end < now ? end : now;
    if (isBusy(button)) return;
    const mine = ++seq;
    setBusy(button, true);
    setText(byId('timeline-status'), 'Loading the timeline…');
    const query = new URLSearchParams({ from: start.toISOString(), to: to.toISOString() });
    const outcome = await getJSON(`/api/reports/agents/${encodeURIComponent(agent.id)}/timeline?${query}`);
    setBusy(button, false);
    if (mine !== seq) return;
    if (!outcome.ok) {
      byId('timeline-body').replaceChildren();
      setText(byId('timeline-status'), '');
      showProblem(box, `The timeline could not be shown. ${outcome.error}`);
      return;
    }
    render(outcome.data, start, end);
    setText(byId('timeline-status'), `Timeline for ${agent.name} loaded.`);
  }

  function render(data, start, end) {
    const states = (Array.isArray(data.states) ? data.states : []).map((s) => span(s)).filter(Boolean);
    const contacts = (Array.isArray(data.contacts) ? data.contacts : []).map((c) => span(c)).filter(Boolean);
    const day = start.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    byId('timeline-body').replaceChildren(
      el('figure', { class: 'chart-figure', 'data-testid': 'timeline-chart' }, [
        el('figcaption', { id: 'timeline-caption', class: 'chart-figure__caption', text: `${agent.name}, ${day}` }),
        el('div', { class: 'chart-scroll', role: 'region', tabindex: '0', 'aria-labelledby': 'timeline-caption' },
          drawDay(states, contacts, start, end)),
      ]),
      legend(states),
      el('h3', { text: 'States' }),
      el('ol', { class: 'timeline-list', 'data-testid': 'timeline-states' }, states.map((s) => el('li', { 'data-status': s.status }, [
        el('span', { class: 'status-dot', 'aria-hidden': 'true' }),
        `${formatHM(s.from)} to ${formatHM(s.to)}: ${statusLabel(s.status)}${s.reason ? ` (${s.reason})` : ''}, ${spoken((s.to - s.from) / 1000)}`,
      ]))),
      el('h3', { text: `Contacts (${contacts.length})` }),
      contacts.length
        ? el('ol', { class: 'timeline-list', 'data-testid': 'timeline-contacts' }, contacts.map((c) => el('li', {
          text: `${channelName(c.channel)}, ${formatHM(c.from)} to ${c.open ? 'now (still open)' : formatHM(c.to)}`,
        })))
        : el('p', { text: 'No contacts on this day.' }),
    );
  }

  /** Shows the panel for an adviser (today), moving focus to it: the supervisor asked for it. */
  function show(id, name) {
    agent = { id: String(id), name };
    setText(byId('timeline-heading'), `Timeline for ${name}`);
    byId('timeline-day').value = dayValue(new Date());
    byId('timeline-body').replaceChildren();
    byId('timeline').hidden = false;
    focusNode(byId('timeline-heading'));
    load();
  }

  return { show };
}

/** { ...item, from: Date, to: Date } (a contact still open ends now), or null when unreadable. */
function span(item) {
  const from = new Date(item.from);
  const open = !item.to;
  const to = open ? new Date() : new Date(item.to);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to < from) return null;
  return { ...item, from, to, open };
}

function drawDay(states, contacts, start, end) {
  const hours = (end - start) / 3600000;
  const width = LEFT + hours * HOUR_PX + 16;
  const x = (date) => LEFT + ((Math.min(Math.max(date, start), end) - start) / 3600000) * HOUR_PX;
  const day = svg('svg', {
    role: 'img', width, height: 110, viewBox: `0 0 ${width} 110`, class: 'chart timeline-chart',
    'aria-labelledby': 'timeline-svg-title', 'aria-describedby': 'timeline-svg-desc',
  }, [
    svg('title', { id: 'timeline-svg-title' }, 'States and contacts through the day'),
    svg('desc', { id: 'timeline-svg-desc' }, 'The same as the lists of states and contacts below.'),
    svg('text', { x: 0, y: 38, class: 'chart__tick' }, 'State'),
    svg('text', { x: 0, y: 78, class: 'chart__tick' }, 'Contacts'),
  ]);
  for (const s of states) {
    const x1 = x(s.from);
    const w = Math.max(1, x(s.to) - x1);
    const text = statusLabel(s.status);
    day.append(svg('rect', { x: x1, y: 18, width: w, height: 30, class: `timeline-bar timeline-bar--${s.status}` },
      svg('title', {}, `${formatHM(s.from)} to ${formatHM(s.to)}: ${text}`)));
    if (w > text.length * 7.5 + 8) day.append(svg('text', { x: x1 + 4, y: 38, class: 'timeline-bar__label' }, text));
  }
  for (const c of contacts) {
    day.append(svg('rect', { x: x(c.from), y: 64, width: Math.max(2, x(c.to) - x(c.from)), height: 18, class: 'timeline-contact' },
      svg('title', {}, `${channelName(c.channel)}, ${formatHM(c.from)} to ${c.open ? 'now' : formatHM(c.to)}`)));
  }
  for (let h = 0; h <= hours; h += 3) {
    const at = LEFT + h * HOUR_PX;
    day.append(
      svg('line', { x1: at, x2: at, y1: 12, y2: 88, class: 'chart__grid' }),
      svg('text', { x: at, y: 104, 'text-anchor': 'middle', class: 'chart__tick' }, formatHM(new Date(start.getTime() + h * 3600000))),
    );
  }
  return day;
}

function legend(states) {
  const seen = [...new Set(states.map((s) => s.status))];
  return el('ul', { class: 'timeline-legend', 'aria-label': 'Key' }, seen.map((status) => el('li', { 'data-status': status }, [
    el('span', { class: `timeline-swatch timeline-bar--${status}`, 'aria-hidden': 'true' }), statusLabel(status),
  ])));
}
