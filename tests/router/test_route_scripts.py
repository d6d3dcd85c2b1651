"""The deciding scripts (route_contact, route_agent) and the sets they read, on a real Redis."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from redis.asyncio import Redis

from router.policy import queue_score
from router.store import LiveConversation, RouterStore
from tests.router.test_store import DEADLINE, T0, agent_on, assigned, enqueue, load


@pytest.fixture
def store(redis: Redis, tenant: str) -> RouterStore:
    return RouterStore(redis, tenant)


async def route(store: RouterStore, cid: str) -> str | None:
    routed = await store.route_contact(cid, T0 + 100, DEADLINE)
    return None if routed is None else routed[0].agent_id


async def test_the_scripts_build_the_keys_router_keys_documents(store: RouterStore, redis: Redis) -> None:
    """The Lua library builds key names itself; they must be the ones router/keys.py names (and tests read)."""
    k = store.keys
    await agent_on(store, "a1", queues=("general", "benefits"))
    await enqueue(store, "c1", queue="housing", channel="sms")
    assert await redis.zscore(k.ready("general", "chat"), "a1") == T0
    assert await redis.zscore(k.ready("benefits", "voice"), "a1") == T0
    assert await redis.hget(k.waiting_counts("housing"), "sms") == b"1"
    await assigned(store, "c2", "a1")
    score = queue_score(0, T0)
    assert await store.transfer("c2", "a1", "housing", score, reserved_for="a9", until_ms=T0 + 60_000)
    assert await redis.zscore(k.held("a9"), "c2") == score
    assert await redis.hget(k.waiting_counts("housing"), "chat") == b"1"


async def test_an_agent_leaves_the_ready_sets_when_full_away_or_no_longer_serving(
    store: RouterStore, redis: Redis
) -> None:
    k = store.keys
    await agent_on(store, "a1", chat=1, queues=("general", "benefits"))
    await enqueue(store, "c1")
    assert await route(store, "c1") == "a1"
    assert await redis.zscore(k.ready("general", "chat"), "a1") is None  # full on chat
    assert await redis.zscore(k.ready("general", "sms"), "a1") == T0  # still free for SMS
    await agent_on(store, "a1", chat=1, queues=("general",))
    assert await redis.zrange(k.ready("benefits", "sms"), 0, -1) == []
    await agent_on(store, "a1", "away", chat=1)
    assert await redis.zrange(k.ready("general", "sms"), 0, -1) == []


async def test_a_burst_of_routing_from_many_tasks_never_overfills_anyone(store: RouterStore) -> None:
    """30 contacts routed at once by 30 tasks to 4 agents with 3 chat slots: exactly 12 offered, 3 each."""
    for n in range(4):
        await agent_on(store, f"a{n}", now=T0 + n)
    for i in range(30):
        await enqueue(store, f"c{i:02}", enqueued=T0 + i)

    chosen = await asyncio.gather(*(route(store, f"c{i:02}") for i in range(30)))
    assert Counter(a for a in chosen if a) == {"a0": 3, "a1": 3, "a2": 3, "a3": 3}
    assert [await load(store, f"a{n}") for n in range(4)] == [3, 3, 3, 3]
    assert len(await store.waiting("general")) == 18


async def test_a_freed_agent_is_filled_in_one_step_from_their_queues_in_profile_order(store: RouterStore) -> None:
    await enqueue(store, "g1", queue="general", enqueued=T0)
    await enqueue(store, "b1", queue="benefits", enqueued=T0 + 5)
    await enqueue(store, "b2", queue="benefits", enqueued=T0 + 6)
    await agent_on(store, "a1", queues=("benefits", "general"))

    made = await store.route_agent("a1", T0 + 100, DEADLINE)
    assert [(d.contact_id, d.agent_id, c.queue) for d, c in made] == [
        ("b1", "a1", "benefits"),
        ("b2", "a1", "benefits"),
        ("g1", "a1", "general"),
    ]
    assert await store.route_agent("a1", T0 + 100, DEADLINE) == []  # full: nothing more, nothing read


async def test_a_contact_transferred_to_a_named_agent_is_theirs_first_when_they_free_up(store: RouterStore) -> None:
    await agent_on(store, "named", chat=1, queues=("general",))
    await assigned(store, "busy", "named")
    await enqueue(store, "older", queue="housing", enqueued=T0 - 1000)
    await agent_on(store, "other", chat=1, queues=("housing",))
    await assigned(store, "held", "other")
    score = queue_score(0, T0)
    assert await store.transfer("held", "other", "housing", score, reserved_for="named", until_ms=T0 + 60_000)
    # "other" is free again but the transferred chat waits for "named"; "older" goes to "other".
    assert [d.contact_id for d, _ in await store.route_agent("other", T0 + 100, DEADLINE)] == ["older"]
    assert await store.end("busy", "named", T0 + 200) == "OK"
    assert await store.release("busy", "named", T0 + 300)
    made = await store.route_agent("named", T0 + 400, DEADLINE)
    assert [(d.contact_id, d.rule) for d, _ in made] == [("held", "named agent")]  # not a queue they serve


async def test_a_returning_citizen_waits_for_their_previous_agent_for_a_while_then_anyone(store: RouterStore) -> None:
    await agent_on(store, "longest", now=T0 - 5000)
    await agent_on(store, "previous", chat=1)
    c = LiveConversation("back", "general", "chat", "queued", "", T0, "Ann", "en", 0, "previous", T0 + 30_000)
    await store.enqueue(c, 0, queue_score(0, T0))
    routed = await store.route_contact("back", T0 + 100, DEADLINE)
    assert routed is not None and (routed[0].agent_id, routed[0].rule) == ("previous", "previous agent")

    await assigned(store, "other", "longest")  # now "previous" is full: "again" waits for them alone ...
    again = LiveConversation("again", "general", "chat", "queued", "", T0, "Ann", "en", 0, "previous", T0 + 30_000)
    await store.enqueue(again, 0, queue_score(0, T0 + 1))
    waiting = await store.route_contact("again", T0 + 200, DEADLINE)
    assert waiting is not None and waiting[0].agent_id is None
    assert [(s.agent_id, s.reason) for s in waiting[0].skipped] == [("previous", "no free chat slot")]
    assert await store.route_contact("again", T0 + 30_001, DEADLINE + 30_000) is not None  # ... until the time is up
    live = await store.conversation("again")
    assert live is not None and (live.state, live.agent_id) == ("offered", "longest")
