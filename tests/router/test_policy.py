"""The routing decisions are pure: values in, values out, no event loop and no Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from router.model import Agent, Contact, Skipped
from router.policy import (
    choose_agent,
    choose_contact,
    eligible_agents,
    estimated_wait_s,
    queue_score,
    rank_agents,
    skip_reason,
)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
YEAR_2050_MS = int(datetime(2050, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)


def agent(
    agent_id: str,
    idle: int = T0,
    *,
    status: str = "available",
    queues: tuple[str, ...] = ("general",),
    load: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
) -> Agent:
    cap = capacity if capacity is not None else {"voice": 1, "chat": 3, "sms": 5, "email": 5}
    return Agent(agent_id, status, idle, load or {}, cap, frozenset(queues))


def contact(
    contact_id: str,
    *,
    queue: str = "general",
    channel: str = "chat",
    priority: int = 0,
    enqueued: int = T0,
    skip: tuple[str, ...] = (),
) -> Contact:
    return Contact(contact_id, queue, channel, priority, enqueued, frozenset(skip))


# --- queue_score -----------------------------------------------------------------------------------


def test_higher_priority_is_served_before_an_older_lower_priority_contact() -> None:
    urgent_but_new = queue_score(5, T0 + 3_600_000)
    normal_but_old = queue_score(4, T0)
    assert urgent_but_new < normal_but_old


def test_same_priority_is_served_oldest_first() -> None:
    assert queue_score(3, T0) < queue_score(3, T0 + 1)


def test_the_last_priority_band_in_2050_still_sorts_before_the_next_band() -> None:
    # Milliseconds since 2020 must never spill into the next priority's band.
    assert queue_score(1, YEAR_2050_MS) < queue_score(0, T0)


@pytest.mark.parametrize("priority", [-1, 1000])
def test_priority_outside_0_to_999_is_refused(priority: int) -> None:
    with pytest.raises(ValueError, match="0-999"):
        queue_score(priority, T0)


@pytest.mark.parametrize("priority", [0, 999])
def test_scores_stay_exact_as_redis_doubles_in_2050(priority: int) -> None:
    score = queue_score(priority, YEAR_2050_MS)
    assert 0 <= score < 2**53
    assert int(float(score)) == score
    # One millisecond later must still be a different double, or order within a band is lost.
    assert float(queue_score(priority, YEAR_2050_MS + 1)) != float(score)


# --- skip_reason / eligible_agents -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "what", "reason"),
    [
        (agent("a", status="away"), contact("c"), "status away"),
        (agent("a", status="offline"), contact("c"), "status offline"),
        (agent("a", queues=("billing",)), contact("c", queue="general"), "does not serve queue"),
        (agent("a"), contact("c", skip=("a",)), "declined or missed this contact"),
        (agent("a", load={"voice": 1}), contact("c", channel="chat"), "on a call"),
        (agent("a", load={"chat": 3}), contact("c", channel="chat"), "no free chat slot"),
        (agent("a", capacity={"chat": 3}), contact("c", channel="sms"), "no free sms slot"),
        (agent("a", load={"voice": 1}), contact("c", channel="voice"), "no free voice slot"),
    ],
)
def test_an_agent_who_cannot_take_a_contact_gets_the_reason(who: Agent, what: Contact, reason: str) -> None:
    assert skip_reason(who, what) == reason


def test_an_available_agent_with_a_free_slot_can_take_the_contact() -> None:
    assert skip_reason(agent("a", load={"chat": 2}), contact("c", channel="chat")) is None


def test_eligible_agents_splits_the_able_from_the_skipped_with_reasons() -> None:
    agents = [agent("a1"), agent("a2", status="away"), agent("a3", load={"chat": 3}), agent("a4")]
    ok, skipped = eligible_agents(contact("c"), agents)
    assert [a.id for a in ok] == ["a1", "a4"]
    assert skipped == [Skipped("a2", "status away"), Skipped("a3", "no free chat slot")]


# --- rank_agents / choose_agent ------------------------------------------------------------------------


def test_the_longest_idle_agent_ranks_first_and_the_id_breaks_ties() -> None:
    agents = [agent("b", T0 + 10), agent("c", T0), agent("a", T0 + 10), agent("d", T0 + 5)]
    assert [a.id for a in rank_agents(agents)] == ["c", "d", "a", "b"]


def test_choose_agent_explains_who_was_chosen_who_ranked_and_who_was_skipped() -> None:
    agents = [
        agent("recent", T0 + 500),
        agent("longest", T0),
        agent("away", T0 - 1_000, status="away"),
        agent("decliner", T0 - 2_000),
        agent("caller", T0 - 3_000, load={"voice": 1}),
    ]
    decision = choose_agent(contact("c", skip=("decliner",)), agents)
    assert decision.contact_id == "c"
    assert decision.agent_id == "longest"
    assert decision.ranked == ("longest", "recent")
    assert decision.skipped == (
        Skipped("away", "status away"),
        Skipped("decliner", "declined or missed this contact"),
        Skipped("caller", "on a call"),
    )
    assert decision.rule == "longest-idle"


def test_choose_agent_picks_nobody_when_no_agent_is_eligible() -> None:
    decision = choose_agent(contact("c"), [agent("a", status="away"), agent("b", queues=("billing",))])
    assert decision.agent_id is None
    assert decision.ranked == ()
    assert [s.agent_id for s in decision.skipped] == ["a", "b"]


# --- choose_contact ------------------------------------------------------------------------------------


def test_a_free_agent_gets_the_highest_priority_contact_across_their_queues() -> None:
    me = agent("me", queues=("general", "billing"))
    waiting = [
        contact("old-general", queue="general", enqueued=T0),
        contact("urgent-billing", queue="billing", priority=2, enqueued=T0 + 9_000),
        contact("new-general", queue="general", enqueued=T0 + 5_000),
    ]
    chosen = choose_contact(me, waiting)
    assert chosen is not None and chosen.id == "urgent-billing"


def test_a_free_agent_gets_the_oldest_contact_when_priorities_are_equal() -> None:
    me = agent("me", queues=("general", "billing"))
    waiting = [
        contact("newer", queue="general", enqueued=T0 + 2),
        contact("oldest", queue="billing", enqueued=T0),
        contact("middle", queue="general", enqueued=T0 + 1),
    ]
    chosen = choose_contact(me, waiting)
    assert chosen is not None and chosen.id == "oldest"


def test_a_free_agent_is_not_given_a_contact_they_declined_or_cannot_take() -> None:
    me = agent("me", queues=("general",))
    waiting = [
        contact("declined", enqueued=T0, skip=("me",)),
        contact("other-queue", queue="billing", enqueued=T0 + 1),
        contact("mine", enqueued=T0 + 2),
    ]
    chosen = choose_contact(me, waiting)
    assert chosen is not None and chosen.id == "mine"
    assert choose_contact(me, waiting[:2]) is None


# --- estimated_wait_s ------------------------------------------------------------------------------------


def test_no_wait_estimate_when_nobody_serves_the_queue() -> None:
    assert estimated_wait_s(1, 0, 180.0, 3) is None
    assert estimated_wait_s(1, 2, 180.0, 0) is None


def test_the_estimate_grows_with_position_in_the_queue() -> None:
    waits = [estimated_wait_s(p, 1, 300.0, 3) for p in (1, 2, 6)]
    assert waits == [100, 200, 600]


def test_the_estimate_shrinks_with_more_agents_serving() -> None:
    one, two, four = (estimated_wait_s(4, n, 300.0, 3) for n in (1, 2, 4))
    assert one == 400 and two == 200 and four == 100


def _agent(agent_id: str, idle: int, load: int = 0, level: int = 1) -> Agent:
    return Agent(agent_id, "available", idle, {"chat": load}, {"chat": 3}, frozenset({"q"}), levels={"q": level})


def test_each_strategy_orders_the_same_agents_its_own_way() -> None:
    a = _agent("1", idle=300, load=2, level=2)
    b = _agent("2", idle=100, load=1, level=5)
    c = _agent("3", idle=200, load=0, level=5)
    ids = lambda agents: [x.id for x in agents]  # noqa: E731
    assert ids(rank_agents([a, b, c], "longest-idle", "q")) == ["2", "3", "1"]
    assert ids(rank_agents([a, b, c], "fewest-active", "q")) == ["3", "2", "1"]
    assert ids(rank_agents([a, b, c], "most-skilled", "q")) == ["2", "3", "1"]  # a tie broken by longest idle
    assert ids(rank_agents([a, b, c], "round-robin", "q", last="")) == ["1", "2", "3"]
    assert ids(rank_agents([a, b, c], "round-robin", "q", last="2")) == ["3", "1", "2"]
    assert ids(rank_agents([a, b, c], "round-robin", "q", last="3")) == ["1", "2", "3"]


def test_round_robin_walks_numeric_ids_as_numbers() -> None:
    agents = [_agent(i, idle=0) for i in ("9", "10", "11")]
    assert [x.id for x in rank_agents(agents, "round-robin", "q", last="9")] == ["10", "11", "9"]


def test_the_decision_names_the_strategy_that_decided() -> None:
    contact = Contact("c", "q", "chat")
    decision = choose_agent(contact, [_agent("1", 5), _agent("2", 1)], strategy="fewest-active")
    assert decision.rule == "fewest-active" and decision.agent_id == "2"


def test_a_contact_reserved_for_a_named_agent_waits_for_them_until_the_reservation_ends() -> None:
    contact = Contact("c", "q", "chat", reserved_for="2", reserved_until_ms=1_000)
    one, two = _agent("1", 0), _agent("2", 50)
    early = choose_agent(contact, [one], now_ms=999)
    assert early.agent_id is None and [(s.agent_id, s.reason) for s in early.skipped] == [("1", "reserved for agent 2")]
    assert choose_agent(contact, [one, two], now_ms=999).rule == "named agent"
    assert choose_agent(contact, [one], now_ms=1_000).agent_id == "1"


def test_an_agent_whose_profile_puts_a_queue_first_takes_it_first() -> None:
    agent = Agent("a", "available", 0, {}, {"chat": 3}, frozenset({"x", "y"}), queue_order=("y", "x"))
    old_x = Contact("old", "x", "chat", priority=5, enqueued_ms=1)
    new_y = Contact("new", "y", "chat", priority=0, enqueued_ms=1_000_000)
    assert choose_contact(agent, [old_x, new_y]) == new_y


def test_a_voice_call_blocks_other_work_only_for_agents_whose_rule_says_so() -> None:
    on_call = Agent("a", "available", 0, {"voice": 1}, {"voice": 1, "chat": 3}, frozenset({"q"}))
    relaxed = Agent("b", "available", 0, {"voice": 1}, {"voice": 1, "chat": 3}, frozenset({"q"}), voice_exclusive=False)
    chat = Contact("c", "q", "chat")
    assert skip_reason(on_call, chat) == "on a call" and skip_reason(relaxed, chat) is None
