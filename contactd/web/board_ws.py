"""``/ws/board``: the live queue board, for supervisors and admins."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from channels.frames import Field, FrameError, Schema
from contactd.auth import staff_socket_user
from contactd.console_protocol import CONVERSATION as CONVERSATION_ID
from contactd.console_protocol import SDP
from contactd.hub import accepted, serve_frames
from contactd.monitor import MODES, Monitors

CONVERSATION: Schema = {"conversation_id": CONVERSATION_ID}
MODE = Field(str, choices=MODES)
BOARD_FRAMES: dict[str, Schema] = {
    "ping": {},
    "board.watch": {},
    "monitor.start": CONVERSATION,
    "monitor.stop": CONVERSATION,
    "monitor.rtc.offer": {**CONVERSATION, "mode": MODE, "sdp": SDP},
    "monitor.mode": {**CONVERSATION, "mode": MODE},
}


async def board_socket(ws: WebSocket) -> None:
    svc = ws.app.state.services
    user = await staff_socket_user(ws, svc.settings, svc.staff, ("supervisor", "admin"))
    if user is None:
        return
    async with accepted(ws, svc.metrics, "board") as peer:
        monitors = Monitors(svc, peer, user)

        async def handle(kind: str, frame: dict[str, Any]) -> None:
            if kind == "board.watch":
                svc.board.watch(peer, _queues(frame.get("queues"), svc.queue_names))
            elif kind.startswith("monitor."):
                await monitors.handle(kind, frame)
            else:
                peer.send({"type": "pong"})

        svc.board.join(peer)
        try:
            await serve_frames(peer, BOARD_FRAMES, handle)
        finally:
            svc.board.leave(peer)
            await monitors.close()


def _queues(value: Any, known: list[str]) -> list[str] | None:
    """``queues`` of a ``board.watch``: null (every queue) or a list of queue names."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value) or len(value) > 200:
        raise FrameError("bad_value", "queues must be null (every queue) or a list of queue names.")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise FrameError("bad_value", f"No such queue: {unknown[0]}.")
    return value
