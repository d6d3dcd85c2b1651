// The board's filters: one queue and/or one channel. The choice lives in the page address
// (?queue=&channel=), so a supervisor can bookmark or share a filtered board and Back undoes a change.
// Applied with a button (WCAG 3.2.2: choosing an option changes nothing on its own).

import { byId, el, setText } from '/static/dom.js';
import { CHANNELS, channelPlural } from './words.js';

/**
 * queues: [{ name, display_name }] (fetchQueues). label(name): a queue's display name.
 * onChange({ queue, channel }): after the filters change (also on Back/Forward).
 * Returns { current() }: the filters now, each '' for "all".
 */
export function setupFilters({ queues, label, onChange }) {
  const form = byId('filters');
  const queueSelect = byId('filter-queue');
  const channelSelect = byId('filter-channel');
  for (const q of queues) queueSelect.append(el('option', { value: q.name, text: label(q.name) }));
  for (const ch of CHANNELS) channelSelect.append(el('option', { value: ch, text: channelPlural(ch) }));

  const names = new Set(queues.map((q) => q.name));
  let state = fromAddress(names);

  function show() {
    queueSelect.value = state.queue;
    channelSelect.value = state.channel;
  }

  function apply(next, how) {
    state = next;
    show();
    const query = new URLSearchParams();
    if (state.queue) query.set('queue', state.queue);
    if (state.channel) query.set('channel', state.channel);
    const search = query.toString();
    const url = `${location.pathname}${search ? `?${search}` : ''}${location.hash}`;
    if (how === 'push' && url !== `${location.pathname}${location.search}${location.hash}`) {
      history.pushState(null, '', url);
    }
    setText(byId('filters-status'), describe(state, label));
    onChange({ ...state });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply({ queue: queueSelect.value, channel: channelSelect.value }, 'push');
  });
  byId('filters-clear').addEventListener('click', () => apply({ queue: '', channel: '' }, 'push'));
  window.addEventListener('popstate', () => apply(fromAddress(names), 'none'));

  show();
  byId('filters-status').textContent = describe(state, label);
  return { current: () => ({ ...state }) };
}

/** The filters in the address; a queue or channel the board does not know is ignored. */
function fromAddress(names) {
  const query = new URLSearchParams(location.search);
  const queue = query.get('queue') || '';
  const channel = query.get('channel') || '';
  return {
    queue: names.has(queue) ? queue : '',
    channel: CHANNELS.includes(channel) ? channel : '',
  };
}

/** "Showing Benefits, chats only." */
export function describe({ queue, channel }, label) {
  const which = queue ? label(queue) : 'all queues';
  const how = channel ? `${channelPlural(channel).toLowerCase()} only` : 'all channels';
  return `Showing ${which}, ${how}.`;
}
