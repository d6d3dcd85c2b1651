"""``/ws/board``: the live queue board, for supervisors and admins."""

from __future__ import annotations

from starlette.websockets import WebSocket

from channels.frames import Schema
from contactd.auth import current_user, origin_allowed
from contactd.hub import Peer, serve_frames
from contactd.web.agent_ws import CLOSE_FORBIDDEN, CLOSE_UNAUTHORISED

BOARD_FRAMES: dict[str, Schema] = {"ping": {}}


async def board_socket(ws: WebSocket) -> None:
    svc = ws.app.state.services
    if not origin_allowed(ws, svc.settings):
        await ws.close(CLOSE_FORBIDDEN, "origin not allowed")
        return
    user = await current_user(ws, svc.staff)
    if user is None:
        await ws.close(CLOSE_UNAUTHORISED, "sign in first")
        return
    if user.role not in ("supervisor", "admin"):
        await ws.close(CLOSE_FORBIDDEN, "supervisors only")
        return
    await ws.accept()
    peer = Peer(ws)
    peer.start()
    svc.board.join(peer)
    svc.metrics.connections.labels("board").inc()

    async def handle(kind: str, frame: dict[str, object]) -> None:
        peer.send({"type": "pong"})

    try:
        await serve_frames(peer, BOARD_FRAMES, handle, lambda code: svc.metrics.bad_frames.labels("board", code).inc())
    finally:
        svc.metrics.connections.labels("board").dec()
        svc.board.leave(peer)
        await peer.stop()
