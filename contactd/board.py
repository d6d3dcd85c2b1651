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
        self.estimate: Callable[[str, int], Awaitable[int | None]] = _no_estimate
        """The estimated wait (seconds) at a position in a queue (set by the app)."""

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

    async def snapshot(self, now: float) -> dict[str, Any]:
        midnight = datetime.fromtimestamp(now, LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        figures = await self.reports.queue_figures(midnight)
        by_channel = await self.reports.channel_figures(midnight)
        queues = []
        for name, fig in figures.items():
            waiting, oldest_ms, steps = await self.router_store.queue_steps(name)
            longest = max(0, round(now - oldest_ms / 1000)) if oldest_ms else 0
            escalated = {str(step): n for step, n in sorted(steps.items())}
            counts = await self.router_store.waiting_by_channel(name)
            channels = {
                ch: {"waiting": counts.get(ch, 0), **by_channel.get((name, ch), NONE)}
                for ch in CHANNELS
                if counts.get(ch) or (name, ch) in by_channel
            }
            queues.append(
                {
                    "name": name,
                    "waiting": waiting,
                    "longest_wait_s": longest,
                    "estimated_wait_s": await self.estimate(name, waiting + 1),
                    "escalated": escalated,
                    **fig,
                    "channels": channels,
                }
            )
        return {"type": "board.snapshot", "queues": queues, "agents": await self.agents(midnight)}

    async def agents(self, midnight: datetime) -> list[dict[str, Any]]:
        staff = await self.agent_list()
        live = {a.id: a for a in await self.router_store.agents([str(s["id"]) for s in staff])}
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


async def _no_estimate(queue: str, position: int) -> int | None:
    return None
