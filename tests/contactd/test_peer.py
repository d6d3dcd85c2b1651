"""A peer's outbox: frames reach the socket in order, and a client that stops reading is closed with 1013
("try again later") instead of growing the node's memory, without holding up anyone else."""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocketState

from contactd.hub import CLOSE_TRY_AGAIN, Peer


class Socket:
    """Starlette's WebSocket as a peer uses it: a client that reads (or stops reading, ``stuck``)."""

    client = None

    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.stuck = stuck
        self.application_state = WebSocketState.CONNECTED
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        if self.stuck:
            await asyncio.Event().wait()  # the socket's buffer is full and the client reads nothing

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        self.application_state = WebSocketState.DISCONNECTED


async def test_frames_reach_the_client_in_order_with_none_lost() -> None:
    ws = Socket()
    peer = Peer(ws, outbox_size=8)  # type: ignore[arg-type]
    peer.start()
    for n in range(200):
        peer.send({"type": "n", "n": n})
        if n % 5 == 0:
            await asyncio.sleep(0)  # the writer catches up now and then, as it would
    await peer.aclose()
    assert [int(t.split('"n":')[1].rstrip("}")) for t in ws.sent] == list(range(200))
    assert ws.closed_with == (1000, "")
    await peer.stop()


async def test_a_client_that_stops_reading_is_closed_with_try_again_later() -> None:
    ws = Socket(stuck=True)
    peer = Peer(ws, outbox_size=3)  # type: ignore[arg-type]
    peer.start()
    peer.send({"type": "first"})
    await asyncio.sleep(0.01)  # the writer is stuck on the first frame
    for n in range(3):
        peer.send({"type": "queued", "n": n})
    assert not peer.closed
    peer.send({"type": "one too many"})
    for _ in range(400):
        if ws.closed_with is not None:
            break
        await asyncio.sleep(0.01)
    assert ws.closed_with == (CLOSE_TRY_AGAIN, "too slow")
    assert peer.closed
    peer.send({"type": "after"})  # a closed peer takes nothing more
    assert len(peer.outbox) <= 4
    await peer.stop()
