"""The live queue board: snapshots from Redis (now) and PostgreSQL (today), pushed to supervisors."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contactd.hub import Peer, encode
from contactd.reports import NONE, Reports
from contactd.staff import Staff
from contactd.store import Store
from router.model import CHANNELS, Agent
from router.store import RouterStore

LOCAL_TZ = ZoneInfo("Europe/London")
SLOW_EVERY_S = 0.5
"""The day's figures, wait estimates and advisers' rows are read again at most this often (within the
board's one second)."""
Slow = tuple[
    dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]], dict[str, int | None], list[dict[str, Any]]
]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def shown_status(agent: Agent) -> str:
    """The status a supervisor sees: an available agent with no slot free for chat, or on a call, is busy."""
    if agent.status == "available" and (agent.free("chat") == 0 or (agent.voice_exclusive and agent.load.get("voice"))):
        return "busy"
    return agent.status


@dataclass
class Viewer:
    """One board socket: sent full snapshots (the contract's default), or, once it asked to watch, only
    the rows that changed, of the queues it chose."""

    peer: Peer
    watching: bool = False
    queues: frozenset[str] | None = None
    """The queues it watches (None: all)."""


class Board:
    """Board sockets on this node and what they are sent: one snapshot a tick for the whole node, each
    frame encoded once for every viewer who gets the same bytes."""

    def __init__(self, store: Store, staff: Staff, router_store: RouterStore) -> None:
        self.store = store
        self.reports = Reports(store.pool, store.tenant)
        self.staff = staff
        self.router_store = router_store
        self.viewers: dict[Peer, Viewer] = {}
        self.dirty = True
        self.last: dict[str, Any] | None = None
        self.last_sent = 0.0
        self._agent_list: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self.stale: set[str] = set()
        """Queues whose waiting contacts changed since the last tick."""
        self.waiting: dict[str, tuple[int, int | None, dict[int, int], dict[str, int]]] = {}
        """Each queue's waiting contacts as last read: (count, oldest arrival ms, by step, by channel)."""
        self.all_read_at = 0.0
        self.changed_at = 0.0
        self.slow: Slow | None = None
        self.slow_at = 0.0
        self.estimate: Callable[[str, int, list[Agent]], Awaitable[int | None]] = _no_estimate
        """The estimated wait (seconds) at a position in a queue, given the agents serving it (set by the app)."""

    def join(self, peer: Peer) -> None:
        self.viewers[peer] = Viewer(peer)
        if self.last is not None:
            peer.send({**self.last, "at": _iso(time.time())})
        self.dirty = True

    def watch(self, peer: Peer, queues: list[str] | None) -> None:
        """From now on send ``peer`` only what changed, in ``queues`` (None: all), after one full snapshot."""
        viewer = self.viewers.get(peer)
        if viewer is None:
            return
        viewer.watching, viewer.queues = True, None if queues is None else frozenset(queues)
        if self.last is not None:
            peer.send({**_only(self.last, viewer.queues), "at": _iso(time.time())})
        self.dirty = True

    def leave(self, peer: Peer) -> None:
        self.viewers.pop(peer, None)

    async def tick(self) -> None:
        """Send what changed (and a snapshot each second while anyone waits to the viewers that want them)."""
        now = time.time()
        if not self.viewers or not (self.dirty or now - self.last_sent >= 1.0):
            return
        self.dirty = False
        snap = await self.snapshot(now)
        if self.changed_at >= self.slow_at:
            self.dirty = True  # the day's figures and advisers' rows are still to catch up with a change
        before, at = self.last, _iso(now)
        if snap == before and now - self.last_sent < 1.0:
            return
        self.last, self.last_sent = snap, now
        full = encode({**snap, "at": at})
        frames: dict[frozenset[str] | None, str | None] = {}
        for viewer in list(self.viewers.values()):
            if not viewer.watching:
                viewer.peer.send(full)
                continue
            if viewer.queues not in frames:
                frames[viewer.queues] = _changes(before, snap, viewer.queues, at)
            frame = frames[viewer.queues]
            if frame is not None:
                viewer.peer.send(frame)

    def changed(self, queue: str) -> None:
        """Routing changed in ``queue`` ('' for advisers only): its row is read again at the next tick."""
        self.dirty = True
        self.changed_at = time.time()
        if queue:
            self.stale.add(queue)

    async def snapshot(self, now: float) -> dict[str, Any]:
        """The board now. What changes with every routing event (each queue's waiting contacts, from Redis)
        is read for the queues that changed, and for all of them each second; the day's figures, the wait
        estimates and the advisers' rows at most every ``SLOW_EVERY_S``: a busy centre's events cost the
        board what changed, not the whole board each time."""
        if self.slow is None or now - self.slow_at >= SLOW_EVERY_S:
            self.slow, self.slow_at = await self._slow(now), now
        figures, by_channel, estimates, agents = self.slow
        if now - self.all_read_at >= 1.0:
            self.stale.update(figures)
            self.all_read_at = now
        stale, self.stale = self.stale, set()
        for name in figures:
            if name in stale or name not in self.waiting:
                waiting, oldest_ms, steps = await self.router_store.queue_steps(name)
                self.waiting[name] = (waiting, oldest_ms, steps, await self.router_store.waiting_by_channel(name))
        queues = []
        for name, fig in figures.items():
            waiting, oldest_ms, steps, counts = self.waiting[name]
            channels = {
                ch: {"waiting": counts.get(ch, 0), **by_channel.get((name, ch), NONE)}
                for ch in CHANNELS
                if counts.get(ch) or (name, ch) in by_channel
            }
            queues.append(
                {
                    "name": name,
                    "waiting": waiting,
                    "longest_wait_s": max(0, round(now - oldest_ms / 1000)) if oldest_ms else 0,
                    "estimated_wait_s": estimates.get(name),
                    "escalated": {str(step): n for step, n in sorted(steps.items())},
                    **fig,
                    "channels": channels,
                }
            )
        return {"type": "board.snapshot", "queues": queues, "agents": agents}

    async def _slow(self, now: float) -> Slow:
        """The day's figures from PostgreSQL, each queue's estimated wait, and the advisers' rows. Every
        adviser they need is read from Redis once, for the rows and the estimates alike."""
        midnight = datetime.fromtimestamp(now, LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        figures = await self.reports.queue_figures(midnight)
        by_channel = await self.reports.channel_figures(midnight)
        staff = await self.agent_list()
        serving = await self.router_store.serving(figures)
        ids = {str(s["id"]) for s in staff}.union(*serving.values())
        live = {a.id: a for a in await self.router_store.agents(sorted(ids))}
        estimates = {}
        for name in figures:
            waiting = self.waiting[name][0] if name in self.waiting else 0
            estimates[name] = await self.estimate(name, waiting + 1, [live[i] for i in serving[name] if i in live])
        return figures, by_channel, estimates, await self.agents(midnight, staff, live)

    async def agents(
        self, midnight: datetime, staff: list[dict[str, Any]], live: dict[str, Agent]
    ) -> list[dict[str, Any]]:
        handled = await self.reports.handled(midnight)
        held = await self.reports.held()
        out = []
        for s in staff:
            agent = live.get(str(s["id"]))
            since = agent.since_ms if agent else 0
            out.append(
                {
                    "id": s["id"],
                    "conversations": held.get(s["id"], []),
                    "name": s["display_name"],
                    "status": shown_status(agent) if agent else "offline",
                    "reason": agent.reason if agent and agent.status == "away" else "",
                    "since": _iso(since / 1000) if since else None,
                    "load": dict(agent.load) if agent else dict.fromkeys(CHANNELS, 0),
                    "capacity": dict(agent.capacity) if agent else {},
                    "handled_today": handled.get(s["id"], 0),
                }
            )
        return out

    async def agent_list(self) -> list[dict[str, Any]]:
        """Agents of the tenant (re-read every 30 s)."""
        at, rows = self._agent_list
        if time.monotonic() - at > 30:
            rows = await self.staff.agent_users()
            self._agent_list = (time.monotonic(), rows)
        return rows


def _only(snap: dict[str, Any], queues: frozenset[str] | None) -> dict[str, Any]:
    """The snapshot with only ``queues`` (all when None)."""
    if queues is None:
        return snap
    return {**snap, "queues": [q for q in snap["queues"] if q["name"] in queues]}


def _changes(before: dict[str, Any] | None, now: dict[str, Any], queues: frozenset[str] | None, at: str) -> str | None:
    """A ``board.changes`` frame of the rows that differ from ``before`` (a full ``board.snapshot`` when
    queues or agents came or went); None when nothing a viewer of ``queues`` sees changed."""
    if (
        before is None
        or [q["name"] for q in before["queues"]] != [q["name"] for q in now["queues"]]
        or [a["id"] for a in before["agents"]] != [a["id"] for a in now["agents"]]
    ):
        return encode({**_only(now, queues), "at": at})
    old_q = {q["name"]: q for q in before["queues"]}
    old_a = {a["id"]: a for a in before["agents"]}
    changed_q = [q for q in now["queues"] if (queues is None or q["name"] in queues) and old_q[q["name"]] != q]
    changed_a = [a for a in now["agents"] if old_a[a["id"]] != a]
    if not changed_q and not changed_a:
        return None
    return encode({"type": "board.changes", "at": at, "queues": changed_q, "agents": changed_a})


async def _no_estimate(queue: str, position: int, serving: list[Agent]) -> int | None:
    return None
