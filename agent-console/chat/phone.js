// The WebRTC side of a "Call us" call: the microphone, one RTCPeerConnection and its SDP offer.
// No DOM and no socket here: call.js drives it and shows what happens.
//
// docs/protocol.md, /ws/chat: call.start carries the browser's offer with one audio track (send and
// receive), sent once ICE gathering is complete (no trickle ICE, W3C WebRTC 1.0 §4.4.1.6); the node
// answers with its own candidates in call.answer. Host candidates are enough for now, so the peer
// has no ICE servers.
import { iceGathered, stopTracks } from '/static/rtc.js';

/** How long to wait for ICE gathering before offering the candidates found so far. */
const GATHER_TIMEOUT_MS = 3000;

/**
 * getUserMedia failed. kind: 'refused' (the citizen or the browser said no), 'missing' (no
 * microphone), 'unsupported' (no WebRTC, or not a secure context), 'failed' (anything else, e.g. the
 * microphone is in use by another app).
 */
export class MicrophoneError extends Error {
  constructor(kind, detail) {
    super(`${kind}: ${detail}`);
    this.kind = kind;
  }
}

const KINDS = {
  NotAllowedError: 'refused',
  SecurityError: 'refused',
  NotFoundError: 'missing',
  OverconstrainedError: 'missing',
};

/** Can this browser make a call from this page at all? (navigator.mediaDevices needs https or localhost.) */
export function canCall() {
  return typeof RTCPeerConnection === 'function' && Boolean(navigator.mediaDevices?.getUserMedia);
}

/** The microphone as a MediaStream; throws MicrophoneError. Asks for permission if the browser must. */
export async function openMicrophone() {
  if (!canCall()) throw new MicrophoneError('unsupported', 'no RTCPeerConnection or navigator.mediaDevices');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    throw new MicrophoneError(KINDS[error?.name] || 'failed', error?.name || String(error));
  }
}

/**
 * A new peer sending the microphone and receiving the call. handlers: onTrack(MediaStream),
 * onConnection(RTCPeerConnectionState).
 */
export function newPeer(microphone, { onTrack, onConnection }) {
  const peer = new RTCPeerConnection({ iceServers: [] });
  // addTrack makes a sendrecv transceiver: we send the microphone and hear the adviser (or hold audio).
  for (const track of microphone.getAudioTracks()) peer.addTrack(track, microphone);
  peer.addEventListener('track', (event) => onTrack(event.streams[0] || new MediaStream([event.track])));
  peer.addEventListener('connectionstatechange', () => onConnection(peer.connectionState));
  return peer;
}

/** Creates the offer and waits for its candidates; the SDP to send in call.start. */
export async function gatheredOffer(peer) {
  await peer.setLocalDescription(await peer.createOffer());
  await iceGathered(peer, GATHER_TIMEOUT_MS);
  return peer.localDescription.sdp;
}

export { stopTracks };
