"""Routing state in Redis: reads for the pure core, and one Lua script per atomic change (STYLE 8)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from router.keys import Keys
from router.model import CHANNELS, Agent, Contact

DEFAULT_WRAPUP_MS = 60_000  # used when a caller gives no wrap-up deadline
SCRIPTS = (
    "enqueue",
    "restore",
    "offer",
    "accept",
    "requeue",
    "lease_due",
    "end",
    "release",
    "abandon",
    "escalate",
    "transfer",
    "agent_status",
)


def _load_scripts(redis: Redis) -> dict[str, AsyncScript]:
    lua = resources.files("router").joinpath("lua")
    return {name: redis.register_script(lua.joinpath(f"{name}.lua").read_text("utf-8")) for name in SCRIPTS}


def _text(value: Any) -> str:
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


class RouterStore:
    """Routing state of one tenant in one Redis."""

    def __init__(self, redis: Redis, tenant: str) -> None:
        self.redis = redis
        self.keys = Keys(tenant)
        self.scripts = _load_scripts(redis)

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self.scripts[name](keys=keys, args=args)

    # --- reads for the pure core -------------------------------------------------

    async def conversation(self, conversation_id: str) -> LiveConversation | None:
        """The routing state of a live conversation, or None when Redis does not hold it."""
        raw = await self.redis.hgetall(self.keys.conv(conversation_id))
        if not raw:
            return None
        h = {_text(k): _text(v) for k, v in raw.items()}
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
        )

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
        )
        pipe = self.redis.pipeline(transaction=False)
        for conversation_id in ids:
            pipe.hmget(self.keys.conv(conversation_id), *fields)
            pipe.smembers(self.keys.skip(conversation_id))
        replies = await pipe.execute()
        return [_contact(i, replies[2 * n], replies[2 * n + 1]) for n, i in enumerate(ids)]

    async def agents_serving(self, queue: str) -> list[Agent]:
        """Every agent not offline who serves ``queue``."""
        ids = [_text(i) for i in await self.redis.smembers(self.keys.serving(queue))]
        return await self.agents(ids)

    async def agents(self, ids: Iterable[str]) -> list[Agent]:
        """Agents by id (those Redis does not know are left out)."""
        ids = list(ids)
        pipe = self.redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hgetall(self.keys.agent(agent_id))
        found = []
        for agent_id, raw in zip(ids, await pipe.execute(), strict=True):
            if raw:
                found.append(_agent(agent_id, {_text(k): _text(v) for k, v in raw.items()}))
        return found

    async def agent(self, agent_id: str) -> Agent | None:
        """One agent, or None when Redis does not know them."""
        found = await self.agents([agent_id])
        return found[0] if found else None

    async def agent_ids(self) -> list[str]:
        """Ids of every agent who is not offline."""
        return [_text(i) for i in await self.redis.zrange(self.keys.agents(), 0, -1)]

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
            out[agent_id] = (_text(name or ""), _text(status or "offline"), int(since or 0))
        return out

    async def queue_heads(self, queues: Iterable[str], depth: int = 5) -> list[Contact]:
        """The first ``depth`` waiting contacts of each queue."""
        queues = list(queues)
        pipe = self.redis.pipeline(transaction=False)
        for q in queues:
            pipe.zrange(self.keys.queue(q), 0, depth - 1)
        ids = [_text(i) for found in await pipe.execute() for i in found]
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

    async def queue_steps(self, queue: str) -> tuple[int, int | None, dict[int, int]]:
        """(waiting, the oldest arrival in ms or None, waiting contacts per escalation step reached)."""
        waiting = await self.waiting_times(queue, 10_000)
        steps: dict[int, int] = {}
        for _, _, _, step in waiting:
            steps[step] = steps.get(step, 0) + 1
        return len(waiting), min((w[1] for w in waiting), default=None), steps

    async def waiting(self, queue: str) -> list[str]:
        """Ids of the contacts waiting in ``queue``, first served first."""
        return [_text(i) for i in await self.redis.zrange(self.keys.queue(queue), 0, -1)]

    async def offers_of(self, agent_id: str) -> list[str]:
        """Conversation ids with a pending offer to ``agent_id``."""
        ids = [_text(i) for i in await self.redis.zrange(self.keys.offers(), 0, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hget(self.keys.conv(i), "agent")
        return [i for i, a in zip(ids, await pipe.execute(), strict=True) if a is not None and _text(a) == agent_id]

    # --- atomic changes (one Lua script each) ------------------------------------

    async def enqueue(self, c: LiveConversation, priority: int, score: int) -> int:
        """Queue a new conversation; its 1-based position (0 if Redis already had it)."""
        k = self.keys
        return int(
            await self._run(
                "enqueue",
                [k.conv(c.id), k.queue(c.queue)],
                [c.id, c.queue, c.channel, priority, c.enqueued_ms, score, c.name, c.language],
            )
        )

    async def restore(self, c: LiveConversation, priority: int, score: int, wrapup_deadline_ms: int = 0) -> bool:
        """Rebuild one conversation's state from PostgreSQL; False if Redis already had it."""
        k = self.keys
        agent_key = k.agent(c.agent_id) if c.agent_id else k.agents()
        return bool(
            await self._run(
                "restore",
                [k.conv(c.id), k.queue(c.queue), agent_key, k.wrapups()],
                [
                    c.id,
                    c.queue,
                    c.channel,
                    priority,
                    c.enqueued_ms,
                    score,
                    c.name,
                    c.language,
                    c.state,
                    c.agent_id,
                    wrapup_deadline_ms,
                ],
            )
        )

    async def offer(self, contact: Contact, agent_id: str, deadline_ms: int) -> str:
        """Reserve a slot of ``agent_id`` and offer them ``contact``: 'OK' or why not."""
        k = self.keys
        return _text(
            await self._run(
                "offer",
                [k.conv(contact.id), k.agent(agent_id), k.queue(contact.queue), k.offers()],
                [contact.id, agent_id, deadline_ms],
            )
        )

    async def accept(self, conversation_id: str, agent_id: str, now_ms: int) -> bool:
        """True if ``agent_id`` held the offer and now has the conversation."""
        k = self.keys
        r = await self._run(
            "accept", [k.conv(conversation_id), k.offers(), k.agent(agent_id)], [conversation_id, agent_id, now_ms]
        )
        return _text(r) == "OK"

    async def requeue(self, conversation_id: str, agent_id: str, queue: str, skip_ms: int) -> bool:
        """Put a declined offer's conversation back at its place in its queue."""
        return await self._requeue(conversation_id, agent_id, queue, skip_ms, missed=False) is not None

    async def miss(self, conversation_id: str, agent_id: str, queue: str, skip_ms: int, now_ms: int) -> int | None:
        """Put a timed-out offer's conversation back; returns the agent's offers missed in a row.

        None when there is no such offer, or its deadline is still ahead of ``now_ms`` (a fresh re-offer).
        """
        return await self._requeue(conversation_id, agent_id, queue, skip_ms, missed=True, now_ms=now_ms)

    async def _requeue(
        self, conversation_id: str, agent_id: str, queue: str, skip_ms: int, missed: bool, now_ms: int = 0
    ) -> int | None:
        k = self.keys
        outcome, count = await self._run(
            "requeue",
            [k.conv(conversation_id), k.agent(agent_id), k.queue(queue), k.offers(), k.skip(conversation_id)],
            [conversation_id, agent_id, skip_ms, "1" if missed else "0", now_ms],
        )
        return int(count) if _text(outcome) == "OK" else None

    async def due_offers(self, now_ms: int, lease_ms: int, limit: int = 100) -> list[str]:
        """Lease the offers whose deadline passed."""
        return [_text(i) for i in await self._run("lease_due", [self.keys.offers()], [now_ms, lease_ms, limit])]

    async def due_wrapups(self, now_ms: int, lease_ms: int, limit: int = 100) -> list[str]:
        """Lease the wrap-ups whose time limit passed."""
        return [_text(i) for i in await self._run("lease_due", [self.keys.wrapups()], [now_ms, lease_ms, limit])]

    async def end(self, conversation_id: str, agent_id: str, now_ms: int, wrapup_deadline_ms: int | None = None) -> str:
        """Move an assigned conversation to wrap-up ('' agent = the citizen ended it)."""
        deadline = now_ms + DEFAULT_WRAPUP_MS if wrapup_deadline_ms is None else wrapup_deadline_ms
        keys = [self.keys.conv(conversation_id), self.keys.wrapups()]
        return _text(await self._run("end", keys, [agent_id, now_ms, deadline]))

    async def release(self, conversation_id: str, agent_id: str, now_ms: int) -> bool:
        """Wrap-up done: free the slot."""
        k = self.keys
        r = await self._run("release", [k.conv(conversation_id), k.agent(agent_id), k.wrapups()], [agent_id, now_ms])
        return _text(r) == "OK"

    async def abandon(
        self, conversation_id: str, now_ms: int, wrapup_deadline_ms: int | None = None
    ) -> tuple[str, str]:
        """The citizen left: (state it was in, agent who held it or '')."""
        k = self.keys
        for _ in range(5):
            live = await self.conversation(conversation_id)
            if live is None:
                return "gone", ""
            agent_key = k.agent(live.agent_id) if live.agent_id else k.agents()
            state, agent = await self._run(
                "abandon",
                [k.conv(conversation_id), k.queue(live.queue), k.offers(), agent_key, k.skip(live.id), k.wrapups()],
                [
                    conversation_id,
                    live.agent_id,
                    now_ms,
                    now_ms + DEFAULT_WRAPUP_MS if wrapup_deadline_ms is None else wrapup_deadline_ms,
                ],
            )
            if _text(state) != "retry":
                return _text(state), _text(agent)
        return "retry", ""

    async def transfer(
        self, conversation_id: str, agent_id: str, queue: str, score: int, reserved_for: str = "", until_ms: int = 0
    ) -> bool:
        """Move an assigned conversation to ``queue`` (reserved for ``reserved_for`` until ``until_ms``),
        freeing the agent's slot."""
        k = self.keys
        r = await self._run(
            "transfer",
            [k.conv(conversation_id), k.agent(agent_id), k.queue(queue)],
            [conversation_id, agent_id, queue, score, reserved_for, until_ms],
        )
        return _text(r) == "OK"

    async def set_status(
        self,
        agent_id: str,
        status: str,
        now_ms: int,
        *,
        name: str,
        queues: Iterable[str],
        capacity: Mapping[str, int],
        reason: str = "",
        levels: Mapping[str, int] | None = None,
        voice_exclusive: bool = True,
    ) -> str:
        """Set an agent's status and profile (queues in the order they serve them); returns the previous status."""
        queues = list(dict.fromkeys(queues))
        k = self.keys
        before = _text(await self.redis.hget(k.agent(agent_id), "queues") or "")
        dropped = sorted(set(before.split(",")) - set(queues) - {""})
        keys = [
            k.agent(agent_id),
            k.agents(),
            *(k.serving(q) for q in queues),
            *(k.serving(q) for q in dropped),
        ]
        args = [
            agent_id,
            status,
            now_ms,
            name,
            ",".join(queues),
            json.dumps(dict(capacity)),
            reason,
            len(queues),
            json.dumps(dict(levels or {})),
            "1" if voice_exclusive else "0",
        ]
        return _text(await self._run("agent_status", keys, args))

    async def waiting_times(self, queue: str, limit: int) -> list[tuple[str, int, int, int]]:
        """(id, arrival ms, base priority, escalation step) of the first ``limit`` contacts waiting in ``queue``."""
        ids = [_text(i) for i in await self.redis.zrange(self.keys.queue(queue), 0, limit - 1)]
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(self.keys.conv(i), "enqueued_ms", "priority", "base_priority", "step")
        out = []
        for i, (enq, priority, base, step) in zip(ids, await pipe.execute(), strict=True):
            if enq is not None:
                out.append((i, int(enq), int(base if base is not None else priority or 0), int(step or 0)))
        return out

    async def escalate(self, c: tuple[str, str], step: int, priority: int, score: int, overflow: Iterable[str]) -> bool:
        """Move a waiting contact (id, queue) to escalation ``step``; False if it no longer waits there."""
        conversation_id, queue = c
        keys = [self.keys.conv(conversation_id), self.keys.queue(queue)]
        args = [conversation_id, step, priority, score, ",".join(sorted(overflow))]
        return bool(await self._run("escalate", keys, args))

    async def record_answer(self, queue: str, conversation_id: str, now_ms: int, window_ms: int) -> None:
        """Count an answer in ``queue`` for the recent answer rate (forgetting those older than the window)."""
        key = self.keys.answered(queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {conversation_id: now_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms - window_ms)
        pipe.pexpire(key, window_ms)
        await pipe.execute()

    async def recent_answers(self, queue: str, now_ms: int, window_ms: int) -> int:
        """Answers in ``queue`` within the last ``window_ms``."""
        return int(await self.redis.zcount(self.keys.answered(queue), now_ms - window_ms, "+inf"))

    async def round_robin_last(self, queue: str) -> str:
        """The agent the queue's round robin offered to last ('' if none)."""
        return _text(await self.redis.hget(self.keys.round_robin(), queue) or "")

    async def set_round_robin_last(self, queue: str, agent_id: str) -> None:
        await self.redis.hset(self.keys.round_robin(), queue, agent_id)

    async def mark_built(self) -> None:
        await self.redis.set(self.keys.built(), "1")

    async def is_built(self) -> bool:
        return bool(await self.redis.exists(self.keys.built()))


def _contact(conversation_id: str, values: list[Any], skip: Iterable[Any]) -> Contact | None:
    state, queue, channel, priority, enq, reserved, until, step, overflow = (
        _text(v) if v is not None else "" for v in values
    )
    if state != "queued":
        return None
    return Contact(
        conversation_id,
        queue,
        channel,
        int(priority or 0),
        int(enq or 0),
        frozenset(_text(s) for s in skip),
        reserved,
        int(until or 0),
        int(step or 0),
        frozenset(q for q in overflow.split(",") if q),
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
    )
