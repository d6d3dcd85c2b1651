// Builds the DOM of one call panel (a voice conversation) and the words it shows. No state here:
// calls.js drives it.

import { el } from '/static/dom.js';

const STATE_TEXT = {
  ringing: 'Connecting the call…',
  dialling: 'Calling the citizen back: their phone is ringing…',
  connected: 'Connected',
  held: 'On hold: the citizen hears hold music and you hear nothing',
};
const ENDED_BY = { citizen: 'Call ended by the citizen.', agent: 'Call ended by you.' };
const MEDIA_TEXT = {
  microphone: 'Starting your microphone…',
  connecting: 'Connecting the call audio…',
  connected: 'Call audio connected.',
  interrupted: 'Call audio interrupted. Waiting for it to come back…',
  lost: 'Connection to contactd lost. The call audio will reconnect when the connection is back.',
  off: '',
};
const DIGIT_NAMES = { '*': 'star', '#': 'hash' };

/** What the call state line says for call.state (and `by` once it has ended). */
export function callStateText(state, by) {
  if (state === 'ended') return ENDED_BY[by] || 'Call ended.';
  return STATE_TEXT[state] || STATE_TEXT.ringing;
}

/** The local audio line: 'microphone', 'connecting', 'connected', 'interrupted', 'lost' or 'off' (empty). */
export function mediaText(what) {
  return MEDIA_TEXT[what] ?? '';
}

/** A key as a screen reader should say it: "5", "star", "hash". */
export function digitName(digit) {
  return DIGIT_NAMES[digit] || digit;
}

/** Returns the call panel's elements. opts: { key (the conversation panel's id prefix), name }. */
export function buildCallPanel({ key, name }) {
  const parts = {};
  const headingId = `${key}-call-heading`;
  parts.state = el('p', { class: 'call__state', 'data-testid': 'call-state', text: callStateText('ringing') });
  parts.timer = el('span', { class: 'call__time', role: 'timer', 'data-testid': 'call-timer', text: '0:00' });
  parts.muted = el('p', { class: 'call__muted', 'data-testid': 'call-muted', hidden: true }, el('strong', {
    class: 'tag tag--red', text: 'Your microphone is muted: the citizen cannot hear you',
  }));
  parts.media = el('p', { class: 'call__media', 'data-testid': 'call-media' });
  parts.error = el('p', { class: 'error-message', role: 'alert', 'data-testid': 'call-error' });
  parts.recording = el('p', { class: 'call__recording', 'data-testid': 'call-recording', hidden: true });
  parts.supervisor = el('p', { class: 'call__supervisor', 'data-testid': 'call-supervisor', hidden: true });
  buildControls(parts, name);
  parts.keys = el('span', { class: 'call__digits', 'data-testid': 'call-dtmf', text: 'none' });
  // One <audio> per call plays the citizen; it has no controls, so it takes no space.
  parts.audio = el('audio', { autoplay: true, 'data-testid': 'call-audio' });
  parts.root = el('section', {
    class: 'call', 'data-testid': 'call', 'data-state': 'ringing', 'aria-labelledby': headingId,
  }, [
    el('h4', { id: headingId, class: 'call__heading', text: 'Phone call' }),
    parts.state,
    el('p', { class: 'call__timer' }, ['Call time ', parts.timer]),
    parts.muted,
    parts.recording,
    parts.supervisor,
    parts.media,
    parts.error,
    parts.controls,
    el('p', { class: 'call__keys' }, ['Keys pressed: ', parts.keys]),
    parts.audio,
  ]);
  return parts;
}

function buildControls(parts, name) {
  parts.mute = button('Mute', 'call-mute', 'button--secondary');
  parts.hold = button('Hold', 'call-hold', 'button--secondary');
  parts.hangup = button('Hang up', 'call-hangup', 'button--warning', `Hang up the call with ${name}`);
  parts.reconnect = button('Reconnect', 'call-reconnect', 'button--secondary', 'Reconnect the call audio');
  parts.play = button('Play call sound', 'call-play', 'button--secondary');
  parts.play.hidden = true;
  // Shown only for a recorded call (call.recording): pause while the citizen gives card details.
  parts.record = button('Pause recording', 'call-record', 'button--secondary');
  parts.record.hidden = true;
  parts.controls = el('div', { class: 'button-group call__controls' }, [
    parts.mute, parts.hold, parts.hangup, parts.reconnect, parts.record, parts.play,
  ]);
}

function button(text, testid, variant, label) {
  return el('button', {
    type: 'button', class: `button ${variant}`, 'data-testid': testid, 'aria-label': label, text,
  });
}
