// The WebRTC side of monitoring a call: listen (receive only, no microphone), whisper (the adviser
// hears you) or barge in (both hear you). As with the softphone (console/softphone.js), the offer is
// sent once ICE gathering is complete, no trickle (W3C WebRTC 1.0 §4.4.1.6), and a new offer replaces
// the server's peer. Switching between modes that use the same peer is `monitor.mode`; a listen-only
// peer has no microphone track, so whisper or barge from it needs a new peer and offer.
import { iceGathered, stopTracks } from '/static/rtc.js';

const GATHER_TIMEOUT_MS = 3000;

/**
 * opts: id (conversation_id); send(frame) → false when the board is not connected; audio (<audio>);
 * iceServers; onEvent(name, detail): 'microphone', 'failed', 'not-sent', 'offer-sent', 'answered',
 * 'mode' (mode), 'connection' (state), 'audio-blocked'.
 * Returns { setMode(mode), answer(sdp), close(), mode() }.
 */
export function createVoiceMonitor({ id, send, audio, iceServers = [], onEvent }) {
  let pc = null;
  let stream = null;
  let current = null;
  let attempt = 0;

  async function setMode(mode) {
    if (pc && (stream || mode === 'listen')) {
      // Same peer: the microphone is only live while whispering or barging.
      if (!send({ type: 'monitor.mode', conversation_id: id, mode })) return onEvent('not-sent');
      for (const track of stream?.getAudioTracks() ?? []) track.enabled = mode !== 'listen';
      current = mode;
      return onEvent('mode', mode);
    }
    return connect(mode);
  }

  async function connect(mode) {
    close();
    const mine = attempt;
    try {
      const media = mode === 'listen' ? null : await openMicrophone();
      if (mine !== attempt) return stopTracks(media);
      stream = media;
      const peer = new RTCPeerConnection({ iceServers });
      pc = peer;
      if (media) for (const track of media.getAudioTracks()) peer.addTrack(track, media);
      else peer.addTransceiver('audio', { direction: 'recvonly' });
      peer.addEventListener('track', (event) => { if (peer === pc) play(event); });
      peer.addEventListener('connectionstatechange', () => { if (peer === pc) onEvent('connection', peer.connectionState); });
      await peer.setLocalDescription(await peer.createOffer());
      await iceGathered(peer, GATHER_TIMEOUT_MS);
      if (mine !== attempt) return undefined;
      const sdp = peer.localDescription?.sdp;
      if (!sdp || !send({ type: 'monitor.rtc.offer', conversation_id: id, mode, sdp })) {
        close();
        return onEvent('not-sent');
      }
      current = mode;
      return onEvent('offer-sent', mode);
    } catch (error) {
      if (mine !== attempt) return undefined;
      close();
      return onEvent(error instanceof MicrophoneError ? 'microphone' : 'failed', error);
    }
  }

  async function answer(sdp) {
    if (!pc || pc.signalingState !== 'have-local-offer' || typeof sdp !== 'string') return;
    const peer = pc;
    try {
      await peer.setRemoteDescription({ type: 'answer', sdp });
      if (peer === pc) onEvent('answered', current);
    } catch (error) {
      if (peer !== pc) return;
      close();
      onEvent('failed', error);
    }
  }

  function play(event) {
    audio.srcObject = event.streams[0] || new MediaStream([event.track]);
    audio.play().catch((error) => { if (error.name === 'NotAllowedError') onEvent('audio-blocked'); });
  }

  function close() {
    attempt += 1;
    current = null;
    if (pc) pc.close();
    pc = null;
    stopTracks(stream);
    stream = null;
    audio.srcObject = null;
  }

  return { setMode, answer, close, mode: () => current };
}

class MicrophoneError extends Error {}

async function openMicrophone() {
  if (!navigator.mediaDevices?.getUserMedia) throw new MicrophoneError('navigator.mediaDevices is not available');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  } catch (error) {
    throw new MicrophoneError(error?.name || String(error));
  }
}
