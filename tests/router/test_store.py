"""RouterStore against a real Redis: every change runs the real Lua script, atomically."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from router.model import Contact, Profile
from router.policy import queue_score
from router.store import LiveConversation, RouterStore

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
DEADLINE = T0 + 30_000
CAPACITY = {"voice": 1, "chat": 3, "sms": 5, "email": 5}


@pytest.fixture
def store(redis: Redis, tenant: str) -> RouterStore:
    return RouterStore(redis, tenant)


def live(cid: str, queue: str = "general", enqueued: int = T0, channel: str = "chat") -> LiveConversation:
    return LiveConversation(cid, queue, channel, "queued", "", enqueued, "Ann", "en")


async def enqueue(
    store: RouterStore,
    cid: str,
    *,
    queue: str = "general",
    enqueued: int = T0,
    channel: str = "chat",
    priority: int = 0,
) -> int:
    return await store.enqueue(live(cid, queue, enqueued, channel), priority, queue_score(priority, enqueued))


async def agent_on(
    store: RouterStore,
    agent_id: str,
    status: str = "available",
    *,
    now: int = T0,
    queues: tuple[str, ...] = ("general",),
    chat: int = 3,
) -> str:
    profile = Profile(tuple(queues), {**CAPACITY, "chat": chat})
    return await store.set_status(agent_id, status, now, profile, name=agent_id.upper())


async def offer(
    store: RouterStore,
    cid: str,
    agent_id: str,
    *,
    queue: str = "general",
    channel: str = "chat",
    deadline: int = DEADLINE,
) -> str:
    return await store.offer(Contact(cid, queue, channel), agent_id, deadline)


async def load(store: RouterStore, agent_id: str, channel: str = "chat") -> int | None:
    found = await store.agent(agent_id)
    return None if found is None else found.load.get(channel, 0)


async def offers(store: RouterStore) -> list[tuple[str, float]]:
    return [(k.decode(), s) for k, s in await store.redis.zrange(store.keys.offers(), 0, -1, withscores=True)]


async def assigned(store: RouterStore, cid: str, agent_id: str, **kw: Any) -> None:
    await enqueue(store, cid, **kw)
    assert await offer(store, cid, agent_id) == "OK"
    assert await store.accept(cid, agent_id, T0 + 1)


# --- enqueue -----------------------------------------------------------------------------------------


async def test_contacts_are_queued_in_arrival_order(store: RouterStore) -> None:
    positions = [await enqueue(store, f"c{i}", enqueued=T0 + i) for i in (1, 2, 3)]
    assert positions == [1, 2, 3]
    assert await store.waiting("general") == ["c1", "c2", "c3"]


async def test_a_conversation_queued_twice_keeps_its_one_place(store: RouterStore) -> None:
    assert await enqueue(store, "c1", enqueued=T0) == 1
    assert await enqueue(store, "c2", enqueued=T0 + 1) == 2
    assert await enqueue(store, "c1", enqueued=T0 + 5) == 0
    assert await store.waiting("general") == ["c1", "c2"]
    again = await store.conversation("c1")
    assert again is not None and again.enqueued_ms == T0


# --- offer -------------------------------------------------------------------------------------------


async def test_an_offer_takes_the_contact_out_of_the_queue_and_reserves_a_slot(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await enqueue(store, "c1")
    await enqueue(store, "c2", enqueued=T0 + 1)
    assert await offer(store, "c1", "a1") == "OK"
    assert await store.waiting("general") == ["c2"]
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("offered", "a1")
    assert await load(store, "a1") == 1
    assert await offers(store) == [("c1", DEADLINE)]
    assert await store.offers_of("a1") == ["c1"]


async def _already_offered_elsewhere(store: RouterStore) -> None:
    await agent_on(store, "a2")
    assert await offer(store, "c", "a2") == "OK"


async def _agent_away(store: RouterStore) -> None:
    await agent_on(store, "a1", "away")


async def _agent_full(store: RouterStore) -> None:
    await agent_on(store, "a1", chat=1)
    await enqueue(store, "held", enqueued=T0 - 1)
    assert await offer(store, "held", "a1") == "OK"


async def _agent_on_a_call(store: RouterStore) -> None:
    await enqueue(store, "call", channel="voice", enqueued=T0 - 1)
    assert await offer(store, "call", "a1", channel="voice") == "OK"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_already_offered_elsewhere, "contact_gone"),
        (_agent_away, "agent_unavailable"),
        (_agent_full, "agent_full"),
        (_agent_on_a_call, "agent_on_call"),
    ],
)
async def test_a_refused_offer_says_why_and_changes_nothing(
    store: RouterStore, setup: Callable[[RouterStore], Awaitable[None]], reason: str
) -> None:
    await agent_on(store, "a1")
    await enqueue(store, "c")
    await enqueue(store, "later", enqueued=T0 + 1)
    await setup(store)

    async def snapshot() -> Any:
        a1 = await store.agent("a1")
        return (
            await store.waiting("general"),
            a1 and dict(a1.load),
            await load(store, "a2"),
            await offers(store),
            await store.conversation("c"),
        )

    before = await snapshot()
    assert await offer(store, "c", "a1") == reason
    assert await snapshot() == before


async def test_an_offer_of_a_conversation_never_queued_is_refused(store: RouterStore) -> None:
    await agent_on(store, "a1")
    assert await offer(store, "ghost", "a1") == "contact_gone"
    assert await load(store, "a1") == 0 and await offers(store) == []


# --- accept ------------------------------------------------------------------------------------------


async def test_only_the_offered_agent_can_accept(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await agent_on(store, "a2")
    await enqueue(store, "c1")
    assert await offer(store, "c1", "a1") == "OK"

    assert not await store.accept("c1", "a2", T0 + 5)
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("offered", "a1")
    assert await offers(store) == [("c1", DEADLINE)]
    assert await load(store, "a2") == 0

    assert await store.accept("c1", "a1", T0 + 5)
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("assigned", "a1")
    assert await offers(store) == []
    assert await load(store, "a1") == 1
    assert not await store.accept("c1", "a1", T0 + 6)


# --- requeue (decline or timeout) -------------------------------------------------------------------


async def test_a_declined_contact_goes_back_to_its_original_place(store: RouterStore) -> None:
    await agent_on(store, "a1")
    for i in (1, 2, 3):
        await enqueue(store, f"c{i}", enqueued=T0 + i)
    assert await offer(store, "c1", "a1") == "OK"
    await enqueue(store, "c4", enqueued=T0 + 4)

    assert not await store.requeue("c1", "a2", "general", 60_000)
    assert await store.requeue("c1", "a1", "general", 60_000)
    assert await store.waiting("general") == ["c1", "c2", "c3", "c4"]
    assert await load(store, "a1") == 0
    assert await offers(store) == []
    contact = await store.contact("c1")
    assert contact is not None and contact.skip == frozenset({"a1"})
    assert 0 < await store.redis.pttl(store.keys.skip("c1")) <= 60_000
    assert not await store.requeue("c1", "a1", "general", 60_000)


# --- due_offers --------------------------------------------------------------------------------------


async def test_due_offers_leases_only_offers_past_their_deadline(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await enqueue(store, "c1")
    await enqueue(store, "c2", enqueued=T0 + 1)
    assert await offer(store, "c1", "a1", deadline=T0 + 30_000) == "OK"
    assert await offer(store, "c2", "a1", deadline=T0 + 60_000) == "OK"

    assert await store.due_offers(T0 + 29_999, lease_ms=5_000) == []
    assert await store.due_offers(T0 + 45_000, lease_ms=5_000) == ["c1"]
    assert await store.due_offers(T0 + 45_001, lease_ms=5_000) == []
    assert await store.due_offers(T0 + 50_000, lease_ms=5_000) == ["c1"]
    assert await store.due_offers(T0 + 54_999, lease_ms=5_000) == []
    assert sorted(await store.due_offers(T0 + 60_000, lease_ms=5_000)) == ["c1", "c2"]


# --- end, release --------------------------------------------------------------------------------------


async def test_ending_moves_to_wrapup_and_keeps_the_slot(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await assigned(store, "c1", "a1")
    assert await store.end("c1", "a2", T0 + 10) == "not_yours"
    assert await store.end("c1", "a1", T0 + 10) == "OK"
    conv = await store.conversation("c1")
    assert conv is not None and conv.state == "wrapup"
    assert await load(store, "a1") == 1
    assert await store.end("c1", "", T0 + 11) == "wrapup"


async def test_release_frees_the_slot_and_idles_the_agent_only_when_free(store: RouterStore) -> None:
    await agent_on(store, "a1", now=T0)
    await assigned(store, "c1", "a1")
    await assigned(store, "c2", "a1", enqueued=T0 + 1)
    assert await store.end("c1", "a1", T0 + 50) == "OK"

    assert not await store.release("c1", "a2", T0 + 100)
    assert await store.release("c1", "a1", T0 + 100)
    a1 = await store.agent("a1")
    assert a1 is not None and a1.load["chat"] == 1 and a1.idle_since_ms == T0
    assert await store.conversation("c1") is None

    assert await store.release("c2", "a1", T0 + 200)
    a1 = await store.agent("a1")
    assert a1 is not None and a1.load["chat"] == 0 and a1.idle_since_ms == T0 + 200


# --- abandon -----------------------------------------------------------------------------------------


async def test_a_queued_contact_who_leaves_is_removed_from_the_queue(store: RouterStore) -> None:
    await enqueue(store, "c1")
    await enqueue(store, "c2", enqueued=T0 + 1)
    assert await store.abandon("c1", T0 + 10) == ("queued", "")
    assert await store.waiting("general") == ["c2"]
    assert await store.conversation("c1") is None
    assert await store.abandon("c1", T0 + 11) == ("gone", "")


async def test_an_offered_contact_who_leaves_frees_the_slot_and_withdraws_the_offer(
    store: RouterStore,
) -> None:
    await agent_on(store, "a1")
    await enqueue(store, "c1")
    assert await offer(store, "c1", "a1") == "OK"
    assert await store.requeue("c1", "a1", "general", 60_000)
    await agent_on(store, "a2")
    assert await offer(store, "c1", "a2") == "OK"

    assert await store.abandon("c1", T0 + 10) == ("offered", "a2")
    assert await load(store, "a2") == 0
    assert await offers(store) == [] and await store.offers_of("a2") == []
    assert await store.conversation("c1") is None
    assert not await store.redis.exists(store.keys.skip("c1"))


async def test_an_assigned_contact_who_leaves_puts_the_agent_in_wrapup(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await assigned(store, "c1", "a1")
    assert await store.abandon("c1", T0 + 10) == ("assigned", "a1")
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("wrapup", "a1")
    assert await load(store, "a1") == 1


# --- transfer ----------------------------------------------------------------------------------------


async def test_a_transferred_contact_joins_the_other_queue_by_its_arrival_time(store: RouterStore) -> None:
    await agent_on(store, "a1")
    await enqueue(store, "b1", queue="billing", enqueued=T0)
    await assigned(store, "c1", "a1", enqueued=T0 + 1_000)
    await enqueue(store, "b2", queue="billing", enqueued=T0 + 2_000)

    score = queue_score(0, T0 + 1_000)
    assert not await store.transfer("c1", "a2", "billing", score)
    assert await store.transfer("c1", "a1", "billing", score)
    assert await store.waiting("billing") == ["b1", "c1", "b2"]
    assert await store.waiting("general") == []
    conv = await store.conversation("c1")
    assert conv is not None and (conv.queue, conv.state, conv.agent_id) == ("billing", "queued", "")
    assert await load(store, "a1") == 0


# --- set_status --------------------------------------------------------------------------------------


async def members(store: RouterStore, queue: str) -> set[str]:
    return {m.decode() for m in await store.redis.smembers(store.keys.serving(queue))}


async def test_agent_status_keeps_the_serving_sets_and_the_agent_list(store: RouterStore) -> None:
    r = store.redis
    both = ("billing", "general")
    assert await agent_on(store, "a1", now=T0, queues=both) == "offline"
    assert await members(store, "general") == {"a1"} and await members(store, "billing") == {"a1"}
    assert await r.zscore(store.keys.agents(), "a1") == T0

    assert await agent_on(store, "a1", "away", now=T0 + 10, queues=both) == "available"
    assert await members(store, "general") == {"a1"}
    assert await r.zscore(store.keys.agents(), "a1") == T0 + 10
    assert [a.id for a in await store.all_agents()] == ["a1"]

    assert await agent_on(store, "a1", "offline", now=T0 + 20, queues=both) == "away"
    assert await members(store, "general") == set() and await members(store, "billing") == set()
    assert await r.zscore(store.keys.agents(), "a1") is None
    assert await store.all_agents() == []


async def test_an_agent_who_stops_serving_a_queue_is_no_longer_listed_for_it(store: RouterStore) -> None:
    await agent_on(store, "a1", queues=("billing", "general"))
    await agent_on(store, "a1", queues=("general",))
    await agent_on(store, "a1", "offline", queues=("general",))
    assert await store.agents_serving("billing") == []


# --- capacity under concurrency ----------------------------------------------------------------------


async def test_concurrent_offers_never_overrun_an_agents_capacity(store: RouterStore) -> None:
    await agent_on(store, "a1", chat=3)
    for i in range(20):
        await enqueue(store, f"c{i:02}", enqueued=T0 + i)

    outcomes = await asyncio.gather(*(offer(store, f"c{i:02}", "a1") for i in range(20)))
    assert outcomes.count("OK") == 3
    assert outcomes.count("agent_full") == 17
    assert await load(store, "a1") == 3
    assert len(await store.waiting("general")) == 17
    assert len(await store.offers_of("a1")) == 3


async def test_one_contact_offered_to_ten_agents_at_once_goes_to_exactly_one(store: RouterStore) -> None:
    agents = [f"a{i}" for i in range(10)]
    for a in agents:
        await agent_on(store, a)
    await enqueue(store, "c1")

    outcomes = await asyncio.gather(*(offer(store, "c1", a) for a in agents))
    assert outcomes.count("OK") == 1
    assert outcomes.count("contact_gone") == 9
    winner = agents[outcomes.index("OK")]
    assert [await load(store, a) for a in agents] == [int(a == winner) for a in agents]
    conv = await store.conversation("c1")
    assert conv is not None and conv.agent_id == winner
    assert await store.waiting("general") == []


async def test_a_rebuild_that_read_a_conversation_before_it_left_routing_does_not_bring_it_back(
    store: RouterStore,
) -> None:
    """A rebuild reads the live conversations from PostgreSQL, then restores those Redis lacks: one that
    closed (or whose citizen left) in between must stay gone, not be queued and offered again."""
    await agent_on(store, "a1")
    await assigned(store, "c1", "a1")
    await enqueue(store, "c2", enqueued=T0 + 5)
    read_by_rebuild = [live("c1", "general", T0, "chat"), live("c2", "general", T0 + 5, "chat")]
    await store.end("c1", "a1", T0 + 10, T0 + 60_000)
    assert await store.release("c1", "a1", T0 + 20)
    await store.abandon("c2", T0 + 21, T0 + 60_000)
    assert [await store.restore(c, 0, queue_score(0, c.enqueued_ms)) for c in read_by_rebuild] == [False, False]
    assert await store.waiting("general") == [] and await store.conversation("c1") is None
    # Opened again (a reply to a closed email): queued as new.
    assert await enqueue(store, "c1", enqueued=T0 + 30) == 1
