"""Routing state in Redis: one Lua script per atomic change (STYLE 8); the reads are in ``router.reads``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from router.keys import Keys
from router.model import Contact, Decision, Profile, Skipped
from router.reads import LiveConversation, StateReads, as_text

__all__ = ["DEFAULT_WRAPUP_MS", "LiveConversation", "RouterStore"]

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
    "route_contact",
    "route_agent",
    "rechannel",
    "steer",
    "queue_summary",
)
DECIDING = ("route_contact", "route_agent")
"""The scripts that make decisions, which ``_decide.lua`` goes in front of (after ``_lib.lua``)."""


def script_source(name: str) -> str:
    """A script's full source: the shared library (and the decision functions) in front of its own file."""
    lua = resources.files("router").joinpath("lua")
    parts = ["_lib", "_decide", name] if name in DECIDING else ["_lib", name]
    return "\n".join(lua.joinpath(f"{part}.lua").read_text("utf-8") for part in parts)


def _load_scripts(redis: Redis) -> dict[str, AsyncScript]:
    return {name: redis.register_script(script_source(name)) for name in SCRIPTS}


def _decision(d: Mapping[str, Any]) -> tuple[Decision, Contact]:
    """A decision as a routing script returns it (JSON; Lua's empty lists arrive as {})."""
    ranked = tuple(str(a) for a in d["ranked"] or ())
    skipped = tuple(Skipped(str(a), str(why)) for a, why in d["skipped"] or ())
    decision = Decision(
        d["contact"], d.get("agent"), ranked, skipped, d["rule"], int(d["eligible"]), int(d["unlisted"])
    )
    contact = Contact(
        d["contact"], d["queue"], d["channel"], int(d["priority"]), int(d["enqueued_ms"]), step=int(d["step"])
    )
    return decision, contact


class RouterStore(StateReads):
    """Routing state of one tenant in one Redis: its reads, and its atomic changes."""

    def __init__(self, redis: Redis, tenant: str) -> None:
        self.redis = redis
        self.keys = Keys(tenant)
        self.scripts = _load_scripts(redis)

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self.scripts[name](keys=keys, args=args)

    async def queue_steps(self, queue: str) -> tuple[int, int | None, dict[int, int]]:
        """(waiting, the oldest arrival in ms or None, waiting contacts per escalation step reached, step 0
        left out), read inside Redis in one step."""
        out = [int(v) for v in await self._run("queue_summary", [self.keys.queue(queue)], [])]
        steps = dict(zip(out[2::2], out[3::2], strict=True))
        return out[0], (out[1] if out[1] >= 0 else None), steps

    # --- atomic changes (one Lua script each) ------------------------------------

    async def enqueue(self, c: LiveConversation, priority: int, score: int) -> int:
        """Queue a new conversation; its 1-based position (0 if Redis already had it)."""
        k = self.keys
        return int(
            await self._run(
                "enqueue",
                [k.conv(c.id), k.queue(c.queue)],
                [
                    *(c.id, c.queue, c.channel, priority, c.enqueued_ms, score, c.name, c.language),
                    *(c.reserved_for, c.reserved_until_ms),
                ],
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
        return as_text(
            await self._run(
                "offer",
                [k.conv(contact.id), k.agent(agent_id), k.queue(contact.queue), k.offers()],
                [contact.id, agent_id, deadline_ms],
            )
        )

    async def route_contact(
        self, conversation_id: str, now_ms: int, deadline_ms: int, strategies: str = ""
    ) -> tuple[Decision, Contact] | None:
        """Decide who should take a waiting contact and offer it to them, atomically (``_decide.lua``).

        The decision says who was ranked and passed over either way; its agent is None when nobody
        could take it (the contact keeps waiting). None when the contact is not waiting.
        ``strategies``: JSON {queue: strategy} for the queues not on longest idle.
        """
        r = await self._run(
            "route_contact", [self.keys.conv(conversation_id)], [conversation_id, now_ms, deadline_ms, strategies]
        )
        text = as_text(r)
        return _decision(json.loads(text)) if text else None

    async def route_agent(
        self, agent_id: str, now_ms: int, deadline_ms: int, strategies: str = "", most: int = 8, depth: int = 200
    ) -> list[tuple[Decision, Contact]]:
        """Fill a free agent's slots with the contacts they should be offered next (each offered to
        whoever ranks first for it), atomically; the decisions that made offers."""
        args = [agent_id, now_ms, deadline_ms, strategies, most, depth]
        made = json.loads(as_text(await self._run("route_agent", [self.keys.agent(agent_id)], args)))
        return [_decision(d) for d in made or ()]

    async def rechannel(self, conversation_id: str, channel: str) -> str:
        """A waiting contact moves to ``channel``, keeping its place: 'OK', or the state it is in instead."""
        return as_text(await self._run("rechannel", [self.keys.conv(conversation_id)], [conversation_id, channel]))

    async def accept(self, conversation_id: str, agent_id: str, now_ms: int) -> bool:
        """True if ``agent_id`` held the offer and now has the conversation."""
        k = self.keys
        r = await self._run(
            "accept", [k.conv(conversation_id), k.offers(), k.agent(agent_id)], [conversation_id, agent_id, now_ms]
        )
        return as_text(r) == "OK"

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
        return int(count) if as_text(outcome) == "OK" else None

    async def due_offers(self, now_ms: int, lease_ms: int, limit: int = 100) -> list[str]:
        """Lease the offers whose deadline passed."""
        return [as_text(i) for i in await self._run("lease_due", [self.keys.offers()], [now_ms, lease_ms, limit])]

    async def due_wrapups(self, now_ms: int, lease_ms: int, limit: int = 100) -> list[str]:
        """Lease the wrap-ups whose time limit passed."""
        return [as_text(i) for i in await self._run("lease_due", [self.keys.wrapups()], [now_ms, lease_ms, limit])]

    async def end(self, conversation_id: str, agent_id: str, now_ms: int, wrapup_deadline_ms: int | None = None) -> str:
        """Move an assigned conversation to wrap-up ('' agent = the citizen ended it)."""
        deadline = now_ms + DEFAULT_WRAPUP_MS if wrapup_deadline_ms is None else wrapup_deadline_ms
        keys = [self.keys.conv(conversation_id), self.keys.wrapups()]
        return as_text(await self._run("end", keys, [agent_id, now_ms, deadline]))

    async def release(self, conversation_id: str, agent_id: str, now_ms: int) -> bool:
        """Wrap-up done: free the slot."""
        k = self.keys
        r = await self._run("release", [k.conv(conversation_id), k.agent(agent_id), k.wrapups()], [agent_id, now_ms])
        return as_text(r) == "OK"

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
            if as_text(state) != "retry":
                return as_text(state), as_text(agent)
        return "retry", ""

    async def transfer(
        self,
        conversation_id: str,
        agent_id: str,
        queue: str,
        score: int,
        reserved_for: str = "",
        until_ms: int = 0,
        skip_ms: int = 60_000,
    ) -> bool:
        """Move an assigned conversation to ``queue`` (reserved for ``reserved_for`` until ``until_ms``),
        freeing the agent's slot; the agent who handed it on is not offered it back for ``skip_ms``."""
        k = self.keys
        r = await self._run(
            "transfer",
            [k.conv(conversation_id), k.agent(agent_id), k.queue(queue), k.skip(conversation_id)],
            [conversation_id, agent_id, queue, score, reserved_for, until_ms, skip_ms],
        )
        return as_text(r) == "OK"

    async def steer(self, conversation_id: str, queue: str, priority: int, score: int) -> bool:
        """Move a waiting contact to ``queue`` at ``priority`` (its ``score`` there); False if it no longer waits."""
        r = await self._run("steer", [self.keys.conv(conversation_id)], [conversation_id, queue, priority, score])
        return as_text(r) == "OK"

    async def set_status(
        self, agent_id: str, status: str, now_ms: int, profile: Profile, *, name: str, reason: str = ""
    ) -> str:
        """Set an agent's status and profile (queues in the order they serve them); returns the previous status."""
        k = self.keys
        args = [
            agent_id,
            status,
            now_ms,
            name,
            ",".join(dict.fromkeys(profile.queues)),
            json.dumps(dict(profile.capacity)),
            reason,
            json.dumps(dict(profile.levels)),
            "1" if profile.voice_exclusive else "0",
            json.dumps(dict(profile.short_of)),
        ]
        keys = [k.agent(agent_id), k.agents()]
        return as_text(await self._run("agent_status", keys, args))

    async def escalate(
        self, c: tuple[str, str], step: int, priority: int, score: int, overflow: Iterable[str], relax: int = 0
    ) -> bool:
        """Move a waiting contact (id, queue) to escalation ``step``; False if it no longer waits there."""
        conversation_id, queue = c
        keys = [self.keys.conv(conversation_id), self.keys.queue(queue)]
        args = [conversation_id, step, priority, score, ",".join(sorted(overflow)), relax]
        return bool(await self._run("escalate", keys, args))

    async def record_answer(self, queue: str, conversation_id: str, now_ms: int, window_ms: int) -> None:
        """Count an answer in ``queue`` for the recent answer rate (forgetting those older than the window)."""
        key = self.keys.answered(queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {conversation_id: now_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms - window_ms)
        pipe.pexpire(key, window_ms)
        await pipe.execute()

    async def set_round_robin_last(self, queue: str, agent_id: str) -> None:
        await self.redis.hset(self.keys.round_robin(), queue, agent_id)

    async def mark_built(self) -> None:
        await self.redis.set(self.keys.built(), "1")
