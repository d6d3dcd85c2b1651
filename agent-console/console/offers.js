// Offers of chats, texts, emails and calls: one card per offer with a countdown, Accept and Decline.

import { el, setText, isEditingText, focusNode, setBusy, isBusy } from '/static/dom.js';
import { channelLabel, channelWords } from './channels.js';

const EXPIRED_GRACE_MS = 5000;
const URGENT_SECONDS = 10;
const LANGUAGES = { en: 'English', cy: 'Welsh (Cymraeg)' };
// What an offer card says about who it is from when nobody is named (a call's or a text's citizen is their
// number, an email's their address), and what it says when the citizen goes before it is answered.
const NOBODY = { chat: 'a citizen', voice: 'an unknown caller', sms: 'an unknown number', email: 'an unknown sender' };
const ABANDONED = {
  chat: (name) => `${name} left before the chat started. The offer has been withdrawn.`,
  voice: (name) => `${name} hung up before the call was answered. The offer has been withdrawn.`,
};
const WITHDRAWN_TEXT = {
  timeout: (name, w) => `The ${w.noun} offer from ${name} has timed out.`,
  abandoned: (name, w) => w.abandoned(name),
  taken: (name, w) => `The ${w.noun} offer from ${name} was answered by another agent.`,
  declined: (name, w) => `The ${w.noun} offer from ${name} was declined.`,
  away: (name, w) => `The ${w.noun} offer from ${name} was withdrawn because you are no longer available.`,
};

/**
 * The words of an offer of `channel` (channels.js names it): "Text message from …", "Accept text".
 * Chats keep their plain Accept and Decline; anything the console does not know is offered as a chat.
 */
export function offerWords(channel) {
  const known = Object.hasOwn(NOBODY, channel) ? channel : 'chat';
  const { label, noun } = channelWords(known);
  const named = known !== 'chat';
  return {
    label,
    noun,
    nobody: NOBODY[known],
    accept: named ? `Accept ${noun}` : 'Accept',
    decline: named ? `Decline ${noun}` : 'Decline',
    abandoned: ABANDONED[known] || ((name) => `${name} is no longer waiting. The ${noun} offer has been withdrawn.`),
  };
}

/**
 * ctx: { send(frame) -> bool, announce(text), announcePolite(text), showError(text),
 *        queueLabel(name) -> string, onCountChange(count) }
 */
export function createOffers(list, emptyState, ctx) {
  const offers = new Map();

  function add(frame) {
    const id = frame.conversation_id;
    if (!id) return;
    const seconds = Math.max(0, Number(frame.expires_in_s) || 0);
    const existing = offers.get(id);
    if (existing) {
      existing.deadline = Date.now() + seconds * 1000;
      renderTransferred(existing.transferred, frame.transferred);
      tick(existing);
      return;
    }
    const offer = buildOffer(frame, seconds);
    offers.set(id, offer);
    list.append(offer.card);
    tick(offer);
    offer.timer = setInterval(() => tick(offer), 1000);
    changed();
    const handedOn = transferredText(frame.transferred);
    ctx.announce(`New ${offer.words.noun} offer from ${offer.name}, queue ${ctx.queueLabel(frame.queue)}. `
      + `${handedOn ? `${handedOn}. ` : ''}${seconds} seconds to accept.`);
    if (!isEditingText()) offer.accept.focus();
  }

  function buildOffer(frame, seconds) {
    const id = frame.conversation_id;
    const words = offerWords(frame.channel);
    const name = frame.citizen?.name || words.nobody;
    const titleId = `offer-${id}-title`;
    const countdown = el('strong', { 'data-testid': 'offer-countdown', text: String(seconds) });
    const countdownLabel = el('span', { text: ' seconds left to accept' });
    const accept = el('button', {
      type: 'button', class: 'button', 'data-testid': 'offer-accept',
      'aria-label': `Accept ${words.noun} from ${name}`, text: words.accept,
    });
    const reject = el('button', {
      type: 'button', class: 'button button--secondary', 'data-testid': 'offer-reject',
      'aria-label': `Decline ${words.noun} from ${name}`, text: words.decline,
    });
    const transferred = el('p', { class: 'offer__transferred', 'data-testid': 'offer-transferred' });
    renderTransferred(transferred, frame.transferred);
    const card = el('li', {
      class: 'offer', 'data-testid': 'offer', 'data-conversation-id': id, 'aria-labelledby': titleId,
    }, [
      el('h3', { id: titleId, text: `${words.label} from ${name}` }),
      transferred,
      el('dl', { class: 'details-list' }, [
        detail('Queue', ctx.queueLabel(frame.queue)),
        detail('Channel', channelLabel(frame.channel)),
        detail('Language', LANGUAGES[frame.citizen?.language] || frame.citizen?.language || 'Not given'),
      ]),
      el('p', { class: 'offer__countdown' }, [countdown, countdownLabel]),
      el('div', { class: 'button-group' }, [accept, reject]),
    ]);
    const offer = { id, name, words, card, transferred, countdown, countdownLabel, accept, reject, timer: null, expired: false,
      deadline: Date.now() + seconds * 1000 };
    accept.addEventListener('click', () => acceptOffer(offer));
    reject.addEventListener('click', () => rejectOffer(offer));
    return offer;
  }

  function tick(offer) {
    const left = Math.max(0, Math.ceil((offer.deadline - Date.now()) / 1000));
    setText(offer.countdown, String(left));
    setText(offer.countdownLabel, left === 1 ? ' second left to accept' : ' seconds left to accept');
    offer.card.classList.toggle('offer--urgent', left > 0 && left <= URGENT_SECONDS);
    if (left === 0 && !offer.expired) expire(offer);
  }

  function expire(offer) {
    offer.expired = true;
    offer.card.classList.add('offer--expired');
    setText(offer.countdownLabel, ' seconds left. This offer has expired.');
    setBusy(offer.accept, true);
    setBusy(offer.reject, true);
    setTimeout(() => remove(offer.id), EXPIRED_GRACE_MS);
  }

  function acceptOffer(offer) {
    if (isBusy(offer.accept)) return;
    if (!ctx.send({ type: 'offer.accept', conversation_id: offer.id })) {
      ctx.showError(`You are not connected, so the ${offer.words.noun} could not be accepted. `
        + 'Try again when the connection is back.');
      return;
    }
    setBusy(offer.accept, true, 'Accepting…');
    setBusy(offer.reject, true);
  }

  function rejectOffer(offer) {
    if (isBusy(offer.reject)) return;
    if (!ctx.send({ type: 'offer.reject', conversation_id: offer.id })) {
      ctx.showError('You are not connected, so the offer could not be declined. Try again when the connection is back.');
      return;
    }
    remove(offer.id);
    ctx.announcePolite(`You declined the ${offer.words.noun} from ${offer.name}.`);
  }

  function withdraw(frame) {
    const offer = offers.get(frame.conversation_id);
    if (!offer) return;
    remove(offer.id);
    const text = WITHDRAWN_TEXT[frame.reason];
    const { noun } = offer.words;
    ctx.announce(text ? text(offer.name, offer.words) : `The ${noun} offer from ${offer.name} has been withdrawn.`);
  }

  /** Removes a card. Returns true if keyboard focus was in it (and so had to move). */
  function remove(id, { moveFocus = true } = {}) {
    const offer = offers.get(id);
    if (!offer) return false;
    const hadFocus = offer.card.contains(document.activeElement);
    clearInterval(offer.timer);
    offers.delete(id);
    offer.card.remove();
    changed();
    if (hadFocus && moveFocus) {
      const next = [...offers.values()].find((o) => !o.expired);
      if (next) next.accept.focus();
      else focusNode(document.getElementById('offers-heading'));
    }
    return hadFocus;
  }

  /** After a server error, let the agent try Accept/Decline again. */
  function resetBusy() {
    for (const offer of offers.values()) {
      if (offer.expired) continue;
      setBusy(offer.accept, false);
      setBusy(offer.reject, false);
    }
  }

  function changed() {
    emptyState.hidden = offers.size > 0;
    ctx.onCountChange?.(offers.size);
  }

  changed();
  return { add, withdraw, remove, resetBusy };
}

/** "Transferred by Alex Morgan: her case" (no reason: "Transferred by Alex Morgan"); '' if not transferred. */
export function transferredText(transferred) {
  if (!transferred || typeof transferred !== 'object') return '';
  const by = String(transferred.by || '').trim() || 'another adviser';
  const reason = String(transferred.reason || '').trim();
  return reason ? `Transferred by ${by}: ${reason}` : `Transferred by ${by}`;
}

/** Shows the "Transferred by …" line in node, or hides it when there is none. */
export function renderTransferred(node, transferred) {
  const text = transferredText(transferred);
  setText(node, text);
  node.hidden = !text;
}

function detail(term, value) {
  return el('div', {}, [el('dt', { text: term }), el('dd', { text: value })]);
}
