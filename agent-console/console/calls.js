// Voice calls: the call panel of each voice conversation, driven by the server's frames
// (docs/protocol.md "Voice calls") and the adviser's buttons. softphone.js does the WebRTC.

import { setText, setBusy, isBusy, formatDuration } from '/static/dom.js';
import { buildCallPanel, callStateText, mediaText, digitName } from './callpanel.js';
import { createSoftphone } from './softphone.js';

const MICROPHONE_TEXT = 'Your microphone is not available: allow it in the browser, then press Reconnect.';
const NOT_CONNECTED_TEXT = 'You are not connected. Try again when the connection is back.';
const STATES = new Set(['ringing', 'dialling', 'connected', 'held', 'ended']);
const DIGITS = /^[0-9*#]$/;
// Error codes an rtc.offer can get (docs/protocol.md "Errors" and "Voice calls"); unknown_type
// too, so a server without voice says so in the call panel.
const OFFER_ERRORS = new Set([
  'not_yours', 'bad_value', 'unavailable', 'conflict', 'missing_field', 'wrong_type', 'too_long', 'unknown_type',
]);
// The server gives up on the node holding the call after 5 s (`unavailable`); this is only a backstop.
const ANSWER_TIMEOUT_MS = 10000;

/** The ice_servers of a call object, as RTCPeerConnection wants them (entries without urls dropped). */
export function iceServersOf(call) {
  const servers = Array.isArray(call?.ice_servers) ? call.ice_servers : [];
  return servers.filter((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls)));
}

/** The call state in a conversation.assigned call object; a missing or unknown one counts as ringing. */
function stateOf(call) {
  return STATES.has(call?.state) ? call.state : 'ringing';
}

/** ctx: { send(frame) -> bool, announce(text), announcePolite(text) } */
export function createCalls(ctx) {
  const calls = new Map();

  /**
   * A voice conversation's call panel; unless the call is over, it answers at once (the adviser
   * accepted the offer). opts: { id, key, name, call (conversation.assigned's), over }. Returns the panel.
   */
  function open({ id, key, name, call, over }) {
    const parts = buildCallPanel({ key, name });
    const c = {
      id, name, parts, state: 'ringing', muted: false, since: null, clock: null, noAnswer: null,
      digits: [], iceServers: iceServersOf(call),
    };
    c.phone = createSoftphone({
      id, send: ctx.send, audio: parts.audio, onEvent: (event, detail) => onPhone(c, event, detail),
    });
    bind(c);
    calls.set(id, c);
    setState(c, over ? 'ended' : stateOf(call), call?.by);
    if (c.state !== 'ended') start(c);
    return parts.root;
  }

  function bind(c) {
    const { parts } = c;
    parts.mute.addEventListener('click', () => toggleMute(c));
    parts.hold.addEventListener('click', () => toggleHold(c));
    parts.hangup.addEventListener('click', () => hangup(c));
    parts.reconnect.addEventListener('click', () => reconnect(c));
    parts.play.addEventListener('click', () => playSound(c));
    parts.record.addEventListener('click', () => toggleRecording(c));
  }

  /** Pause a recorded call's recording (card details), or resume it; the server confirms with call.recording. */
  function toggleRecording(c) {
    const paused = c.recording === 'paused';
    if (c.state === 'ended' || !c.recording) return;
    ctx.send({ type: paused ? 'call.record.resume' : 'call.record.pause', conversation_id: c.id });
  }

  /** call.recording: this call is being recorded, or the recording is paused. */
  function recording(frame) {
    const c = calls.get(frame.conversation_id);
    if (!c || !['recording', 'paused'].includes(frame.state)) return;
    c.recording = frame.state;
    const paused = frame.state === 'paused';
    setText(c.parts.recording, paused
      ? 'Recording paused: card details are not recorded. Resume it when they are done.'
      : 'This call is being recorded.');
    c.parts.recording.hidden = false;
    c.parts.record.hidden = false;
    setText(c.parts.record, paused ? 'Resume recording' : 'Pause recording');
    ctx.announcePolite(paused ? 'Recording paused.' : 'Recording on.');
  }

  /** call.supervisor: a supervisor started or stopped speaking on the call (whisper: only you hear them). */
  function supervisor(frame) {
    const c = calls.get(frame.conversation_id);
    if (!c) return;
    const name = frame.name || 'A supervisor';
    const says = {
      whisper: `${name} is speaking to you: the citizen cannot hear them.`,
      barge: `${name} has joined the call: the citizen can hear them.`,
    }[frame.mode];
    setText(c.parts.supervisor, says || '');
    c.parts.supervisor.hidden = !says;
    ctx.announcePolite(says || `${name} is no longer speaking on the call.`);
  }

  /** conversation.assigned re-sent (the console's socket came back): fresh TURN credentials, a new offer. */
  function reassign(id, call, over) {
    const c = calls.get(id);
    if (!c || c.state === 'ended') return;
    c.iceServers = iceServersOf(call);
    setState(c, over ? 'ended' : stateOf(call), call?.by);
    if (c.state !== 'ended') start(c);
  }

  /** A new RTCPeerConnection and rtc.offer (the old peer, if any, is closed). */
  function start(c) {
    clearTimeout(c.noAnswer);
    showError(c, '');
    c.parts.play.hidden = true;
    setMedia(c, 'microphone');
    c.phone.connect(c.iceServers);
  }

  function onPhone(c, event, detail) {
    const handlers = {
      microphone: () => { setMedia(c, 'off'); showError(c, MICROPHONE_TEXT); },
      failed: () => fail(c, `The call audio could not be set up (${detail?.message || detail || 'unknown error'}).`),
      'not-sent': () => fail(c, 'The call audio could not connect because you are not connected.'),
      'offer-sent': () => {
        setMedia(c, 'connecting');
        c.noAnswer = setTimeout(() => noAnswer(c), ANSWER_TIMEOUT_MS);
      },
      answered: () => clearTimeout(c.noAnswer),
      connection: () => onConnection(c, detail),
      'audio-blocked': () => {
        c.parts.play.hidden = false;
        showError(c, 'The browser did not play the call sound. Press Play call sound.');
      },
    };
    handlers[event]?.();
  }

  /** RTCPeerConnectionState of the current peer. */
  function onConnection(c, state) {
    if (state === 'connected') {
      setMedia(c, 'connected');
      if (c.parts.play.hidden) showError(c, '');
    } else if (state === 'disconnected') {
      setMedia(c, 'interrupted');
    } else if (state === 'failed') {
      c.phone.close();
      fail(c, 'The call audio connection failed.');
    }
  }

  /** Something stopped the audio: say so in the call panel; Reconnect tries again. */
  function fail(c, text) {
    clearTimeout(c.noAnswer);
    setMedia(c, 'off');
    showError(c, `${text} Press Reconnect to try again.`);
  }

  function noAnswer(c) {
    if (!c.phone.awaitingAnswer()) return;
    c.phone.close();
    fail(c, 'The call audio did not connect: contactd did not answer.');
  }

  function toggleMute(c) {
    c.muted = !c.muted;
    c.phone.setMuted(c.muted);
    setText(c.parts.mute, c.muted ? 'Unmute' : 'Mute');
    c.parts.muted.hidden = !c.muted;
    ctx.announcePolite(c.muted
      ? 'Microphone muted. The citizen cannot hear you.'
      : 'Microphone on. The citizen can hear you.');
  }

  function toggleHold(c) {
    const { hold } = c.parts;
    if (c.state === 'ended' || isBusy(hold)) return;
    const resume = c.state === 'held';
    if (!ctx.send({ type: resume ? 'call.resume' : 'call.hold', conversation_id: c.id })) {
      showError(c, `The call could not be ${resume ? 'resumed' : 'put on hold'}. ${NOT_CONNECTED_TEXT}`);
      return;
    }
    // The label changes when the server confirms with call.state.
    setBusy(hold, true, resume ? 'Resuming…' : 'Putting on hold…');
  }

  function hangup(c) {
    const { hangup: button } = c.parts;
    if (c.state === 'ended' || isBusy(button)) return;
    if (!ctx.send({ type: 'call.hangup', conversation_id: c.id })) {
      showError(c, `The call could not be ended. ${NOT_CONNECTED_TEXT}`);
      return;
    }
    // call.state ended and conversation.ended follow: the wrap-up form replaces the controls.
    setBusy(button, true, 'Hanging up…');
  }

  function reconnect(c) {
    if (c.state === 'ended') return;
    start(c);
    ctx.announcePolite('Reconnecting the call audio.');
  }

  function playSound(c) {
    c.parts.audio.play().then(() => {
      c.parts.play.hidden = true;
      showError(c, '');
    }).catch(() => {});
  }

  /** Shows a call state: the line, the Hold/Resume label, the timer; ended closes the audio. */
  function setState(c, state, by) {
    const { parts } = c;
    c.state = state;
    parts.root.dataset.state = state;
    setText(parts.state, callStateText(state, by));
    setBusy(parts.hold, false);
    setText(parts.hold, state === 'held' ? 'Resume' : 'Hold');
    if (state === 'connected' || state === 'held') startClock(c);
    if (state === 'ended') finish(c);
  }

  function startClock(c) {
    if (c.clock) return;
    // After a reload the call has been going for longer: the protocol does not say since when.
    c.since ??= Date.now();
    const tick = () => setText(c.parts.timer, formatDuration(Math.floor((Date.now() - c.since) / 1000), true));
    tick();
    c.clock = setInterval(tick, 1000);
  }

  /** The call is over: close the peer, stop the microphone and the timer, put the controls away. */
  function finish(c) {
    c.phone.close();
    clearInterval(c.clock);
    clearTimeout(c.noAnswer);
    c.clock = null;
    setMedia(c, 'off');
    showError(c, '');
    c.parts.controls.hidden = true;
    c.parts.muted.hidden = true;
    c.parts.recording.hidden = true;
  }

  /** call.state from the server. */
  function state(frame) {
    const c = calls.get(frame.conversation_id);
    if (!c || !STATES.has(frame.state) || c.state === 'ended') return;
    const before = c.state;
    // A call back rings the citizen's phone first: the answer comes when they pick up, however long that takes.
    if (frame.state === 'dialling') clearTimeout(c.noAnswer);
    setState(c, frame.state, frame.by);
    if (frame.state === before) return;
    // 'ended' is announced with conversation.ended, which follows.
    const said = {
      connected: before === 'held' ? `Call with ${c.name} resumed.` : `Call with ${c.name} connected.`,
      held: `Call with ${c.name} is on hold.`,
    }[frame.state];
    if (said) ctx.announcePolite(said);
  }

  /** call.dtmf: a key the citizen pressed. */
  function dtmf(frame) {
    const c = calls.get(frame.conversation_id);
    const digit = String(frame.digit ?? '');
    if (!c || !DIGITS.test(digit)) return;
    c.digits.push(digit);
    setText(c.parts.keys, c.digits.join(' '));
    ctx.announcePolite(`${c.name} pressed ${digitName(digit)}.`);
  }

  /** rtc.answer from the node that holds the call. */
  function answer(frame) {
    calls.get(frame.conversation_id)?.phone.answer(frame.sdp);
  }

  /**
   * An error frame while an rtc.offer waits for its answer is taken as the offer's: error frames
   * carry no conversation_id and rtc.offer has no id to echo. Returns true if it was.
   */
  function offerFailed(frame) {
    if (!OFFER_ERRORS.has(frame.code)) return false;
    const waiting = [...calls.values()].filter((c) => c.phone.awaitingAnswer());
    const why = String(frame.message || frame.code || 'something went wrong').replace(/[.\s]+$/, '');
    for (const c of waiting) {
      c.phone.close();
      fail(c, `The call audio could not connect. ${why}.`);
    }
    return waiting.length > 0;
  }

  /** conversation.ended: the call is over even if no call.state said so. */
  function end(id, by) {
    const c = calls.get(id);
    if (c && c.state !== 'ended') setState(c, 'ended', by);
  }

  /** conversation.closed (wrap-up saved, transferred, wrap-up time ended): the panel goes. */
  function remove(id) {
    const c = calls.get(id);
    if (!c) return;
    finish(c);
    calls.delete(id);
  }

  /** The console's socket went (or was closed): drop every peer; conversation.assigned restarts them. */
  function suspendAll() {
    for (const c of calls.values()) {
      if (c.state === 'ended') continue;
      c.phone.close();
      clearTimeout(c.noAnswer);
      setMedia(c, 'lost');
    }
  }

  /** After a server error that is not the offer's: let the adviser press Hold or Hang up again. */
  function resetBusy() {
    for (const c of calls.values()) {
      setBusy(c.parts.hold, false);
      setBusy(c.parts.hangup, false);
    }
  }

  function focus(id) {
    calls.get(id)?.parts.mute.focus();
  }

  function setMedia(c, what) {
    setText(c.parts.media, mediaText(what));
  }

  function showError(c, text) {
    setText(c.parts.error, text);
  }

  return { open, reassign, answer, state, dtmf, recording, supervisor, offerFailed, end, remove, suspendAll, resetBusy, focus };
}
