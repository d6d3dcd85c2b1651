"""The hub: WebSocket peers on this node, and delivery between nodes through Redis pub/sub.

Every frame for an agent or a citizen is published on their channel; each
node subscribes to the channels of the peers connected to it and hands frames
to them. A peer has a bounded outbox: a client too slow to read is closed
rather than allowed to grow the node's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from channels.frames import FrameError, Schema, parse_frame
from contactd.errors import ContactdError
from contactd.metrics import Metrics
from contactd.web.errors import code_of

log = logging.getLogger("contactd.hub")

Frame = dict[str, Any]
Handler = Callable[[Frame], None]
FrameHandler = Callable[[str, dict[str, Any]], Awaitable[None]]

CLOSE_POLICY = 1008  # RFC 6455 7.4.1: a message that violates policy (flooding)
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013


def encode(frame: Frame) -> str:
    """A frame as compact JSON text."""
    return json.dumps(frame, separators=(",", ":"))


class RateLimit:
    """A token bucket: ``rate`` frames a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.at = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Peer:
    """One WebSocket client on this node, with an outbox drained by its own writer task.

    The outbox is a deque and the writer waits on a future of its own rather than an ``asyncio.Queue``: a
    board frame goes to hundreds of peers at once, and the queue's get and put were about 8 % of the node's
    samples with 500 boards (docs/performance.md, "Queue board")."""

    def __init__(self, ws: WebSocket, outbox_size: int = 512, on_bad: Callable[[str], None] | None = None) -> None:
        self.ws = ws
        self.on_bad = on_bad or (lambda code: None)
        self.outbox: deque[Frame | str | None] = deque()
        self.outbox_size = outbox_size
        self._ready: asyncio.Future[None] | None = None
        """Set while the writer waits for the outbox to fill."""
        self.limit = RateLimit(rate=20, burst=60)
        self._writer: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def address(self) -> str:
        """The client's IP address (as the proxy in front says, when it is trusted), or '' if unknown."""
        client = self.ws.client
        return client.host if client else ""

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write())

    def send(self, frame: Frame | str) -> None:
        """Queue a frame (or its JSON text, encoded once for many peers); a peer whose outbox is full is too
        slow and is closed."""
        if self.closed:
            return
        if len(self.outbox) >= self.outbox_size:
            log.warning("closing a peer that does not read its frames")
            self.close(CLOSE_TRY_AGAIN, "too slow")
            return
        self._put(frame)

    def _put(self, item: Frame | str | None) -> None:
        self.outbox.append(item)
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def error(self, code: str, message: str, frame_id: Any = None) -> None:
        frame: Frame = {"type": "error", "code": code, "message": message}
        if frame_id is not None:
            frame["id"] = frame_id
        self.send(frame)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close soon (from sync code, e.g. a pub/sub handler); frames already queued go first."""
        if not self.closed and self._closing is None:
            self._closing = asyncio.create_task(self.aclose(code, reason))

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued (for at most 2 s), then a close frame with ``code`` and ``reason``."""
        if self.closed:
            return
        self.closed = True
        self._put(None)  # the writer's last item, even past the outbox's limit
        if self._writer is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._writer), 2)
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self.outbox:
                    self._ready = loop.create_future()
                    await self._ready
                if (frame := self.outbox.popleft()) is None:
                    return
                await self.ws.send_text(frame if isinstance(frame, str) else encode(frame))
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True

    async def stop(self) -> None:
        """Stop the writer (after the socket has gone, or been closed)."""
        if self._closing is not None:
            with contextlib.suppress(Exception):
                await self._closing
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.wait([self._writer])


class Hub:
    """Pub/sub between nodes: publish anywhere, deliver to the handlers subscribed on this node."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.handlers: dict[str, set[Handler]] = defaultdict(set)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribe(self, channel: str, handler: Handler) -> None:
        async with self._lock:
            first = not self.handlers[channel]
            self.handlers[channel].add(handler)
            if first:
                await self.pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        async with self._lock:
            handlers = self.handlers.get(channel)
            if handlers is None:
                return
            handlers.discard(handler)
            if not handlers:
                del self.handlers[channel]
                with contextlib.suppress(RedisError, OSError):
                    await self.pubsub.unsubscribe(channel)

    async def publish(self, channel: str, frame: Frame) -> None:
        await self.redis.publish(channel, json.dumps(frame, separators=(",", ":")))

    async def _read(self) -> None:
        while True:
            if not self.pubsub.subscribed:
                await asyncio.sleep(0.05)
                continue
            try:
                msg = await self.pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as e:
                log.warning("pub/sub connection lost (%s); reconnecting", e)
                await asyncio.sleep(0.5)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
            try:
                frame = json.loads(msg["data"])
            except ValueError:
                continue
            for handler in list(self.handlers.get(channel, ())):
                try:
                    handler(frame)
                except Exception:
                    log.exception("handler for %s failed", channel)


async def receive(ws: WebSocket) -> str | bytes | None:
    """The next frame's payload, or None once the client has gone."""
    try:
        msg = await ws.receive()
    except (WebSocketDisconnect, RuntimeError):
        return None
    if msg["type"] == "websocket.disconnect":
        return None
    text: str | None = msg.get("text")
    return text if text is not None else msg.get("bytes") or b""


@contextlib.asynccontextmanager
async def accepted(ws: WebSocket, metrics: Metrics, endpoint: str) -> AsyncIterator[Peer]:
    """Accept the upgrade and own its peer: counted while open, its writer stopped after."""
    await ws.accept()
    peer = Peer(ws, on_bad=lambda code: metrics.bad_frames.labels(endpoint, code).inc())
    peer.start()
    metrics.connections.labels(endpoint).inc()
    try:
        yield peer
    finally:
        metrics.connections.labels(endpoint).dec()
        await peer.stop()


async def serve_frames(peer: Peer, schemas: Mapping[str, Schema], handle: FrameHandler) -> None:
    """Read frames until the client goes: check each, hand it to ``handle``, answer errors with error frames.

    Only abuse closes the socket: flooding (1008); oversize frames are closed
    by the server itself (1009) before they reach here.
    """
    while (raw := await receive(peer.ws)) is not None:
        if not peer.limit.allow():
            await peer.aclose(CLOSE_POLICY, "too many frames")
            return
        try:
            kind, frame = parse_frame(raw, schemas)
            await handle(kind, frame)
        except FrameError as e:
            peer.on_bad(e.code)
            peer.error(e.code, e.message, e.frame_id)
        except ContactdError as e:
            code = code_of(e)
            peer.on_bad(code)
            peer.error(code, str(e))
        except (RedisError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            # Redis or PostgreSQL failed under us: the client may retry (a re-sent id is
            # stored once); the socket and every other client carry on.
            log.warning("frame not handled, a server is unavailable: %s", e)
            peer.on_bad("unavailable")
            peer.error("unavailable", "The service is briefly unavailable; please try again.", _frame_id(raw))


def _frame_id(raw: str | bytes) -> Any:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame.get("id") if isinstance(frame, dict) else None
