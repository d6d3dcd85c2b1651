// The list of advisers a chat can be transferred to (GET /api/agents), shared by every panel.

import { el } from '/static/dom.js';

const STATUS_WORDS = { available: 'available', away: 'away', offline: 'offline' };
export const NO_ADVISER_TEXT = 'No particular adviser';

/**
 * selfId: the signed-in user's id (left out of the list).
 * Returns { refresh(select) }: fetches the list (one request at a time for all panels)
 * and fills the select, keeping the adviser already chosen.
 */
export function createAgentDirectory(selfId) {
  let inFlight = null;
  let last = null;

  function load() {
    if (!inFlight) {
      inFlight = fetchAgents(selfId)
        .then((agents) => { last = agents; return agents; })
        .finally(() => { inFlight = null; });
    }
    return inFlight;
  }

  /** Fills the select now from the last list (if any), then again when the fresh list arrives. */
  async function refresh(select) {
    if (last) fill(select, last);
    try {
      fill(select, await load());
      select.removeAttribute('data-load-failed');
    } catch {
      select.dataset.loadFailed = 'true';
      if (!last) fill(select, []);
    }
  }

  return { refresh };
}

async function fetchAgents(selfId) {
  const res = await fetch('/api/agents', {
    credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store',
  });
  if (!res.ok) throw new Error(`GET /api/agents failed with ${res.status}`);
  const body = await res.json();
  const agents = Array.isArray(body.agents) ? body.agents : [];
  return agents
    .filter((a) => a && a.id !== null && a.id !== undefined && String(a.id) !== String(selfId))
    .map((a) => ({ id: String(a.id), name: String(a.name || `Adviser ${a.id}`), status: a.status }));
}

/** Text of one option, e.g. "Bethan Jones (available)". */
export function agentOptionText(agent) {
  const status = STATUS_WORDS[agent.status] || agent.status;
  return status ? `${agent.name} (${status})` : agent.name;
}

/** Rebuilds the options only when they changed, so an open list or the choice is not disturbed. */
function fill(select, agents) {
  const wanted = [['', NO_ADVISER_TEXT, null], ...agents.map((a) => [a.id, agentOptionText(a), a.name])];
  const current = [...select.options].map((o) => [o.value, o.textContent, o.dataset.name ?? null]);
  if (JSON.stringify(wanted) === JSON.stringify(current)) return;
  const chosen = select.value;
  select.replaceChildren(...wanted.map(([value, text, name]) => el('option', { value, text, 'data-name': name })));
  select.value = wanted.some(([value]) => value === chosen) ? chosen : '';
}
