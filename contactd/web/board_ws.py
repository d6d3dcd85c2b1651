"""``/ws/board``: the live queue board, for supervisors and admins."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from channels.frames import FrameError, Schema
from contactd.auth import staff_socket_user
from contactd.hub import accepted, serve_frames

BOARD_FRAMES: dict[str, Schema] = {"ping": {}, "board.watch": {}}


async def board_socket(ws: WebSocket) -> None:
    svc = ws.app.state.services
    if await staff_socket_user(ws, svc.settings, svc.staff, ("supervisor", "admin")) is None:
        return
    async with accepted(ws, svc.metrics, "board") as peer:

        async def handle(kind: str, frame: dict[str, Any]) -> None:
            if kind == "board.watch":
                svc.board.watch(peer, _queues(frame.get("queues"), svc.queue_names))
            else:
                peer.send({"type": "pong"})

        svc.board.join(peer)
        try:
            await serve_frames(peer, BOARD_FRAMES, handle)
        finally:
            svc.board.leave(peer)


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
