"""Reads of routing state in Redis: what the pure core decides on, and what boards and citizens are shown."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from router.keys import Keys
from router.model import CHANNELS, Agent, Contact


def as_text(value: Any) -> str:
    """A Redis reply (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class LiveConversation:
    """What Redis knows of a live conversation."""

    id: str
    queue: str
    channel: str
    state: str
    agent_id: str
    enqueued_ms: int
    name: str
    language: str
    priority: int = 0
    reserved_for: str = ""
    """An agent it waits for first (the citizen's previous agent), until ``reserved_until_ms``."""
    reserved_until_ms: int = 0
    step: int = 0
    """The escalation step it has reached while waiting."""


def _live(conversation_id: str, h: dict[str, str]) -> LiveConversation:
    return LiveConversation(
        h.get("id", conversation_id),
        h.get("queue", ""),
        h.get("channel", "chat"),
        h.get("state", ""),
        h.get("agent", ""),
        int(h.get("enqueued_ms", "0")),
        h.get("name", ""),
        h.get("language", "en"),
        int(h.get("priority", "0")),
        step=int(h.get("step", "0") or 0),
    )


class StateReads:
    """Read-only access to one tenant's routing state (``RouterStore`` adds the atomic changes)."""

    redis: Redis
    keys: Keys

    async def conversation(self, conversation_id: str) -> LiveConversation | None:
        """The routing state of a live conversation, or None when Redis does not hold it."""
        raw = await self.redis.hgetall(self.keys.conv(conversation_id))
        if not raw:
            return None
        return _live(conversation_id, {as_text(k): as_text(v) for k, v in raw.items()})

    async def contact(self, conversation_id: str) -> Contact | None:
        """A waiting conversation as the pure core sees it, or None when it is not queued."""
        return (await self.contacts([conversation_id]))[0]

    async def contacts(self, ids: list[str]) -> list[Contact | None]:
        """Several conversations as the pure core sees them (None for those not queued), in one round trip."""
        fields = (
            "state",
            "queue",
            "channel",
            "priority",
            "enqueued_ms",
            "reserved_for",
            "reserved_until",
            "step",
            "overflow",
            "relax",
            "reserved_rule",
        )
        pipe = self.redis.pipeline(transaction=False)
        for conversation_id in ids:
            pipe.hmget(self.keys.conv(conversation_id), *fields)
            pipe.smembers(self.keys.skip(conversation_id))
        replies = await pipe.execute()
        return [_contact(i, replies[2 * n], replies[2 * n + 1]) for n, i in enumerate(ids)]

    async def agents_serving(self, queue: str) -> list[Agent]:
        """Every agent not offline who serves ``queue``."""
        ids = [as_text(i) for i in await self.redis.smembers(self.keys.serving(queue))]
        return await self.agents(ids)

    async def serving(self, queues: Iterable[str]) -> dict[str, list[str]]:
        """The ids of the agents not offline who serve each of ``queues``, in one round trip."""
        queues = list(queues)
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            pipe.smembers(self.keys.serving(queue))
        found = await pipe.execute()
        return {queue: sorted(as_text(i) for i in ids) for queue, ids in zip(queues, found, strict=True)}

    async def agents(self, ids: Iterable[str]) -> list[Agent]:
        """Agents by id (those Redis does not know are left out)."""
        ids = list(ids)
        pipe = self.redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hgetall(self.keys.agent(agent_id))
        found = []
        for agent_id, raw in zip(ids, await pipe.execute(), strict=True):
            if raw:
                found.append(_agent(agent_id, {as_text(k): as_text(v) for k, v in raw.items()}))
        return found

    async def ready_agents(self, queue: str) -> list[str]:
        """Ids of the agents who could take a contact of ``queue`` now, on some channel."""
        pipe = self.redis.pipeline(transaction=False)
        for channel in CHANNELS:
            pipe.zrange(self.keys.ready(queue, channel), 0, -1)
        return sorted({as_text(i) for found in await pipe.execute() for i in found})

    async def agent(self, agent_id: str) -> Agent | None:
        """One agent, or None when Redis does not know them."""
        found = await self.agents([agent_id])
        return found[0] if found else None

    async def agent_ids(self) -> list[str]:
        """Ids of every agent who is not offline."""
        return [as_text(i) for i in await self.redis.zrange(self.keys.agents(), 0, -1)]

    async def all_agents(self) -> list[Agent]:
        """Every agent who is not offline."""
        return await self.agents(await self.agent_ids())

    async def agent_names(self, ids: Iterable[str]) -> dict[str, tuple[str, str, int]]:
        """id -> (name, status, since ms) for the queue board."""
        ids = list(ids)
        pipe = self.redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hmget(self.keys.agent(agent_id), "name", "status", "since")
        out = {}
        for agent_id, (name, status, since) in zip(ids, await pipe.execute(), strict=True):
            out[agent_id] = (as_text(name or ""), as_text(status or "offline"), int(since or 0))
        return out

    async def queue_heads(self, queues: Iterable[str], depth: int = 5) -> list[Contact]:
        """The first ``depth`` waiting contacts of each queue."""
        queues = list(queues)
        pipe = self.redis.pipeline(transaction=False)
        for q in queues:
            pipe.zrange(self.keys.queue(q), 0, depth - 1)
        ids = [as_text(i) for found in await pipe.execute() for i in found]
        return [c for c in await self.contacts(ids) if c is not None]

    async def position(self, queue: str, conversation_id: str) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        rank: int | None = await self.redis.zrank(self.keys.queue(queue), conversation_id)  # type: ignore[assignment]
        return None if rank is None else rank + 1

    async def positions(self, queue: str, conversation_ids: list[str]) -> list[int | None]:
        """1-based places of several conversations in ``queue`` (None for those not waiting), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for conversation_id in conversation_ids:
            pipe.zrank(self.keys.queue(queue), conversation_id)
        return [None if r is None else int(r) + 1 for r in await pipe.execute()]

    async def waiting_by_channel(self, queue: str) -> dict[str, int]:
        """How many contacts wait in ``queue``, by channel."""
        counts = await self.redis.hgetall(self.keys.waiting_counts(queue))
        return {as_text(ch): max(0, int(n)) for ch, n in counts.items()}

    async def waiting(self, queue: str) -> list[str]:
        """Ids of the contacts waiting in ``queue``, first served first."""
        return [as_text(i) for i in await self.redis.zrange(self.keys.queue(queue), 0, -1)]

    async def offers_of(self, agent_id: str) -> list[str]:
        """Conversation ids with a pending offer to ``agent_id``."""
        ids = [as_text(i) for i in await self.redis.zrange(self.keys.offers(), 0, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hget(self.keys.conv(i), "agent")
        return [i for i, a in zip(ids, await pipe.execute(), strict=True) if a is not None and as_text(a) == agent_id]

    # --- atomic changes (one Lua script each) ------------------------------------

    async def waiting_times(self, queue: str, limit: int) -> list[tuple[str, int, int, int]]:
        """(id, arrival ms, base priority, escalation step) of the first ``limit`` contacts waiting in ``queue``."""
        ids = [as_text(i) for i in await self.redis.zrange(self.keys.queue(queue), 0, limit - 1)]
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(self.keys.conv(i), "enqueued_ms", "priority", "base_priority", "step")
        out = []
        for i, (enq, priority, base, step) in zip(ids, await pipe.execute(), strict=True):
            if enq is not None:
                out.append((i, int(enq), int(base if base is not None else priority or 0), int(step or 0)))
        return out

    async def waiting_list(self, queue: str, limit: int) -> tuple[int, list[LiveConversation]]:
        """(how many wait in ``queue``, the first ``limit`` of them in the order they will be served)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(self.keys.queue(queue))
        pipe.zrange(self.keys.queue(queue), 0, limit - 1)
        total, ids = await pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(self.keys.conv(as_text(i)))
        out = []
        for i, raw in zip(ids, await pipe.execute(), strict=True):
            if raw:
                out.append(_live(as_text(i), {as_text(k): as_text(v) for k, v in raw.items()}))
        return int(total), out

    async def recent_answers(self, queue: str, now_ms: int, window_ms: int) -> int:
        """Answers in ``queue`` within the last ``window_ms``."""
        return int(await self.redis.zcount(self.keys.answered(queue), now_ms - window_ms, "+inf"))

    async def round_robin_last(self, queue: str) -> str:
        """The agent the queue's round robin offered to last ('' if none)."""
        return as_text(await self.redis.hget(self.keys.round_robin(), queue) or "")

    async def is_built(self) -> bool:
        return bool(await self.redis.exists(self.keys.built()))


def _contact(conversation_id: str, values: list[Any], skip: Iterable[Any]) -> Contact | None:
    state, queue, channel, priority, enq, reserved, until, step, overflow, relax, rule = (
        as_text(v) if v is not None else "" for v in values
    )
    if state != "queued":
        return None
    return Contact(
        conversation_id,
        queue,
        channel,
        int(priority or 0),
        int(enq or 0),
        frozenset(as_text(s) for s in skip),
        reserved,
        int(until or 0),
        int(step or 0),
        frozenset(q for q in overflow.split(",") if q),
        int(relax or 0),
        rule or "named agent",
    )


def _agent(agent_id: str, h: Mapping[str, str]) -> Agent:
    load = {ch: int(h.get(f"load:{ch}", "0")) for ch in CHANNELS}
    cap = {ch: int(h.get(f"cap:{ch}", "0")) for ch in CHANNELS}
    order = tuple(q for q in h.get("queues", "").split(",") if q)
    return Agent(
        agent_id,
        h.get("status", "offline"),
        int(h.get("idle_since", "0")),
        load,
        cap,
        frozenset(order),
        h.get("reason", ""),
        order,
        json.loads(h.get("levels") or "{}"),
        h.get("voice_exclusive", "1") != "0",
        int(h.get("since", "0")),
        json.loads(h.get("short_of") or "{}"),
    )
