"""``/ws/board``: the live queue board, for supervisors and admins."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from channels.frames import Schema
from contactd.auth import staff_socket_user
from contactd.hub import accepted, serve_frames

BOARD_FRAMES: dict[str, Schema] = {"ping": {}}


async def board_socket(ws: WebSocket) -> None:
    svc = ws.app.state.services
    if await staff_socket_user(ws, svc.settings, svc.staff, ("supervisor", "admin")) is None:
        return
    async with accepted(ws, svc.metrics, "board") as peer:

        async def handle(kind: str, frame: dict[str, Any]) -> None:
            peer.send({"type": "pong"})

        svc.board.join(peer)
        try:
            await serve_frames(peer, BOARD_FRAMES, handle)
        finally:
            svc.board.leave(peer)
