"""Audit events written behind by COPY (contactd/eventlog.py), against the real PostgreSQL of the suite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from contactd.errors import Unavailable
from contactd.eventlog import EventLog, event_row
from contactd.store import Store
from tests.helpers import UNIT

DECIDED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)  # a decision time far from now: the row must keep it
CID = uuid.UUID("00000000-0000-4000-8000-000000000001")


async def written(db: asyncpg.Pool, tenant: str) -> list[tuple[Any, ...]]:
    """The tenant's events as (type, conversation id, agent id, data, at), in id order."""
    rows = await db.fetch(
        "SELECT type, conversation_id, agent_id, data, at FROM events WHERE tenant_id = $1 ORDER BY id", tenant
    )
    return [(r["type"], r["conversation_id"], r["agent_id"], json.loads(r["data"]), r["at"]) for r in rows]


async def until(check: Callable[[], Any], seconds: float) -> float:
    """Poll the async ``check`` until it is true; the seconds that took. Fails the test after ``seconds`` units."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds * UNIT, "not within the time allowed"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def add_numbered(log: EventLog, first: int, count: int) -> None:
    """Rows ``first`` .. ``first + count - 1``: data {"n": i}, decided i ms after DECIDED."""
    for i in range(first, first + count):
        log.add("routing.waiting", CID, i % 7 or None, {"n": i}, DECIDED + timedelta(milliseconds=i))


def numbered(first: int, count: int) -> list[tuple[Any, ...]]:
    return [
        ("routing.waiting", CID, i % 7 or None, {"n": i}, DECIDED + timedelta(milliseconds=i))
        for i in range(first, first + count)
    ]


@contextlib.asynccontextmanager
async def events_locked(db: asyncpg.Pool) -> AsyncIterator[None]:
    """PostgreSQL cannot take rows into ``events`` meanwhile: another session holds a lock COPY waits for."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE events IN SHARE MODE")  # conflicts with COPY's ROW EXCLUSIVE
        yield


# --- rows (no I/O) ------------------------------------------------------------------------------------


def test_a_row_keeps_the_decision_time_and_the_data_as_json() -> None:
    row = event_row("t1", "routing.offered", str(CID), 42, {"rule": "longest-idle", "ranked": ["3", "1"]}, DECIDED)
    assert row[:5] == ("t1", DECIDED, "routing.offered", CID, 42)
    assert json.loads(row[5]) == {"rule": "longest-idle", "ranked": ["3", "1"]}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("x", None, None, {}, datetime(2026, 1, 5)), ValueError),  # a naive time: which zone?
        (("x", "not-a-uuid", None, {}, DECIDED), ValueError),
        (("x", None, 2**63, {}, DECIDED), TypeError),  # beyond bigint
        (("x", None, True, {}, DECIDED), TypeError),
        (("x", None, None, {"wait": float("nan")}, DECIDED), ValueError),  # NaN is not JSON
        (("x", None, None, {"when": DECIDED}, DECIDED), TypeError),  # not JSON-serialisable
        (("", None, None, {}, DECIDED), ValueError),
    ],
)
def test_a_row_no_column_can_hold_is_refused_at_once(args: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        event_row("t1", *args)


# --- writing ------------------------------------------------------------------------------------------


async def test_rows_arrive_in_order_with_their_data_and_decision_time(db: asyncpg.Pool, tenant: str) -> None:
    log = EventLog(db, tenant)
    add_numbered(log, 0, 1234)  # three COPY batches of at most 500
    log.add("routing.offered", None, None, {"text": "Siân, café ✓", "nested": {"a": [1, 2.5, None]}}, DECIDED)
    assert await written(db, tenant) == []  # nothing is written until a flush
    await log.flush()
    rows = await written(db, tenant)
    assert rows[:-1] == numbered(0, 1234)
    assert rows[-1] == (
        "routing.offered",
        None,
        None,
        {"text": "Siân, café ✓", "nested": {"a": [1, 2.5, None]}},
        DECIDED,
    )
    assert log.pending == 0


async def test_a_full_batch_is_written_at_once_and_a_smaller_one_waits(db: asyncpg.Pool, tenant: str) -> None:
    log = EventLog(db, tenant, batch_size=5, interval_s=3600)
    log.start()
    try:
        add_numbered(log, 0, 5)
        await until(lambda: _count(db, tenant, 5), 5)
        add_numbered(log, 5, 3)
        await asyncio.sleep(0.3 * UNIT)
        assert await written(db, tenant) == numbered(0, 5)
        assert log.pending == 3
    finally:
        await log.close()
    assert await written(db, tenant) == numbered(0, 8)


async def test_rows_are_written_once_the_interval_has_passed(db: asyncpg.Pool, tenant: str) -> None:
    interval = 0.5 * UNIT
    log = EventLog(db, tenant, interval_s=interval)
    log.start()
    try:
        add_numbered(log, 0, 3)
        took = await until(lambda: _count(db, tenant, 3), interval + 5)
        assert took >= interval * 0.9  # not before the interval (0.9: the poll started just after the add)
        assert await written(db, tenant) == numbered(0, 3)
    finally:
        await log.close()


async def test_concurrent_flushes_write_each_row_once_in_order(db: asyncpg.Pool, tenant: str) -> None:
    log = EventLog(db, tenant, batch_size=7, interval_s=0.001)
    log.start()

    async def producer() -> None:
        for first in range(0, 600, 20):
            add_numbered(log, first, 20)
            await asyncio.sleep(0)

    async def flusher() -> None:
        for _ in range(40):
            await log.flush()
            await asyncio.sleep(0)

    try:
        await asyncio.gather(producer(), *(flusher() for _ in range(8)))
        await log.flush()
        assert await written(db, tenant) == numbered(0, 600)
    finally:
        await log.close()


async def _count(db: asyncpg.Pool, tenant: str, n: int) -> bool:
    return await db.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant) >= n


# --- failures -----------------------------------------------------------------------------------------


async def test_a_failed_copy_keeps_its_rows_and_a_later_flush_writes_them(db: asyncpg.Pool, tenant: str) -> None:
    log = EventLog(db, tenant, timeout_s=0.3 * UNIT)
    add_numbered(log, 0, 3)
    async with events_locked(db):
        with pytest.raises(TimeoutError):
            await log.flush()
        assert log.pending == 3
        add_numbered(log, 3, 2)  # queued behind the rows that failed
    await log.flush()
    assert await written(db, tenant) == numbered(0, 5)
    assert log.pending == 0


async def test_the_task_warns_and_retries_until_postgresql_takes_the_rows(
    db: asyncpg.Pool, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog(db, tenant, interval_s=0.01, timeout_s=0.2 * UNIT)
    log.start()
    try:
        async with events_locked(db):
            add_numbered(log, 0, 4)
            await until(lambda: _warned(caplog), 5)
            assert log.pending == 4
        await until(lambda: _count(db, tenant, 4), 5)  # no flush called: the task's retry wrote them
        assert await written(db, tenant) == numbered(0, 4)
    finally:
        await log.close()


async def _warned(caplog: pytest.LogCaptureFixture) -> bool:
    return any(
        r.levelno == logging.WARNING and "could not write 4 audit events" in r.getMessage() for r in caplog.records
    )


async def test_a_full_buffer_makes_put_wait_and_add_refuse_until_rows_are_written(
    db: asyncpg.Pool, tenant: str
) -> None:
    log = EventLog(db, tenant, interval_s=0.01, max_rows=4, timeout_s=0.2 * UNIT)
    log.start()
    try:
        async with events_locked(db):
            for i in range(4):
                await log.put("routing.waiting", CID, i % 7 or None, {"n": i}, DECIDED + timedelta(milliseconds=i))
            fifth = asyncio.create_task(
                log.put("routing.waiting", CID, 4, {"n": 4}, DECIDED + timedelta(milliseconds=4))
            )
            await asyncio.sleep(0.5 * UNIT)
            assert not fifth.done()  # waits: nothing is dropped
            with pytest.raises(Unavailable):
                add_numbered(log, 99, 1)
        await asyncio.wait_for(fifth, 10 * UNIT)
        await log.flush()
        assert await written(db, tenant) == numbered(0, 5)
    finally:
        await log.close()


async def test_a_row_postgresql_refuses_is_logged_in_full_and_the_rest_are_written(
    db: asyncpg.Pool, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog(db, tenant)
    add_numbered(log, 0, 2)
    log.add("routing.waiting", CID, None, {"name": "nul\x00byte"}, DECIDED)  # jsonb cannot hold \u0000
    add_numbered(log, 2, 2)
    await log.flush()
    assert await written(db, tenant) == numbered(0, 4)
    assert log.refused == 1 and log.pending == 0
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "set aside" in error and str(CID) in error and "nul\\\\u0000byte" in error


# --- shutdown -----------------------------------------------------------------------------------------


async def test_close_writes_what_is_left_and_takes_no_more(db: asyncpg.Pool, tenant: str) -> None:
    log = EventLog(db, tenant, interval_s=3600)
    log.start()
    add_numbered(log, 0, 3)
    await log.close()
    assert await written(db, tenant) == numbered(0, 3)
    with pytest.raises(Unavailable):
        add_numbered(log, 3, 1)
    with pytest.raises(Unavailable):
        await log.put("routing.waiting", CID, None, {}, DECIDED)


async def test_close_is_bounded_and_logs_every_row_it_could_not_write(
    db: asyncpg.Pool, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog(db, tenant, interval_s=3600, timeout_s=30)
    log.start()
    add_numbered(log, 0, 3)
    async with events_locked(db):
        started = time.monotonic()
        await log.close(timeout_s=0.3)
        assert time.monotonic() - started < 3 * UNIT
    lost = [r.getMessage() for r in caplog.records if "audit event not written" in r.getMessage()]
    assert [json.loads(m.split(": ", 1)[1])["data"] for m in lost] == ['{"n":0}', '{"n":1}', '{"n":2}']


# --- the store ----------------------------------------------------------------------------------------


@pytest.fixture
async def store(db: asyncpg.Pool, department: str) -> AsyncIterator[Store]:
    """A Store whose event log writes only when flushed (its interval is an hour)."""
    log = EventLog(db, department, interval_s=3600)
    log.start()
    yield Store(db, department, log)
    await log.close()


async def test_a_store_reader_sees_the_receipts_still_queued_in_order(store: Store, db: asyncpg.Pool) -> None:
    conv = await store.create_conversation(channel="chat", queue="general", name="Ann", language="en")
    ids = dict(await db.fetch("SELECT username, id FROM users WHERE tenant_id = $1", store.tenant))
    first, second = ids["agent1"], ids["agent2"]
    decided = datetime.now(UTC) - timedelta(seconds=10)
    waiting = {"rule": "longest-idle", "queue": "general", "priority": 0, "chosen": None, "ranked": [], "skipped": []}
    to_first = waiting | {"chosen": str(first), "ranked": [str(first)]}
    to_second = waiting | {"chosen": str(second), "ranked": [str(second)]}
    await store.receipt_later("routing.waiting", conversation_id=conv.id, data=waiting, at=decided)
    await store.record_offer(conv.id, first, 30, to_first, at=decided + timedelta(seconds=1))
    queued = await db.fetchval("SELECT count(*) FROM events WHERE conversation_id = $1", uuid.UUID(conv.id))
    assert queued == 1  # only conversation.arrived: the receipts wait in the log
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(conv.id)) == "offered"
    assert [e["type"] for e in await store.events(conv.id)] == [
        "conversation.arrived",
        "routing.waiting",
        "routing.offered",
    ]
    await store.offer_outcome(conv.id, first, "rejected")
    await store.record_offer(conv.id, second, 30, to_second, at=decided + timedelta(seconds=2))
    await store.offer_outcome(conv.id, second, "accepted")  # after the receipt still queued
    events = await store.events(conv.id)
    assert [(e["type"], e["agent_id"], e["data"]) for e in events] == [
        ("conversation.arrived", None, {"channel": "chat", "queue": "general"}),
        ("routing.waiting", None, waiting),
        ("routing.offered", first, to_first),
        ("offer.rejected", first, {}),
        ("routing.offered", second, to_second),
        ("offer.accepted", second, {}),
    ]
    assert [events[i]["at"] for i in (1, 2, 4)] == [(decided + timedelta(seconds=s)).isoformat() for s in (0, 1, 2)]


async def test_the_routing_rows_include_a_receipt_queued_a_moment_ago(store: Store) -> None:
    conv = await store.create_conversation(channel="chat", queue="general", name="Ann", language="en")
    await store.receipt_later("routing.waiting", conversation_id=conv.id, data={"rule": "longest-idle"})
    _, events, _, _ = await store.routing_rows(conv.id)
    assert [e["type"] for e in events] == ["conversation.arrived", "routing.waiting"]
