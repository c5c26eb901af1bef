"""What every read model shares: the batch that folds events once for several copies, scopes, rows.

A batch folds for the copies furthest behind and stops at the next copy ahead, so copies that
commit apart (SQLite: one file each) converge after a crash; see docs/projections.md, "One fold,
every copy" and "Exactly once".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from projections.summary import (
    SUMMARY_DECODER,
    SUMMARY_ENCODER,
    TICKET_EVENTS,
    TICKET_TOPICS,
    TicketSummary,
    evolve,
)
from projections.views import Copy, Cursor, Dialect, View, ViewDatabase

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """A time as integer microseconds since the epoch: how the views store and compare times."""
    return (value - EPOCH) // MICROSECOND


def micros_or_none(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


@dataclass(frozen=True)
class Scope:
    """Where a live ticket counts: its org, its team, its assignee (the one definition of scopes)."""

    name: str  # as stored in counter keys
    column: str | None  # the summary attribute and row column naming the team or assignee; None: the org


SCOPES = ORG_SCOPE, TEAM_SCOPE, ASSIGNEE_SCOPE = (
    Scope("org", None),
    Scope("team", "team_id"),
    Scope("assignee", "assignee_id"),
)


def scopes(s: TicketSummary) -> list[tuple[str, str]]:
    """The (scope, scope id) pairs a live ticket counts in: its org ("" as id), its team, its assignee."""
    members = [(scope.name, "" if scope.column is None else getattr(s, scope.column)) for scope in SCOPES]
    return [(name, member) for name, member in members if member is not None]


def scope_asked(team_id: str | None, assignee_id: str | None) -> tuple[Scope, str]:
    """The scope a query narrows to (a team, an assignee, else the whole org) and its id."""
    if team_id is not None:
        return TEAM_SCOPE, team_id
    if assignee_id is not None:
        return ASSIGNEE_SCOPE, assignee_id
    return ORG_SCOPE, ""


def breached_now(running: str = "running", deadline: str = "deadline") -> str:
    """The one SQL definition of "breached now": the clock runs and its breach time is before `?` (now)."""
    return f"{running} AND {deadline} < ?"


@dataclass(frozen=True)
class Change:
    """One ticket's summary before and after a batch (None: not live), and the encoded `after`."""

    ticket_id: str
    before: TicketSummary | None
    after: TicketSummary | None
    state: bytes = b""


class ReadModel(ABC):
    """A read model: its tables, its row per live ticket (with the encoded summary), its queries."""

    name: ClassVar[str]
    # The tables of a copy, `<prefix>_<suffix>`: suffix -> column definitions, where `{blob}` and
    # `{text_set}` stand for the dialect's types. The first is the one row per live ticket, whose
    # `state` column holds the ticket's encoded summary.
    tables: ClassVar[dict[str, str]]

    def ddl(self, copy: Copy) -> list[str]:
        """CREATE statements of one copy (idempotent)."""
        return [
            f"CREATE TABLE IF NOT EXISTS {copy.prefix}_{table} ({columns.format(**copy.dialect.types)})"
            for table, columns in self.tables.items()
        ]

    def serving_ddl(self, copy: Copy) -> list[str]:
        """Idempotent statements that make a copy ready to serve: the indexes only queries need.

        They run under the copy's writer lock. A copy built by a rebuild gets them just before
        it starts serving (building an index once is much cheaper than maintaining it row by
        row through the replay); a serving copy gets them when a process first opens it.
        """
        return []

    @property
    def state_table(self) -> str:
        return next(iter(self.tables))

    def row(self, s: TicketSummary, state: bytes, dialect: Dialect) -> dict[str, Any]:
        """A live ticket's row in the first table."""
        return {"ticket_id": s.id, "state": state}

    def write(self, curs: Cursor, copy: Copy, changes: Sequence[Change]) -> None:
        """Apply a batch's changes to the copy's tables: one row per live ticket.

        The rows a batch changes are deleted and written anew, all in one insert (COPY on
        PostgreSQL): one statement where an upsert would be one per row, and what a row held
        before cannot matter. The batch loaded every stored state of its tickets under the copy's
        writer lock, so the tickets with a row are the changes with a `before`.
        """
        table, dialect = f"{copy.prefix}_{self.state_table}", copy.dialect
        if stale := [c.ticket_id for c in changes if c.before is not None]:
            condition, params = dialect.in_list("ticket_id", stale)
            curs.execute(f"DELETE FROM {table} WHERE {condition}", params)
        if rows := [self.row(c.after, c.state, dialect) for c in changes if c.after is not None]:
            dialect.insert_rows(curs, table, list(rows[0]), [tuple(r.values()) for r in rows])

    def load_states(self, curs: Cursor, copy: Copy, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored summaries of a batch's tickets, in one query (SQLite takes 32,766 parameters
        or more, PostgreSQL one array)."""
        condition, params = copy.dialect.in_list("ticket_id", ids)
        curs.execute(
            f"SELECT ticket_id, state FROM {copy.prefix}_{self.state_table} WHERE {condition}", params
        )
        return {row["ticket_id"]: bytes(row["state"]) for row in curs.fetchall()}


class CounterModel(ReadModel):
    """A read model that also keeps counters `(*key, n)`, moved by each changed ticket's deltas.

    `counted(s)` says which counters a live ticket adds 1 to; a batch subtracts a changed
    ticket's `before` and adds its `after`, and adds the deltas in the batch transaction.
    A counter back at zero is removed, so a copy's rows do not depend on how its events were
    batched.
    """

    # Counter table suffix -> its key columns (the table also has `n`).
    counter_keys: ClassVar[dict[str, tuple[str, ...]]]

    @abstractmethod
    def counted(self, s: TicketSummary) -> Iterable[tuple[str, tuple[Hashable, ...]]]:
        """(counter table, key) of each counter a live ticket adds 1 to."""

    def write(self, curs: Cursor, copy: Copy, changes: Sequence[Change]) -> None:
        super().write(curs, copy, changes)
        counted = Counter(k for c in changes if c.after is not None for k in self.counted(c.after))
        counted.subtract(k for c in changes if c.before is not None for k in self.counted(c.before))
        for table, key_columns in self.counter_keys.items():
            changed = sorted((key, n) for (counter, key), n in counted.items() if counter == table and n)
            if not changed:
                continue
            keys, name = ", ".join(key_columns), f"{copy.prefix}_{table}"
            curs.executemany(
                f"INSERT INTO {name} ({keys}, n) VALUES ({', '.join('?' * (len(key_columns) + 1))}) "
                f"ON CONFLICT ({keys}) DO UPDATE SET n = {name}.n + excluded.n",
                [(*key, n) for key, n in changed],
            )
            emptied = [key for key, n in changed if n < 0]
            if emptied:
                match = " AND ".join(f"{c} = ?" for c in key_columns)
                curs.executemany(f"DELETE FROM {name} WHERE {match} AND n = 0", emptied)


@dataclass
class BatchResult:
    """What one batch did: events folded, and the position the copy reached."""

    events: int = 0
    position: int = 0
    advanced: bool = False
    locked_out: bool = False


# Called after each event of a batch with the count so far (tests use it to fail part-way).
EventHook = Callable[[int], None]


class Prefetcher:
    """Reads the ticket events of the log, and the next page in a thread while the current batch is
    folded and written, after a full page (catching up or rebuilding, not following the head).

    Only a page asked for with the same (start, limit, stop) is served from the read-ahead, so a
    batch sees exactly what it would have read itself: the log up to `stop` is committed and does
    not change.
    """

    def __init__(self, app: Application[Any]) -> None:
        self._recorder = app.recorder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._ahead: tuple[tuple[int, int, int], Future[Sequence[Notification]]] | None = None

    def _fetch(self, start: int, limit: int, stop: int) -> Sequence[Notification]:
        return self._recorder.select_notifications(start, limit, stop=stop, topics=TICKET_TOPICS)

    def __call__(self, start: int, limit: int, stop: int) -> Sequence[Notification]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (start, limit, stop):
            found = ahead[1].result()
        else:
            found = self._fetch(start, limit, stop)
        if len(found) == limit and found[-1].id < stop:
            following = (found[-1].id + 1, limit, stop)
            self._ahead = (following, self._executor.submit(self._fetch, *following))
        return found

    def close(self) -> None:
        """Stop reading ahead; the next call starts again (with a new thread)."""
        self._ahead = None
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")


def apply_batch(
    views: ViewDatabase,
    app: Application[Any],
    targets: Sequence[View],
    fetch: Prefetcher,
    limit: int = 2000,
    after_event: EventHook | None = None,
    stop_at: int | None = None,
) -> BatchResult:
    """Fold the next events of the log once, into every target copy at the lowest position (see above)."""
    with views.batch(*targets) as cursors:
        locked = [view for view in targets if view.copy in cursors]
        if not locked:
            return BatchResult(locked_out=True)
        positions = {view.copy: view.position_in(cursors[view.copy]) for view in locked}
        start = min(positions.values())
        group = [view for view in locked if positions[view.copy] == start]
        head = app.recorder.max_notification_id() or 0
        # Copies ahead of the group wait: the group stops where the next of them is, and joins it.
        head = min(
            [head, *([] if stop_at is None else [stop_at]), *(p for p in positions.values() if p > start)]
        )
        if head <= start:
            return BatchResult(position=start)
        notifications = fetch(start + 1, limit, head)
        # A short page means nothing else up to `head` concerns tickets: the copies reach `head`.
        end = notifications[-1].id if len(notifications) == limit else head
        keys = [str(n.originator_id) for n in notifications]
        ids = list(dict.fromkeys(keys))
        # Every copy of the group is at `start`, so each holds the same summaries: load them from one.
        first = group[0]
        stored = first.model.load_states(cursors[first.copy], first.copy, ids) if ids else {}
        # Decoded twice: the fold changes `summaries` in place, `before` stays as stored.
        before = {key: SUMMARY_DECODER.decode(state) for key, state in stored.items()}
        summaries: dict[str, TicketSummary | None] = {
            key: SUMMARY_DECODER.decode(state) for key, state in stored.items()
        }
        read = TICKET_EVENTS.reader(app.mapper)
        for count, (key, notification) in enumerate(zip(keys, notifications, strict=True), start=1):
            summaries[key] = evolve(read(notification), summaries.get(key))
            if after_event is not None:
                after_event(count)
        after = {key: summaries.get(key) for key in ids}
        changes = [
            Change(key, before.get(key), s, SUMMARY_ENCODER.encode(s) if s else b"")
            for key, s in after.items()
        ]
        for view in group:
            view.model.write(cursors[view.copy], view.copy, changes)
            view.record(cursors[view.copy], end)
    return BatchResult(events=len(notifications), position=end, advanced=True)
