// Fairness (GET /api/reports/fairness): waits, service level and abandonment by the citizen's
// language and by channel, with the comparison said in words ("Welsh speakers waited on average …").

import { byId, el, formatDuration } from '/static/dom.js';
import { getJSON } from './api.js';
import { DASH, known, count, percent, languageName, channelPlural } from './words.js';

const wait = (v) => (known(v) ? formatDuration(v, true) : DASH);

/** "Welsh speakers"; "People who gave no language". */
function speakers(code) {
  return code ? `${languageName(code)} speakers` : 'People who gave no language';
}

/**
 * One sentence per language compared with English (or, with no English, the language with the most contacts):
 * "Welsh speakers waited on average 1:20, against 0:45 for English speakers; 10% gave up, against 4%."
 */
export function compareLanguages(groups) {
  const timed = groups.filter((g) => known(g.avg_wait_s));
  const base = timed.find((g) => g.language === 'en') || [...timed].sort((a, b) => b.offered - a.offered)[0];
  if (!base) return [];
  return timed.filter((g) => g !== base).map((g) => {
    let line = `${speakers(g.language)} waited on average ${wait(g.avg_wait_s)}, against ${wait(base.avg_wait_s)} for ${speakers(base.language)}`;
    if (known(g.abandonment_pct) && known(base.abandonment_pct)) {
      line += `; ${percent(g.abandonment_pct)} gave up before an answer, against ${percent(base.abandonment_pct)}`;
    }
    return `${line}.`;
  });
}

function groupTable(id, caption, firstHeading, groups, name) {
  const head = [firstHeading, 'Contacts', 'Answered', 'Gave up', 'Average wait', '9 in 10 waited less than', 'Service level'];
  return el('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-labelledby': `${id}-caption` },
    el('table', { class: 'table', id }, [
      el('caption', { id: `${id}-caption`, class: 'table__caption--small', text: caption }),
      el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { scope: 'col', class: i ? 'numeric' : null, text: h })))),
      el('tbody', {}, groups.map((g) => el('tr', { 'data-group': name(g) }, [
        el('th', { scope: 'row', text: name(g) }),
        el('td', { class: 'numeric', 'data-field': 'offered', text: count(g.offered) }),
        el('td', { class: 'numeric', 'data-field': 'answered', text: count(g.answered) }),
        el('td', { class: 'numeric', 'data-field': 'abandonment_pct', text: percent(g.abandonment_pct) }),
        el('td', { class: 'numeric', 'data-field': 'avg_wait_s', text: wait(g.avg_wait_s) }),
        el('td', { class: 'numeric', 'data-field': 'p90_wait_s', text: wait(g.p90_wait_s) }),
        el('td', { class: 'numeric', 'data-field': 'service_level_pct', text: percent(g.service_level_pct) }),
      ]))),
    ]));
}

/** Draws the fairness tables for { from, to }; resolves to null, or why they could not be shown. */
export async function loadFairness({ from, to }) {
  const body = byId('fairness-body');
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  const outcome = await getJSON(`/api/reports/fairness?${query}`);
  if (!outcome.ok) {
    body.replaceChildren(el('p', { text: 'The fairness figures could not be shown.' }));
    return `The fairness figures could not be shown. ${outcome.error}`;
  }
  const languages = Array.isArray(outcome.data.language) ? outcome.data.language : [];
  const channels = Array.isArray(outcome.data.channel) ? outcome.data.channel : [];
  if (!languages.length && !channels.length) {
    body.replaceChildren(el('p', { text: 'Nobody joined a queue in this period.' }));
    return null;
  }
  const sentences = compareLanguages(languages);
  body.replaceChildren(
    el('div', { class: 'fairness-summary', 'data-testid': 'fairness-summary' }, sentences.length
      ? sentences.map((text) => el('p', { text }))
      : el('p', { text: languages.length < 2
        ? 'Only one language was used in this period, so there is nothing to compare.'
        : 'Nobody has been answered yet in some languages, so their waits cannot be compared yet.' })),
    groupTable('fairness-language', 'By language', 'Language', languages, (g) => languageName(g.language)),
    el('p', { class: 'hint', text: 'Each channel has its own target time (calls 20 seconds, chats 1 minute, texts 15 minutes,'
      + ' emails 8 hours), so compare service levels rather than waits across channels.' }),
    groupTable('fairness-channel', 'By channel', 'Channel', channels, (g) => channelPlural(g.channel)),
  );
  return null;
}
