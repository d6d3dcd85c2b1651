"""Test helpers: real WebSocket and HTTP clients against a real contactd server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

# Every timeout in the suite is a multiple of this unit (slow machines raise CONTACTD_TEST_UNIT).
UNIT = float(os.environ.get("CONTACTD_TEST_UNIT", "1"))
PASSWORD = "Test-pass-2026!"

Frame = dict[str, Any]


def typed(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    """A predicate: a frame of ``kind`` whose fields equal ``fields``."""
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


class Client:
    """A WebSocket client that keeps every frame it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Frame] = []
        self._pos = 0

    @classmethod
    async def connect(cls, url: str, cookie: str | None = None, origin: str | None = None) -> Client:
        headers = {"Cookie": cookie} if cookie else {}
        ws = await websockets.connect(
            url,
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            open_timeout=5 * UNIT,
            max_size=2**22,
        )
        return cls(ws)

    async def send(self, frame: Frame | str | bytes) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def expect(self, pred: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """The first unread frame matching ``pred``; fails the test after ``timeout`` units."""
        found = await self.maybe(pred, timeout)
        assert found is not None, f"no matching frame within {timeout * UNIT:.1f}s; seen: {self.seen[-5:]}"
        return found

    async def maybe(self, pred: Callable[[Frame], bool], timeout: float = 1.0) -> Frame | None:
        """Like expect, but None when nothing matches in time."""
        deadline = time.monotonic() + timeout * UNIT
        while True:
            while self._pos < len(self.seen):
                frame = self.seen[self._pos]
                self._pos += 1
                if pred(frame):
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except (TimeoutError, websockets.ConnectionClosed):
                return None
            self.seen.append(json.loads(raw))

    async def take(self, conversation_id: str) -> Frame:
        """As an agent: wait for the offer of ``conversation_id``, accept it, and return ``conversation.assigned``."""
        await self.expect(typed("offer", conversation_id=conversation_id))
        await self.send({"type": "offer.accept", "conversation_id": conversation_id})
        return await self.expect(typed("conversation.assigned", conversation_id=conversation_id))

    def rewind(self) -> None:
        """Look at every frame again from the first."""
        self._pos = 0

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()


async def login(base: str, username: str, password: str = PASSWORD) -> str:
    """Sign in; returns the Cookie header value."""
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/api/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return "; ".join(h.split(";", 1)[0] for h in r.headers.get_list("set-cookie"))
