"""Audit events written behind: a buffer of ``events`` rows and one task that writes them by COPY, in batches.

Every routing decision leaves a receipt in ``events``. One INSERT per receipt
caps a node near 5,400 rows/s; COPY in batches of 500 reaches about 77,000
(docs/performance.md, "Routing receipts"). So a receipt is queued here with
the time of its decision and written as soon as ``batch_size`` rows wait, or
``interval_s`` after it was queued, whichever comes first.

What callers can rely on:

- **Order, once.** Rows are written in the order they were added, each once
  by this node: one writer at a time (a lock), and a writer takes the whole
  buffer. Whoever must read their own writes, or append an event that must
  come after the receipts already queued, awaits ``flush()`` first (``Store``
  does, so a conversation's events keep their order on one node).
- **No row dropped without trace.** A failed COPY puts its rows back at the
  head of the buffer; the task logs a warning and retries with back-off, and
  ``flush()`` raises the error to its caller. The buffer is bounded
  (``max_rows``): ``put()`` then waits until rows are written (back-pressure),
  and ``add()``, which never waits, raises ``Unavailable``. A row that
  PostgreSQL itself refuses (a ``\\u0000`` in its JSON, which jsonb cannot
  hold) would fail every retry and hold up every row behind it, so it is set
  aside: logged in full at error level and counted in ``refused``.
- **Bounded shutdown** (STYLE 9): ``close()`` stops taking rows, writes what
  is left for at most ``timeout_s``, logs in full any row it could not write,
  and stops the task.

Delivery is at least once: when a connection is lost after PostgreSQL
committed a COPY but before its reply arrived, the rows are kept and written
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from contactd.errors import Unavailable

log = logging.getLogger("contactd.eventlog")

TABLE = "events"
COLUMNS = ("tenant_id", "at", "type", "conversation_id", "agent_id", "data")  # id is an identity column
Row = tuple[str, datetime, str, uuid.UUID | None, int | None, str]  # one row of COLUMNS
BIGINT = 2**63  # events.agent_id is a bigint
MAX_RETRY_S = 2.0  # the longest wait between two attempts while PostgreSQL fails
REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)  # SQLSTATE classes 22 and 23: the data
# One encoder for every row (json.dumps with options builds one per call). allow_nan=False: NaN and Infinity
# are not JSON, and jsonb refuses them.
JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def event_row(
    tenant: str,
    type_: str,
    conversation_id: str | uuid.UUID | None,
    agent_id: int | None,
    data: Mapping[str, Any],
    at: datetime,
) -> Row:
    """One ``events`` row in the order of ``COLUMNS``; ValueError or TypeError for a value no column can hold.

    ``data`` becomes JSON text, which asyncpg's jsonb codec sends as is in COPY's
    binary format. ``at`` must be timezone-aware (the column is timestamptz).
    """
    if not type_:
        raise ValueError("an event needs a type")
    if at.utcoffset() is None:
        raise ValueError("an event's time must be timezone-aware")
    if agent_id is not None and (isinstance(agent_id, bool) or not -BIGINT <= agent_id < BIGINT):
        raise TypeError(f"agent id {agent_id!r} is not a bigint")
    cid = conversation_id if isinstance(conversation_id, uuid.UUID | None) else uuid.UUID(str(conversation_id))
    return tenant, at, type_, cid, agent_id, JSON.encode(data if isinstance(data, dict) else dict(data))


def describe(row: Row) -> str:
    """A row as one JSON line, for the log when it cannot be written (enough to write it by hand)."""
    tenant, at, type_, cid, agent_id, data = row
    return json.dumps(
        {
            "tenant_id": tenant,
            "at": at.isoformat(),
            "type": type_,
            "conversation_id": str(cid) if cid else None,
            "agent_id": agent_id,
            "data": data,
        }
    )


class EventLog:
    """One tenant's audit events on their way to PostgreSQL, and the task that writes them.

    The owner calls ``start()`` once the pool is open and ``close()`` before it closes.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        tenant: str,
        *,
        batch_size: int = 500,
        interval_s: float = 0.05,
        max_rows: int = 100_000,
        timeout_s: float | None = None,
    ) -> None:
        self.pool = pool
        self.tenant = tenant
        self.batch_size = batch_size  # rows per COPY; this many waiting are written at once
        self.interval_s = interval_s  # how long a row waits at most for the task, while PostgreSQL keeps up
        self.max_rows = max_rows  # rows waiting (and being written) before put() waits and add() refuses
        self.timeout_s = timeout_s  # per COPY; None: the pool's command_timeout
        self.refused = 0  # rows PostgreSQL refused, set aside and logged
        self._rows: list[Row] = []  # added, not yet taken by a writer
        self._writing: deque[Row] = deque()  # taken by the writer, not yet written
        self._lock = asyncio.Lock()  # one writer at a time
        self._waiting = asyncio.Event()  # rows wait in _rows
        self._full = asyncio.Event()  # a batch's worth waits: write now
        self._room = asyncio.Event()  # rows were written (or the log closed): put() looks again
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Rows added and not yet written, counting those being written now."""
        return len(self._rows) + len(self._writing)

    def start(self) -> None:
        """Start the task that writes rows by size and by time."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="eventlog")

    def add(
        self,
        type_: str,
        conversation_id: str | uuid.UUID | None,
        agent_id: int | None,
        data: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """Queue one event, decided at ``at``, without I/O.

        Raises ValueError or TypeError for a value no column can hold, and
        Unavailable once closed or while ``max_rows`` wait (``put`` waits instead).
        """
        row = event_row(self.tenant, type_, conversation_id, agent_id, data, at)
        if self.pending >= self.max_rows:
            raise Unavailable(f"{self.pending} audit events are waiting to be written to PostgreSQL")
        self._append(row)

    async def put(
        self,
        type_: str,
        conversation_id: str | uuid.UUID | None,
        agent_id: int | None,
        data: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """Queue one event like ``add``, but while ``max_rows`` wait, first wait until rows are written.

        This is the back-pressure that keeps the buffer bounded without dropping
        a receipt: while PostgreSQL cannot take rows, callers wait here.
        Raises Unavailable once the log is closed.
        """
        row = event_row(self.tenant, type_, conversation_id, agent_id, data, at)
        while self.pending >= self.max_rows and not self._closed:
            self._room.clear()
            self._full.set()
            await self._room.wait()
        self._append(row)

    def _append(self, row: Row) -> None:
        if self._closed:
            raise Unavailable("the audit event log is closed")
        self._rows.append(row)
        self._waiting.set()
        if len(self._rows) >= self.batch_size:
            self._full.set()

    async def flush(self) -> None:
        """Write every row added so far, in order, after any write already under way.

        Raises what a COPY raised; the rows not written stay queued, in order,
        for the next flush.
        """
        if not self._rows and not self._lock.locked():
            return
        async with self._lock:
            self._writing.extend(self._rows)
            self._rows = []
            self._waiting.clear()
            self._full.clear()
            try:
                while self._writing:
                    await self._write_next()
                    self._room.set()
            finally:
                if self._writing:  # failed or cancelled: back to the head of the queue
                    self._rows[:0] = self._writing
                    self._writing.clear()
                    self._waiting.set()

    async def _write_next(self) -> None:
        """Write the next batch of ``_writing`` and take it off; a batch PostgreSQL refuses is retried row by row."""
        batch = list(itertools.islice(self._writing, self.batch_size))
        try:
            await self._copy(batch)
        except REFUSED:
            for row in batch:
                await self._write_alone(row)
                self._writing.popleft()
            return
        for _ in batch:
            self._writing.popleft()

    async def _write_alone(self, row: Row) -> None:
        try:
            await self._copy([row])
        except REFUSED as e:
            self.refused += 1
            log.error("PostgreSQL refused an audit event (%s); set aside: %s", e, describe(row))

    async def _copy(self, rows: list[Row]) -> None:
        await self.pool.copy_records_to_table(TABLE, records=rows, columns=COLUMNS, timeout=self.timeout_s)

    async def _run(self) -> None:
        """Write when a batch's worth waits or ``interval_s`` after rows arrive; after a failure, back off."""
        failures = 0
        while True:
            await self._waiting.wait()
            if failures:
                await asyncio.sleep(min(self.interval_s * 2 ** min(failures, 10), MAX_RETRY_S))
            elif not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.interval_s)
            try:
                await self.flush()
            except Exception as e:
                failures += 1
                log.warning(
                    "could not write %d audit events to PostgreSQL (attempt %d), keeping them: %s: %s",
                    self.pending,
                    failures,
                    type(e).__name__,
                    e,
                )
            else:
                failures = 0

    async def close(self, timeout_s: float = 3.0) -> None:
        """Stop taking rows, write what is left for at most ``timeout_s``, then stop the task.

        Rows still unwritten are logged at error level, one line each, in full.
        """
        self._closed = True
        self._room.set()  # put() callers waiting for room get Unavailable
        error: BaseException | None = None
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except Exception as e:
            error = e
        await self._stop_task()
        if self.pending:
            log.error(
                "closing with %d audit events not written to PostgreSQL (%s); each follows",
                self.pending,
                f"{type(error).__name__}: {error}" if error else "the task was stopped",
            )
            # _writing: rows of a COPY that its cancellation has not yet put back.
            for row in itertools.chain(self._writing, self._rows):
                log.error("audit event not written: %s", describe(row))

    async def _stop_task(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)  # a cancelled COPY may take a moment; never hang a stop
