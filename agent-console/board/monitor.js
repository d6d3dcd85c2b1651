// Monitoring a contact an adviser holds, over the board socket: `monitor.start` → `monitor.started`
// (the transcript so far), then `monitor.message` for each new message and `monitor.ended`;
// `monitor.stop` stops it. The transcript is read only, in a role="log" region that reads new
// messages out politely. A call adds Listen / Whisper / Barge in (voice-monitor.js).

import { byId, el, setText, parseTime, formatHMS, focusNode } from '/static/dom.js';
import { showProblem, clearProblem } from './notices.js';
import { channelName, channelNoun } from './words.js';
import { createVoiceMonitor } from './voice-monitor.js';

const MODES = { listen: 'listening', whisper: 'whispering to the adviser', barge: 'talking to the caller and the adviser' };

/**
 * send(frame): on the board socket (false when not connected); label(name): a queue's name; announce(text).
 * Returns { start({ id, channel, queue, agentName }), handle(frame) → true when it was the monitor's,
 * reconnected(), active() }.
 */
export function setupMonitor({ send, label, announce }) {
  let current = null; // { id, channel, queue, agentName, phase: 'starting' | 'live' | 'ended', seen: Set }
  let voice = null;

  byId('monitor-stop').addEventListener('click', stop);
  for (const button of byId('monitor-voice').querySelectorAll('button[data-mode]')) {
    button.addEventListener('click', () => voice?.setMode(button.dataset.mode));
  }

  function start(conv) {
    if (current && current.phase !== 'ended') send({ type: 'monitor.stop', conversation_id: current.id });
    closeVoice();
    current = { ...conv, phase: 'starting', seen: new Set() };
    clearProblem(byId('monitor-error'));
    byId('monitor-log').replaceChildren();
    byId('monitor-log').hidden = true;
    byId('monitor-voice').hidden = true;
    setText(byId('monitor-stop'), 'Stop monitoring');
    describe();
    byId('monitor').hidden = false;
    focusNode(byId('monitor-heading'));
    if (send({ type: 'monitor.start', conversation_id: conv.id })) setText(byId('monitor-state'), 'Connecting…');
    else problem('The board is not connected to the service. Try again when the connection is back.');
  }

  function describe() {
    const what = channelName(current.channel);
    setText(byId('monitor-heading'), `Monitoring: ${what.toLowerCase()} with ${current.agentName || 'an adviser'}`);
    const queue = current.queue ? ` in ${label(current.queue)}` : '';
    const readOnly = current.channel === 'voice' ? '' : ' You can read it as it happens but cannot write in it.';
    setText(byId('monitor-about'), `${what}${queue}, held by ${current.agentName || 'an adviser'}.${readOnly}`);
  }

  function problem(message) {
    showProblem(byId('monitor-error'), message);
    setText(byId('monitor-state'), '');
  }

  function handle(frame) {
    if (frame.type === 'error') {
      if (!current || current.phase === 'ended') return false;
      problem(frame.message || `Monitoring did not work (${frame.code || 'error'}).`);
      return true;
    }
    if (!frame.type.startsWith('monitor.') || !current || frame.conversation_id !== current.id) {
      return frame.type.startsWith('monitor.');
    }
    if (frame.type === 'monitor.started') started(frame);
    else if (frame.type === 'monitor.message' && frame.message) append(frame.message);
    else if (frame.type === 'monitor.ended') ended();
    else if (frame.type === 'monitor.transferred') transferred(frame.queue);
    else if (frame.type === 'monitor.rtc.answer') voice?.answer(frame.sdp);
    else if (frame.type === 'monitor.mode' && voice) voiceEvent('mode', frame.mode);
    return true;
  }

  function started(frame) {
    current.phase = 'live';
    for (const key of ['channel', 'queue']) if (frame[key]) current[key] = frame[key];
    describe();
    const log = byId('monitor-log');
    // Filled while hidden, so the transcript so far is not read out; only new messages are.
    log.hidden = true;
    for (const message of Array.isArray(frame.messages) ? frame.messages : []) append(message);
    if (!log.childElementCount) log.append(el('p', { class: 'hint', 'data-empty': 'true', text: 'No messages yet.' }));
    log.hidden = false;
    clearProblem(byId('monitor-error'));
    if (current.channel === 'voice') showVoice(frame);
    setText(byId('monitor-state'), current.channel === 'voice'
      ? 'Monitoring. Choose Listen to hear the call.'
      : `Monitoring. New messages are read out as they arrive.`);
  }

  function append(message) {
    // Messages are as the citizen's chat has them ("from"); ids are the sender's own, so unique per sender.
    const from = message?.from ?? message?.sender ?? 'system';
    const key = `${from}:${message?.id}`;
    if (!message || current.seen.has(key)) return;
    if (message.id !== undefined) current.seen.add(key);
    const log = byId('monitor-log');
    log.querySelector('[data-empty]')?.remove();
    const sender = from === 'agent' ? `Adviser (${current.agentName || 'adviser'})` : from === 'citizen' ? 'Citizen' : 'System';
    const at = parseTime(message.at);
    log.append(el('div', { class: 'monitor-message', 'data-sender': from, 'data-message-id': message.id ?? '' }, [
      el('p', { class: 'monitor-message__who' }, [
        el('strong', { text: sender }),
        at ? [' ', el('time', { datetime: at.toISOString(), text: formatHMS(at) })] : null,
      ].flat()),
      message.subject ? el('p', { class: 'monitor-message__subject', text: `Subject: ${message.subject}` }) : null,
      el('p', { class: 'monitor-message__text', text: String(message.text ?? '') }),
    ]));
    if (!log.hidden && log.scrollHeight > log.clientHeight) log.scrollTop = log.scrollHeight;
  }

  function transferred(queue) {
    if (queue) current.queue = queue;
    describe();
    const where = queue ? label(queue) : 'another queue';
    setText(byId('monitor-state'), `The ${channelNoun(current.channel)} was transferred to ${where}.`);
  }

  function ended() {
    current.phase = 'ended';
    closeVoice();
    byId('monitor-voice').hidden = true;
    setText(byId('monitor-state'), `The ${channelNoun(current.channel)} has ended.`);
    setText(byId('monitor-stop'), 'Close');
  }

  function showVoice(frame) {
    closeVoice();
    const ice = Array.isArray(frame.ice_servers) ? frame.ice_servers.filter((s) => s && s.urls) : [];
    voice = createVoiceMonitor({
      id: current.id, send, audio: byId('monitor-audio'), iceServers: ice, onEvent: voiceEvent,
    });
    pressed(null);
    byId('monitor-voice').hidden = false;
  }

  function voiceEvent(name, detail) {
    if (name === 'mode' || name === 'answered') {
      pressed(detail);
      setText(byId('monitor-state'), `You are ${MODES[detail] || 'connected'}.`);
    } else if (name === 'offer-sent') setText(byId('monitor-state'), 'Connecting the call audio…');
    else if (name === 'microphone') problem('Your microphone could not be used. Allow the board to use it, or choose Listen.');
    else if (name === 'not-sent') problem('The board is not connected to the service. Try again when the connection is back.');
    else if (name === 'failed') problem('The call audio could not be connected. Try again.');
    else if (name === 'audio-blocked') problem('The browser stopped the call audio from playing. Choose Listen again to hear it.');
    else if (name === 'connection' && detail === 'failed') problem('The call audio was lost. Choose a mode again to reconnect.');
  }

  function pressed(mode) {
    for (const button of byId('monitor-voice').querySelectorAll('button[data-mode]')) {
      button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
    }
  }

  function closeVoice() {
    voice?.close();
    voice = null;
  }

  function stop() {
    const was = current;
    if (was && was.phase !== 'ended') send({ type: 'monitor.stop', conversation_id: was.id });
    closeVoice();
    current = null;
    byId('monitor').hidden = true;
    if (was && was.phase !== 'ended') announce('Monitoring stopped.');
    const button = was && document.querySelector(`button[data-action="monitor"][data-conversation-id="${CSS.escape(was.id)}"]`);
    focusNode(button || byId('agents-caption'));
  }

  /** After the board socket reconnects: ask again (messages already shown are not repeated). */
  function reconnected() {
    if (!current || current.phase === 'ended') return;
    closeVoice();
    current.phase = 'starting';
    send({ type: 'monitor.start', conversation_id: current.id });
  }

  return { start, handle, reconnected, active: () => Boolean(current && current.phase !== 'ended') };
}
