"""What every read model shares: per-ticket state, the library Projection that folds events, batches.

A batch reads the copy's tracked position under the copy's writer lock, takes the next
ticket events from the log, folds them with `evolve` (through `SummaryProjection`, an
`eventsourcing.projection.Projection`), hands each changed ticket's (before, after) to the
read model, and records one tracking record for the batch's last position, all in one
transaction. A batch that fails leaves nothing behind; the next one starts where the
last committed tracking record says.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection

from projections.summary import SUMMARY_DECODER, SUMMARY_ENCODER, TICKET_TOPICS, TicketSummary, evolve
from projections.views import UPSTREAM, Cursor, Dialect, ViewDatabase
from tickets.domain.ticket import Ticket

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """A time as integer microseconds since the epoch: how the views store and compare times."""
    return (value - EPOCH) // MICROSECOND


def micros_or_none(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


@dataclass(frozen=True)
class Change:
    """One ticket's summary before and after a batch (None: not live)."""

    ticket_id: str
    before: TicketSummary | None
    after: TicketSummary | None


class ReadModel(ABC):
    """A read model: its tables, how it stores per-ticket state, how it applies changes."""

    name: ClassVar[str]
    # The table (suffix) holding one row per live ticket, with its encoded summary in `state`.
    state_table: ClassVar[str] = "tickets"

    @abstractmethod
    def ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        """CREATE statements of one copy (idempotent)."""

    def serving_ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        """Idempotent statements that make a copy ready to serve: the indexes only queries need.

        They run under the copy's writer lock. A copy built by a rebuild gets them just before
        it starts serving (building an index once is much cheaper than maintaining it row by
        row through the replay); a serving copy gets them when a process first opens it.
        """
        return []

    @abstractmethod
    def write(self, curs: Cursor, dialect: Dialect, prefix: str, changes: Sequence[Change]) -> None:
        """Apply a batch's changes to the copy's tables."""

    def load_states(
        self, curs: Cursor, dialect: Dialect, prefix: str, ids: Sequence[str]
    ) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for chunk_start in range(0, len(ids), 5000):
            chunk = ids[chunk_start : chunk_start + 5000]
            condition, params = dialect.in_list("ticket_id", chunk)
            curs.execute(
                dialect.sql(f"SELECT ticket_id, state FROM {prefix}_{self.state_table} WHERE {condition}"),
                params,
            )
            for row in curs.fetchall():
                found[row["ticket_id"]] = bytes(row["state"])
        return found


def write_ticket_rows(
    curs: Cursor,
    dialect: Dialect,
    table: str,
    changes: Sequence[Change],
    row: Callable[[TicketSummary], dict[str, Any]],
) -> None:
    """One row per live ticket: delete the gone, insert the new (COPY on PostgreSQL), upsert the changed.

    A change without `before` has no row yet (the batch loaded every stored state of its
    tickets, under the copy's writer lock), so its row is a plain insert.
    """
    gone = [c.ticket_id for c in changes if c.after is None and c.before is not None]
    new = [row(c.after) for c in changes if c.after is not None and c.before is None]
    changed = [row(c.after) for c in changes if c.after is not None and c.before is not None]
    if gone:
        condition, params = dialect.in_list("ticket_id", gone)
        curs.execute(dialect.sql(f"DELETE FROM {table} WHERE {condition}"), params)
    if new:
        dialect.insert_rows(curs, table, list(new[0]), [tuple(r.values()) for r in new])
    if changed:
        columns = list(changed[0])
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "ticket_id")
        curs.executemany(
            dialect.sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"
            ),
            [tuple(r.values()) for r in changed],
        )


def add_to_counters(
    curs: Cursor, dialect: Dialect, table: str, key_columns: Sequence[str], deltas: Counter[Any]
) -> None:
    """Add a batch's deltas to counter rows `(*key_columns, n)`; a counter back at zero is removed.

    Removing zeros makes a copy's rows independent of how its events were batched.
    """
    changed = sorted((key, n) for key, n in deltas.items() if n)
    if not changed:
        return
    keys = ", ".join(key_columns)
    curs.executemany(
        dialect.sql(
            f"INSERT INTO {table} ({keys}, n) VALUES ({', '.join('?' * (len(key_columns) + 1))}) "
            f"ON CONFLICT ({keys}) DO UPDATE SET n = {table}.n + excluded.n"
        ),
        [(*key, n) for key, n in changed],
    )
    emptied = [key for key, n in changed if n < 0]
    if emptied:
        match = " AND ".join(f"{c} = ?" for c in key_columns)
        curs.executemany(dialect.sql(f"DELETE FROM {table} WHERE {match} AND n = 0"), emptied)


def encode_state(summary: TicketSummary) -> bytes:
    return SUMMARY_ENCODER.encode(summary)


def decode_state(state: bytes) -> TicketSummary:
    return SUMMARY_DECODER.decode(state)


class SummaryProjection(Projection[Any]):
    """The library Projection of the read side: folds ticket events into the batch's summaries."""

    topics = TICKET_TOPICS

    def __init__(self, view: Any, summaries: dict[str, TicketSummary | None]) -> None:
        super().__init__(view)
        self.summaries = summaries
        self.tracking: Tracking | None = None

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of other aggregates change no read model."""
        self.tracking = tracking

    @process_event.register
    def _ticket_event(self, domain_event: Ticket.Event, tracking: Tracking) -> None:
        key = str(domain_event.originator_id)
        self.summaries[key] = evolve(domain_event, self.summaries.get(key))
        self.tracking = tracking


@dataclass
class BatchResult:
    """What one batch did: events folded, and the position the copy reached."""

    events: int = 0
    position: int = 0
    advanced: bool = False
    locked_out: bool = False
    ticket_ids: list[str] = field(default_factory=list)


# Called after each event of a batch with the count so far (tests use it to fail part-way).
EventHook = Callable[[int], None]

# Reads the ticket events of the log: (first position, limit, last position) -> notifications.
Fetch = Callable[[int, int, int], Sequence[Notification]]


def fetcher(app: Application[Any]) -> Fetch:
    """Reads ticket events straight from the application's recorder."""

    def fetch(start: int, limit: int, stop: int) -> Sequence[Notification]:
        return app.recorder.select_notifications(start, limit, stop=stop, topics=TICKET_TOPICS)

    return fetch


class Prefetcher:
    """Reads the next page of the log in a thread while the current batch is folded (for rebuilds).

    Only a page asked for with the same (start, limit, stop) is served from the read-ahead,
    so a batch sees exactly what it would have read itself: the log up to `stop` is
    committed and does not change.
    """

    def __init__(self, app: Application[Any]) -> None:
        self._fetch = fetcher(app)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._ahead: tuple[tuple[int, int, int], Future[Sequence[Notification]]] | None = None

    def __call__(self, start: int, limit: int, stop: int) -> Sequence[Notification]:
        key = (start, limit, stop)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == key:
            found = ahead[1].result()
        else:
            found = self._fetch(start, limit, stop)
        if len(found) == limit and found[-1].id < stop:
            following = (found[-1].id + 1, limit, stop)
            self._ahead = (following, self._executor.submit(self._fetch, *following))
        return found

    def close(self) -> None:
        self._ahead = None
        self._executor.shutdown(wait=True, cancel_futures=True)


def apply_batch(
    views: ViewDatabase,
    app: Application[Any],
    model: ReadModel,
    view: Any,
    limit: int = 2000,
    after_event: EventHook | None = None,
    stop_at: int | None = None,
    fetch: Fetch | None = None,
) -> BatchResult:
    """Fold the next events of the log after the copy's position into it, in one transaction."""
    with views.batch(view) as curs:
        if curs is None:
            return BatchResult(locked_out=True)
        start = views.position_in(view, curs)
        head = app.recorder.max_notification_id() or 0
        if stop_at is not None:
            head = min(head, stop_at)
        if head <= start:
            return BatchResult(position=start)
        notifications = (fetch or fetcher(app))(start + 1, limit, head)
        # A short page means nothing else up to `head` concerns tickets: the copy reaches `head`.
        end = notifications[-1].id if len(notifications) == limit else head
        ids = list(dict.fromkeys(str(n.originator_id) for n in notifications))
        stored = model.load_states(curs, view.dialect, view.prefix, ids) if ids else {}
        before = {key: decode_state(state) for key, state in stored.items()}
        summaries: dict[str, TicketSummary | None] = {
            key: decode_state(state) for key, state in stored.items()
        }
        process_event = SummaryProjection(view, summaries).process_event  # bound once: dispatch is per call
        to_domain_event = app.mapper.to_domain_event
        for count, notification in enumerate(notifications, start=1):
            process_event(to_domain_event(notification), Tracking(UPSTREAM, notification.id))
            if after_event is not None:
                after_event(count)
        changes = [Change(key, before.get(key), summaries.get(key)) for key in ids]
        model.write(curs, view.dialect, view.prefix, changes)
        view._insert_tracking(curs, Tracking(UPSTREAM, end))
    return BatchResult(events=len(notifications), position=end, advanced=True, ticket_ids=ids)


__all__ = [
    "BatchResult",
    "Change",
    "Fetch",
    "Prefetcher",
    "ReadModel",
    "SummaryProjection",
    "add_to_counters",
    "apply_batch",
    "decode_state",
    "encode_state",
    "micros",
    "micros_or_none",
    "write_ticket_rows",
]
