// The WebRTC side of one call: the microphone, one RTCPeerConnection, the SDP offer and answer.
// No DOM here except the call's <audio> element: calls.js drives it and shows what happens.
//
// docs/protocol.md "Voice calls": the console sends an SDP offer with one audio track (send and
// receive) once ICE gathering is complete (no trickle ICE, W3C WebRTC 1.0 §4.4.1.6), and the node
// holding the citizen's leg answers with its own candidates. Sending the offer again renegotiates:
// the server replaces the old peer, so every (re)connect starts from a new RTCPeerConnection.
import { iceGathered, stopTracks } from '/static/rtc.js';

/** How long to wait for ICE gathering before sending the candidates found so far (a slow TURN server). */
const GATHER_TIMEOUT_MS = 3000;

/**
 * For browser tests only: conversation_id → the call's current RTCPeerConnection, so a test can
 * call getStats() on it (e.g. `window.contactdCalls.get(id).getStats()`). The console writes it
 * (set when a peer is created, deleted when it is closed) and never reads it back, so nothing a
 * page script puts there changes what the console does.
 */
const exposed = (window.contactdCalls ??= new Map());

/** getUserMedia failed: refused, no microphone, or not a secure context (no navigator.mediaDevices). */
export class MicrophoneError extends Error {}

/**
 * One call's media. opts:
 *   id            the conversation_id (for the rtc.offer frame)
 *   send(frame)   sends a frame on the console's socket; false when not connected
 *   audio         the <audio autoplay> element that plays the citizen
 *   onEvent(name, detail)  'microphone' (MicrophoneError), 'failed' (Error), 'not-sent',
 *                 'offer-sent', 'answered', 'connection' (RTCPeerConnectionState), 'audio-blocked'
 * Returns { connect(iceServers), answer(sdp), setMuted(bool), close(), awaitingAnswer() }.
 */
export function createSoftphone({ id, send, audio, onEvent }) {
  let pc = null;
  let stream = null;
  let attempt = 0;
  let muted = false;
  let awaiting = false;

  /** Opens the microphone and a new peer, and sends the offer. Replaces any peer there was. */
  async function connect(iceServers) {
    close();
    const mine = attempt;
    const current = () => mine === attempt;
    try {
      const media = await openMicrophone();
      if (!current()) {
        stopTracks(media);
        return;
      }
      stream = media;
      applyMute();
      const peer = newPeer(iceServers, media);
      pc = peer;
      await peer.setLocalDescription(await peer.createOffer());
      await iceGathered(peer, GATHER_TIMEOUT_MS);
      if (current()) sendOffer();
    } catch (error) {
      // A stale attempt fails when close() closes its peer under it: nothing to report.
      if (!current()) return;
      close();
      onEvent(error instanceof MicrophoneError ? 'microphone' : 'failed', error);
    }
  }

  function newPeer(iceServers, media) {
    const peer = new RTCPeerConnection({ iceServers });
    // addTrack makes a sendrecv transceiver: we send the microphone and receive the citizen.
    for (const track of media.getAudioTracks()) peer.addTrack(track, media);
    peer.addEventListener('track', (event) => { if (peer === pc) playRemote(event); });
    peer.addEventListener('connectionstatechange', () => {
      if (peer === pc) onEvent('connection', peer.connectionState);
    });
    exposed.set(id, peer);
    return peer;
  }

  function sendOffer() {
    const sdp = pc.localDescription?.sdp;
    if (!sdp || !send({ type: 'rtc.offer', conversation_id: id, sdp })) {
      close();
      onEvent('not-sent');
      return;
    }
    awaiting = true;
    onEvent('offer-sent');
  }

  /** The rtc.answer for our offer. An answer with no offer outstanding (a stale one) is ignored. */
  async function answer(sdp) {
    if (!pc || pc.signalingState !== 'have-local-offer' || typeof sdp !== 'string') return;
    const peer = pc;
    awaiting = false;
    try {
      await peer.setRemoteDescription({ type: 'answer', sdp });
      if (peer === pc) onEvent('answered');
    } catch (error) {
      if (peer !== pc) return;
      close();
      onEvent('failed', error);
    }
  }

  function playRemote(event) {
    audio.srcObject = event.streams[0] || new MediaStream([event.track]);
    // Autoplay may be refused on a page the adviser has not touched since a reload.
    audio.play().catch((error) => { if (error.name === 'NotAllowedError') onEvent('audio-blocked'); });
  }

  /** Mute is the console's own: the microphone track is disabled (it sends silence), kept over reconnects. */
  function setMuted(value) {
    muted = Boolean(value);
    applyMute();
  }

  function applyMute() {
    for (const track of stream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  /** Closes the peer and stops the microphone; an attempt still in progress is abandoned. */
  function close() {
    attempt += 1;
    awaiting = false;
    if (pc) {
      pc.close();
      if (exposed.get(id) === pc) exposed.delete(id);
      pc = null;
    }
    stopTracks(stream);
    stream = null;
    audio.srcObject = null;
  }

  return { connect, answer, setMuted, close, awaitingAnswer: () => awaiting };
}

async function openMicrophone() {
  // navigator.mediaDevices only exists in a secure context (https or localhost).
  if (!navigator.mediaDevices?.getUserMedia) throw new MicrophoneError('navigator.mediaDevices is not available');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    throw new MicrophoneError(error?.name || String(error));
  }
}
