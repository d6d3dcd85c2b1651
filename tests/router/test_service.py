"""RouterService on a real Redis: who is offered what, and when, as a console would see it."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from redis.asyncio import Redis

from router.escalation import parse_steps
from router.model import Contact, Decision, Profile
from router.policy import queue_score
from router.service import Listener, RouterConfig, RouterService
from router.store import LiveConversation, RouterStore

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
CAPACITY = {"voice": 1, "chat": 3, "sms": 5, "email": 5}


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


class Recorder(Listener):
    """A listener that keeps what the router told it."""

    def __init__(self) -> None:
        self.offers: list[tuple[str, str]] = []
        self.decisions: list[Decision] = []
        self.timeouts: list[float] = []
        self.expired: list[tuple[str, str]] = []
        self.reasons: list[str] = []
        self.queues: list[str] = []
        self.missed: list[tuple[str, int]] = []
        self.wrapups_expired: list[tuple[str, str]] = []

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        self.offers.append((contact.id, agent_id))
        self.decisions.append(decision)
        self.timeouts.append(expires_in_s)

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None:
        self.expired.append((conversation_id, agent_id))
        self.reasons.append(reason)

    async def changed(self, queue: str) -> None:
        self.queues.append(queue)

    async def agent_missed(self, agent_id: str, missed: int) -> None:
        self.missed.append((agent_id, missed))

    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None:
        self.wrapups_expired.append((conversation_id, agent_id))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def heard() -> Recorder:
    return Recorder()


@pytest.fixture
def store(redis: Redis, tenant: str) -> RouterStore:
    return RouterStore(redis, tenant)


@pytest.fixture
def router(store: RouterStore, heard: Recorder, clock: Clock) -> RouterService:
    return RouterService(store, heard, RouterConfig(), clock)


def live(cid: str, queue: str = "general", enqueued: int = T0, priority: int = 0) -> LiveConversation:
    return LiveConversation(cid, queue, "chat", "queued", "", enqueued, "Ann", "en", priority)


async def arrive(router: RouterService, clock: Clock, cid: str, queue: str = "general", priority: int = 0) -> int:
    return await router.arrive(live(cid, queue, clock(), priority))


async def status(
    router: RouterService,
    agent_id: str,
    value: str = "available",
    *,
    queues: Iterable[str] = ("general",),
    chat: int = 3,
) -> None:
    profile = Profile(tuple(queues), {**CAPACITY, "chat": chat})
    await router.set_status(agent_id, value, profile, name=agent_id.upper())


async def chat_load(store: RouterStore, agent_id: str) -> int:
    agent = await store.agent(agent_id)
    assert agent is not None
    return agent.load["chat"]


async def test_an_arrival_is_offered_to_the_longest_idle_agent(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a0", "away")
    await status(router, "a2")
    clock.advance(5)
    await status(router, "a1")
    clock.advance(5)

    assert await arrive(router, clock, "c1") == 0
    assert heard.offers == [("c1", "a2")]
    assert heard.decisions[0].ranked == ("a2", "a1")
    # An offer names whom it passed over for this contact; agents not free (a0, away) are counted.
    assert heard.decisions[0].skipped == () and heard.decisions[0].unlisted == 1
    assert heard.timeouts == [30.0]
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("offered", "a2")
    assert await chat_load(store, "a2") == 1 and await chat_load(store, "a1") == 0


async def test_an_agent_going_available_is_served_in_their_profile_order_then_longest_waiting(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    assert await arrive(router, clock, "old") == 1
    clock.advance(1)
    assert await arrive(router, clock, "middle") == 2
    clock.advance(1)
    assert await arrive(router, clock, "urgent", queue="billing", priority=3) == 1
    clock.advance(1)
    await arrive(router, clock, "other-queue", queue="complaints")
    assert heard.offers == []

    # a1's routing profile serves billing first, then general.
    await status(router, "a1", queues=("billing", "general"), chat=2)
    assert heard.offers == [("urgent", "a1"), ("old", "a1")]
    assert await store.waiting("general") == ["middle"]
    assert await store.waiting("complaints") == ["other-queue"]

    # a2 serves general first: the older general contact beats billing's urgent one.
    await arrive(router, clock, "urgent-2", queue="billing", priority=9)
    await status(router, "a2", queues=("general", "billing"), chat=1)
    assert heard.offers[-1] == ("middle", "a2")


async def test_a_declined_contact_goes_to_the_next_agent_and_never_back_to_the_decliner(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a2")
    clock.advance(1)
    await status(router, "a1")
    await arrive(router, clock, "c1")
    assert heard.offers == [("c1", "a2")]

    assert not await router.reject("c1", "a1")
    assert await router.reject("c1", "a2")
    assert heard.offers == [("c1", "a2"), ("c1", "a1")]
    assert await chat_load(store, "a2") == 0

    assert await router.reject("c1", "a1")
    assert await store.waiting("general") == ["c1"]
    assert await router.route_waiting(["general"]) == 0
    assert heard.offers == [("c1", "a2"), ("c1", "a1")]


async def test_a_missed_offer_expires_and_the_contact_keeps_its_place_for_the_next_agent(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a2", chat=1)
    await arrive(router, clock, "c1")
    clock.advance(1)
    await arrive(router, clock, "c2")
    clock.advance(1)
    await arrive(router, clock, "c3")
    assert heard.offers == [("c1", "a2")]

    clock.advance(27)
    assert await router.expire_offers() == 0
    clock.advance(2)
    assert await router.expire_offers() == 1
    assert heard.expired == [("c1", "a2")] and heard.reasons == ["timeout"]
    # a2 missed c1, so they get the next contact; c1 waits first in line, ahead of c3.
    assert heard.offers[1:] == [("c2", "a2")]
    assert await store.waiting("general") == ["c1", "c3"]

    await status(router, "a1", chat=1)
    assert heard.offers[2:] == [("c1", "a1")]
    assert await store.waiting("general") == ["c3"]


async def test_going_away_withdraws_the_pending_offers(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1")
    await arrive(router, clock, "c1")
    assert heard.offers == [("c1", "a1")]

    await status(router, "a1", "away")
    assert heard.expired == [("c1", "a1")] and heard.reasons == ["away"]
    assert await store.offers_of("a1") == []
    assert await chat_load(store, "a1") == 0
    assert await store.waiting("general") == ["c1"]
    assert not await router.accept("c1", "a1")

    await status(router, "a2")
    assert heard.offers == [("c1", "a1"), ("c1", "a2")]


async def test_route_waiting_offers_a_contact_left_waiting_beside_a_free_agent(
    router: RouterService, store: RouterStore, heard: Recorder
) -> None:
    await status(router, "a1")
    await store.enqueue(live("c1"), 0, queue_score(0, T0))
    assert heard.offers == []
    assert await store.waiting("general") == ["c1"]

    assert await router.route_waiting(["general"]) == 1
    assert heard.offers == [("c1", "a1")]
    assert await store.waiting("general") == []


async def delete_tenant_keys(store: RouterStore) -> int:
    """Empty this tenant's routing state only (the Redis server is shared with other tests)."""
    doomed = [key async for key in store.redis.scan_iter(match=f"{store.keys.prefix}:*", count=500)]
    if doomed:
        await store.redis.delete(*doomed)
    return len(doomed)


async def test_restore_rebuilds_queued_and_assigned_conversations_after_redis_was_emptied(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1", chat=1)
    await arrive(router, clock, "c1")
    assert await router.accept("c1", "a1")
    clock.advance(1)
    await arrive(router, clock, "c2")
    clock.advance(1)
    await arrive(router, clock, "c3")
    saved = [await store.conversation(c) for c in ("c1", "c2", "c3")]
    lives = [c for c in saved if c is not None]
    assert [(c.state, c.agent_id) for c in lives] == [("assigned", "a1"), ("queued", ""), ("queued", "")]

    assert await delete_tenant_keys(store) > 0
    assert await store.conversation("c1") is None and await store.agent("a1") is None
    assert not await store.is_built()

    assert sorted(await router.restore(lives)) == sorted(c.id for c in lives)
    assert await router.restore(lives) == []
    assert await store.is_built()
    assert await store.waiting("general") == ["c2", "c3"]
    conv = await store.conversation("c1")
    assert conv is not None and (conv.state, conv.agent_id) == ("assigned", "a1")

    offers_before = list(heard.offers)
    await status(router, "a1", chat=1)
    assert await chat_load(store, "a1") == 1
    assert heard.offers == offers_before
    await status(router, "a2", chat=1)
    assert heard.offers[len(offers_before) :] == [("c2", "a2")]


async def test_a_priority_contact_keeps_its_priority_when_transferred(
    router: RouterService, store: RouterStore, clock: Clock
) -> None:
    await arrive(router, clock, "b1", queue="billing")
    clock.advance(1)
    await status(router, "a1")
    await arrive(router, clock, "urgent", priority=5)
    assert await router.accept("urgent", "a1")

    assert await router.transfer("urgent", "a1", "billing")
    waiting = await store.contact("urgent")
    assert waiting is not None and waiting.priority == 5
    assert await store.waiting("billing") == ["urgent", "b1"]


async def test_three_missed_offers_in_a_row_are_reported_and_no_more_are_offered(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1", chat=1)
    for n in range(4):
        await arrive(router, clock, f"c{n}")
    for expected in (1, 2):
        clock.advance(31)
        assert await router.expire_offers() == 1
        assert heard.missed == [] and len(heard.offers) == expected + 1  # offered the next one
    clock.advance(31)
    assert await router.expire_offers() == 1
    assert heard.missed == [("a1", 3)]
    assert len(heard.offers) == 3  # not offered a fourth: the service is about to set them away
    assert await chat_load(store, "a1") == 0


async def test_an_accepted_offer_starts_the_count_of_missed_offers_again(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1", chat=1)
    for n in range(5):
        await arrive(router, clock, f"c{n}")
    for _ in range(2):
        clock.advance(31)
        await router.expire_offers()
    offered_now = heard.offers[-1][0]
    assert await router.accept(offered_now, "a1")
    await router.release(offered_now, "a1")
    for _ in range(2):
        clock.advance(31)
        await router.expire_offers()
    assert heard.missed == []


async def test_a_wrap_up_left_too_long_frees_the_slot_by_itself(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1", chat=1)
    await arrive(router, clock, "c1")
    await arrive(router, clock, "c2")
    assert await router.accept("c1", "a1")
    assert await router.end("c1", "a1") == "OK"
    clock.advance(59)
    assert await router.expire_wrapups() == 0 and await chat_load(store, "a1") == 1
    clock.advance(2)
    assert await router.expire_wrapups() == 1
    assert heard.wrapups_expired == [("c1", "a1")]
    assert heard.offers[-1] == ("c2", "a1")  # the freed slot takes the next contact
    assert not await router.release("c1", "a1")  # a late "wrap-up done" changes nothing


async def test_wrap_up_done_in_time_is_not_expired_later(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    await status(router, "a1", chat=1)
    await arrive(router, clock, "c1")
    assert await router.accept("c1", "a1")
    await router.end("c1", "a1")
    assert await router.release("c1", "a1")
    clock.advance(120)
    assert await router.expire_wrapups() == 0 and heard.wrapups_expired == []


async def test_an_escalated_contact_overflows_to_another_queue_and_moves_up(
    router: RouterService, store: RouterStore, heard: Recorder, clock: Clock
) -> None:
    router.escalations = {"billing": parse_steps([{"after_s": 60, "raise_priority": 10, "overflow": ["general"]}])}
    await arrive(router, clock, "b1", queue="billing")
    clock.advance(30)
    await arrive(router, clock, "b2", queue="billing", priority=5)
    await status(router, "g1", queues=("general",), chat=1)  # serves general only
    assert heard.offers == [] and await store.waiting("billing") == ["b2", "b1"]
    clock.advance(31)
    assert await router.escalate() == 1  # b1 has waited 61 s, b2 only 31 s
    assert heard.offers == [("b1", "g1")]
    contact = await store.conversation("b1")
    assert contact is not None and contact.priority == 10
    clock.advance(30)
    assert await router.escalate() == 1
    assert (await store.conversation("b2")).priority == 15  # type: ignore[union-attr]
    assert await router.escalate() == 0  # each step is taken once
