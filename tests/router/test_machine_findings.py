"""The failures the routing state machine found (since fixed), replayed deterministically."""

from __future__ import annotations

from redis.asyncio import Redis

from router.model import DEFAULT_CAPACITY, Profile
from router.service import RouterService
from router.store import RouterStore
from tests.router.ledger import CONFIG, T0, TIMEOUT_MS, Conv, Ledger


async def _desk(redis: Redis, tenant: str, chats: dict[str, int]) -> tuple[RouterService, Ledger, list[int]]:
    """Agents serving q0 with these chat capacities, available in this order; one who misses too many is set away."""
    clock = [T0]

    async def status(agent_id: str, value: str) -> None:
        capacity = {**DEFAULT_CAPACITY, "chat": chats[agent_id]}
        await router.set_status(agent_id, value, Profile(("q0",), capacity), name=agent_id)

    ledger = Ledger(clock, lambda agent_id: status(agent_id, "away"))
    router = RouterService(RouterStore(redis, tenant), ledger, CONFIG, lambda: clock[0])
    for agent_id in chats:
        await status(agent_id, "available")
    return router, ledger, clock


async def _arrive(router: RouterService, ledger: Ledger, clock: list[int], *ids: str) -> None:
    for cid in ids:
        clock[0] += 1000
        conv = ledger.convs[cid] = Conv(cid, "q0", 0, clock[0])
        await router.arrive(conv.live())


async def test_a_contact_behind_declined_ones_is_offered_to_the_free_agent(redis: Redis, tenant: str) -> None:
    """Invariant 3. Found when dispatch_agent read only the first 5 of a queue and route_waiting the first 3:
    the contacts a free agent had declined, kept at the head, hid one they could take."""
    router, ledger, clock = await _desk(redis, tenant, {"a1": 1})
    for n in range(5):
        await _arrive(router, ledger, clock, f"declined{n}")
        assert await router.reject(f"declined{n}", "a1")
    await _arrive(router, ledger, clock, "taken", "late")
    assert await router.accept("taken", "a1")
    assert await router.end("taken", "a1") == "OK"
    assert await router.release("taken", "a1")
    await router.route_waiting(["q0"])

    late = await router.store.conversation("late")
    assert late is not None and (late.state, late.agent_id) == ("offered", "a1")


async def test_a_fresh_re_offer_is_not_timed_out_with_the_offer_it_replaced(redis: Redis, tenant: str) -> None:
    """Invariant 5. Found when expire_offers requeued whatever offer a leased id held when its turn came: one
    withdrawn meanwhile (its agent set away for missed offers) and re-offered timed out at once."""
    router, ledger, clock = await _desk(redis, tenant, {"a1": 3})
    await _arrive(router, ledger, clock, "c1", "c2")
    clock[0] += TIMEOUT_MS + 1000
    assert await router.expire_offers() == 2  # a1 missed two in a row
    assert [await router.abandon(cid) for cid in ("c1", "c2")] == [("queued", "")] * 2
    await _arrive(router, ledger, clock, "c3", "c4")
    await router.set_status("a2", "available", Profile(("q0",), {**DEFAULT_CAPACITY, "chat": 2}), name="a2")
    clock[0] += TIMEOUT_MS + 1000
    # c3 is a1's third miss and goes on to a2; a1 is set away, so c4 is withdrawn and offered to a2 as well.
    await router.expire_offers()

    c4 = await router.store.conversation("c4")
    assert c4 is not None and (c4.state, c4.agent_id) == ("offered", "a2")
    assert [o.endings for o in ledger.offers if (o.conv, o.agent) == ("c4", "a2")] == [[]]
