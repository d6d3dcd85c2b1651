// WebRTC helpers shared by the citizen's "Call us" (chat/phone.js) and the adviser's softphone
// (console/softphone.js). contactd's peers (aiortc) take no trickled candidates: an offer is sent
// once ICE gathering is complete.

/** Stops every track of a stream (the browser's "in use" indicator goes off). */
export function stopTracks(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/** Resolves when ICE gathering is complete, or after timeoutMs (the offer then carries what was found). */
export function iceGathered(peer, timeoutMs) {
  return new Promise((resolve) => {
    if (peer.iceGatheringState === 'complete') {
      resolve();
      return;
    }
    const check = () => { if (peer.iceGatheringState === 'complete') finish(); };
    const finish = () => {
      clearTimeout(timer);
      peer.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    peer.addEventListener('icegatheringstatechange', check);
  });
}
