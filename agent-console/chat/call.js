// "Call us": a call from the chat page over its own /ws/chat socket (docs/protocol.md, call.start).
// The citizen waits with their place in the queue on screen (and hears it, then hold audio, from the
// server), talks to the adviser, and hangs up. A call cannot be resumed: the server ends it when the
// socket closes, so this socket is never reopened and closing the page hangs up.

import { byId, focusNode, formatDuration, setText } from '/static/dom.js';
import { openSocket } from '/static/ws.js';
import { MicrophoneError, gatheredOffer, newPeer, openMicrophone, stopTracks } from './phone.js';
import { idle, queueStatusText } from './session.js';

const MIC_ERRORS = { refused: 'micRefused', missing: 'micMissing', unsupported: 'callUnsupported', failed: 'micFailed' };
const ERROR_KEYS = { queue_closed: 'queueClosed', unknown_queue: 'unknownQueue' };
const ENDED_BY = { agent: 'callEndedByAgent', citizen: 'callEndedByCitizen', lost: 'callLost' };

/**
 * deps: { t(key, vars), showError(text, key), backToStart() } (backToStart shows the start form again).
 * Returns { start(frame), relabel() }: start takes the chat.start fields and makes the call.
 */
export function createCall({ t, showError, backToStart }) {
  let call = null; // the call on screen: { phase: starting | waiting | connected | ended, … }, or null
  const audio = byId('call-audio');

  byId('hangup-button').addEventListener('click', hangUp);
  byId('mute-button').addEventListener('click', toggleMute);
  byId('play-button').addEventListener('click', playSound);
  byId('call-again-button').addEventListener('click', startAgain);
  // The server ends a call whose socket closes; saying so first ends it at once.
  window.addEventListener('pagehide', () => { if (call) end(call, 'citizen', true); });

  /** Opens the microphone, offers WebRTC and sends call.start; an error returns to the start form. */
  async function start(fields) {
    if (call) return;
    const c = { phase: 'starting', sent: false, muted: false, lastQueued: null, agentName: null };
    const stale = () => call !== c || c.phase !== 'starting'; // ended (the page closed) while we awaited
    call = c;
    try {
      c.microphone = await openMicrophone();
      if (stale()) return stopTracks(c.microphone);
      c.peer = newPeer(c.microphone, {
        onTrack: (stream) => { if (call === c) play(stream); },
        onConnection: (state) => { if (call === c && state === 'failed') end(c, 'lost', true); }, // ICE gave up
      });
      // For browser tests only: the current call's RTCPeerConnection, so a test can call getStats()
      // on it. The page writes it and never reads it back; it is removed when the call ends.
      window.contactdCall = c.peer;
      c.frame = { type: 'call.start', ...fields, sdp: await gatheredOffer(c.peer) };
      if (stale()) return;
      c.socket = openSocket('/ws/chat', {
        onOpen: () => { if (!c.sent) c.sent = c.socket.send(c.frame); },
        onMessage: (frame) => { if (call === c) HANDLERS[frame.type]?.(c, frame); },
        onStatus: (status) => { if (call === c && status === 'reconnecting') lost(c); },
      });
    } catch (error) {
      if (!stale()) fail(c, error instanceof MicrophoneError ? MIC_ERRORS[error.kind] : 'callFailed');
    }
  }

  const HANDLERS = {
    'call.answer': onAnswer,
    'chat.queued': onQueued,
    'chat.agent_joined': onAgentJoined,
    'chat.transferred': onTransferred,
    'chat.ended': (c, frame) => end(c, ENDED_BY[frame.by] ? frame.by : null, false),
    'chat.closed': onClosed,
    error: onError,
  };

  async function onAnswer(c, frame) {
    if (c.phase !== 'starting' || typeof frame.sdp !== 'string') return;
    c.phase = 'waiting';
    showCallView();
    try {
      await c.peer.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
    } catch {
      if (call === c && c.phase !== 'ended') end(c, 'lost', true);
    }
  }

  function onQueued(c, frame) {
    if (c.phase === 'ended') return;
    c.lastQueued = frame;
    render();
  }

  function onAgentJoined(c, frame) {
    if (c.phase === 'ended') return;
    c.phase = 'connected';
    c.agentName = frame.agent_name || null;
    c.transferred = false;
    if (!c.connectedAt) {
      c.connectedAt = Date.now();
      c.timer = setInterval(renderTimer, 1000);
    }
    render();
  }

  /** The adviser handed the call on: waiting again (the caller hears hold audio) until the next one answers. */
  function onTransferred(c) {
    if (c.phase === 'ended') return;
    c.phase = 'waiting';
    c.agentName = null;
    c.lastQueued = null;
    c.transferred = true;
    render();
  }

  /** The topic is closed (docs/protocol.md chat.closed): no call; the server's message says when it opens. */
  function onClosed(c, frame) {
    if (c.phase === 'starting') fail(c, 'queueClosed', typeof frame.message === 'string' ? frame.message : '');
    else end(c, null, false);
  }

  function onError(c, frame) {
    if (c.phase !== 'starting') return; // e.g. a hang-up that crossed the server's end of the call
    const key = ERROR_KEYS[frame.code];
    fail(c, key || 'callFailed', key ? '' : frame.message || '');
  }

  /** The socket went: the server has ended the call (or never got it). */
  function lost(c) {
    if (c.phase === 'starting') fail(c, c.sent ? 'callFailed' : 'notConnected');
    else end(c, 'lost', false);
  }

  /* ---------- actions ---------- */

  function hangUp() {
    if (call) end(call, 'citizen', true);
  }

  function toggleMute() {
    if (!call || call.phase === 'ended') return;
    call.muted = !call.muted;
    // Mute is the page's own: the track sends silence, the server is not told.
    for (const track of call.microphone?.getAudioTracks() ?? []) track.enabled = !call.muted;
    render();
  }

  function play(stream) {
    audio.srcObject = stream;
    audio.play().then(() => { byId('call-blocked').hidden = true; }, (error) => {
      // Autoplay can be refused (browser settings); a button press lets it play.
      if (error?.name === 'NotAllowedError' && call?.phase !== 'ended') byId('call-blocked').hidden = false;
    });
  }

  function playSound() {
    audio.play().then(() => {
      byId('call-blocked').hidden = true;
      focusNode(byId('hangup-button'));
    }, () => {});
  }

  function startAgain() {
    call = null;
    byId('call-section').hidden = true;
    backToStart();
  }

  /* ---------- ending ---------- */

  /** Before the call view: back to the start form with an error (keyed, or the server's own text). */
  function fail(c, key, text = '') {
    teardown(c);
    call = null;
    idle(byId('call-button'), t);
    showError(text || t(key), text ? null : key);
  }

  /** Ends the call on screen; tellServer sends call.hangup first (the citizen hung up, or the audio failed). */
  function end(c, by, tellServer) {
    if (c.phase === 'ended') return;
    if (tellServer && c.sent) c.socket?.send({ type: 'call.hangup' });
    const hadFocus = byId('call-section').contains(document.activeElement) || document.activeElement === document.body;
    teardown(c);
    c.phase = 'ended';
    c.endedBy = by;
    if (byId('call-section').hidden) showCallView();
    render();
    if (hadFocus) focusNode(byId('call-ended-message'));
  }

  /** Closes the socket and the peer, stops the microphone and the timer. */
  function teardown(c) {
    c.socket?.close();
    c.peer?.close();
    stopTracks(c.microphone);
    clearInterval(c.timer);
    audio.srcObject = null;
    byId('call-blocked').hidden = true;
    if (window.contactdCall === c.peer) delete window.contactdCall;
  }

  /* ---------- rendering ---------- */

  function showCallView() {
    byId('start-section').hidden = true;
    byId('call-section').hidden = false;
    idle(byId('call-button'), t);
    showError('');
    render();
    focusNode(byId('call-heading'));
  }

  function render() {
    if (!call) return;
    const ended = call.phase === 'ended';
    setText(byId('call-status'), ended ? '' : statusText(call));
    byId('call-controls').hidden = ended;
    byId('call-timer-line').hidden = ended || !call.connectedAt;
    renderTimer();
    const mute = byId('mute-button');
    mute.dataset.i18n = call.muted ? 'unmuteButton' : 'muteButton';
    setText(mute, t(mute.dataset.i18n));
    setText(byId('call-muted'), call.muted && !ended ? t('mutedNotice') : '');
    byId('call-ended').hidden = !ended;
    const detail = ENDED_BY[call.endedBy];
    setText(byId('call-ended-message'), ended ? [t('callEnded'), detail ? t(detail) : ''].join(' ').trim() : '');
  }

  function statusText(c) {
    if (c.phase === 'connected') return c.agentName ? t('callConnected', { name: c.agentName }) : t('callConnectedAnon');
    if (c.lastQueued) return queueStatusText(c.lastQueued, t);
    return t(c.transferred ? 'callTransferred' : 'callConnecting');
  }

  function renderTimer() {
    if (call?.connectedAt) setText(byId('call-timer'), formatDuration(Math.floor((Date.now() - call.connectedAt) / 1000), true));
  }

  return { start, relabel: render };
}
