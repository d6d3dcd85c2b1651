"""The queue board over its WebSocket: what a supervisor is shown, within a second of a change."""

from __future__ import annotations

import time

from tests.conftest import LiveServer
from tests.helpers import UNIT, typed


def queue(snapshot: dict[str, object], name: str) -> dict[str, object]:
    return next(q for q in snapshot["queues"] if q["name"] == name)  # type: ignore[attr-defined,index]


async def test_the_board_follows_a_chat_from_arrival_to_wrap_up(server: LiveServer) -> None:
    sup = await server.board()
    t0 = time.monotonic()
    _citizen, queued = await server.citizen("benefits", "Ann")
    # The waiting count follows at the next tick; the day's figures (from PostgreSQL) within half a second.
    snap = await sup.expect(
        lambda f: (
            f.get("type") == "board.snapshot"
            and queue(f, "benefits")["waiting"] == 1
            and queue(f, "benefits")["offered"] == 1
        )
    )
    assert time.monotonic() - t0 < 1.0 * UNIT
    assert queue(snap, "benefits")["answered"] == 0
    assert queue(snap, "benefits")["channels"]["chat"]["waiting"] == 1  # for the board's channel filter
    assert queue(snap, "benefits")["estimated_wait_s"] is None  # nobody serving benefits is available yet
    ticking = await sup.expect(
        lambda f: f.get("type") == "board.snapshot" and queue(f, "benefits")["longest_wait_s"] >= 1, timeout=3
    )
    assert queue(ticking, "benefits")["waiting"] == 1

    agent = await server.agent("agent2")
    cid = queued["conversation_id"]
    await agent.expect(typed("offer", conversation_id=cid))
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    snap = await sup.expect(lambda f: f.get("type") == "board.snapshot" and queue(f, "benefits")["answered"] == 1)
    benefits = queue(snap, "benefits")
    assert benefits["waiting"] == 0 and benefits["service_level_pct"] == 100.0 and benefits["asa_s"] is not None
    bethan = next(a for a in snap["agents"] if a["name"] == "Bethan Jones")  # type: ignore[index]
    assert bethan["status"] == "available" and bethan["load"]["chat"] == 1 and bethan["since"].endswith("Z")
    alex = next(a for a in snap["agents"] if a["name"] == "Alex Morgan")  # type: ignore[index]
    assert alex["status"] == "offline" and alex["load"]["chat"] == 0

    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    snap = await sup.expect(lambda f: f.get("type") == "board.snapshot" and queue(f, "benefits")["aht_s"] is not None)
    bethan = next(a for a in snap["agents"] if a["name"] == "Bethan Jones")  # type: ignore[index]
    assert bethan["load"]["chat"] == 0 and bethan["handled_today"] == 1 and bethan["capacity"]["chat"] == 3
    assert queue(snap, "benefits")["channels"]["chat"]["answered"] == 1
    assert queue(snap, "benefits")["estimated_wait_s"] is not None  # Bethan is available for benefits


async def test_a_citizen_who_gives_up_quickly_counts_as_abandoned_not_against_service_level(server: LiveServer) -> None:
    sup = await server.board()
    citizen, _ = await server.citizen("council-tax", "Bo")
    await citizen.send({"type": "chat.end"})
    snap = await sup.expect(lambda f: f.get("type") == "board.snapshot" and queue(f, "council-tax")["abandoned"] == 1)
    council = queue(snap, "council-tax")
    assert council["waiting"] == 0 and council["answered"] == 0 and council["service_level_pct"] is None


async def test_an_available_agent_with_every_chat_slot_taken_shows_as_busy(server: LiveServer) -> None:
    sup = await server.board()
    agent = await server.agent("agent3")  # three chats at most
    for n in range(3):
        _, queued = await server.citizen("general", f"C{n}")
        await agent.expect(typed("offer", conversation_id=queued["conversation_id"]))
    snap = await sup.expect(
        lambda f: (
            f.get("type") == "board.snapshot"
            and next(a for a in f["agents"] if a["name"] == "Chris Patel")["status"] == "busy"
        )
    )
    chris = next(a for a in snap["agents"] if a["name"] == "Chris Patel")  # type: ignore[index]
    assert chris["load"]["chat"] == 3


async def test_a_watching_board_gets_only_the_rows_that_changed_in_its_queues(server: LiveServer) -> None:
    everything = await server.board()
    watcher = await server.board()
    await watcher.send({"type": "board.watch", "queues": ["nope"]})
    await watcher.expect(typed("error", code="bad_value"))  # unknown queue: refused, the socket carries on
    await watcher.send({"type": "board.watch", "queues": "benefits"})
    await watcher.expect(typed("error", code="bad_value"))
    await watcher.send({"type": "board.watch", "queues": ["benefits"]})
    first = await watcher.expect(typed("board.snapshot"))
    assert [q["name"] for q in first["queues"]] == ["benefits"]
    since_watch = len(watcher.seen)

    await server.citizen("general", "Ann")
    await everything.expect(lambda f: f.get("type") == "board.snapshot" and queue(f, "general")["waiting"] == 1)
    _citizen, queued = await server.citizen("benefits", "Bo")
    changes = await watcher.expect(lambda f: f.get("type") == "board.changes" and f["queues"])
    assert [q["name"] for q in changes["queues"]] == ["benefits"] and changes["queues"][0]["waiting"] == 1
    after = watcher.seen[since_watch:]
    assert all(q["name"] == "benefits" for f in after for q in f.get("queues", []))  # never general
    assert all(f["type"] == "board.changes" for f in after)  # no full snapshots after the first

    agent = await server.agent("agent2")
    cid = queued["conversation_id"]
    await agent.expect(typed("offer", conversation_id=cid))
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    changed = await watcher.expect(
        lambda f: (
            f.get("type") == "board.changes"
            and any(a["name"] == "Bethan Jones" and a["conversations"] for a in f["agents"])
        )
    )
    bethan = next(a for a in changed["agents"] if a["name"] == "Bethan Jones")
    assert bethan["conversations"] == [{"id": cid, "channel": "chat", "queue": "benefits"}]
    assert all(a["name"] != "Alex Morgan" for a in changed["agents"])  # unchanged rows are not sent again
