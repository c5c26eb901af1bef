"""What every read model shares: the batch that folds events once for several copies, scopes, rows.

A batch folds for the copies furthest behind and stops at the next copy ahead, so copies that
commit apart (SQLite: one file each) converge after a crash; see docs/projections.md, "One fold,
every copy" and "Exactly once".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, NamedTuple

from eventsourcing.application import Application

from projections.summary import SUMMARY_DECODER, SUMMARY_ENCODER, TICKET_EVENTS, TicketSummary, evolve
from projections.views import Copy, Cursor, Dialect, View, ViewDatabase
from tickets.infrastructure.stored_events import Prefetcher

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """A time as integer microseconds since the epoch: how the views store and compare times."""
    return (value - EPOCH) // MICROSECOND


def micros_or_none(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


class Scope(NamedTuple):
    """Where a live ticket counts: its org, its team, its assignee, its assignee within its team (the
    one definition of scopes; the last lets a reader's figures leave out private teams' tickets)."""

    name: str  # as stored in counter keys
    columns: tuple[str, ...]  # the summary attributes and row columns naming it; (): the org

    def id_of(self, s: TicketSummary) -> str | None:
        """The ticket's id in this scope ("" for the org), None if it is in none (no team, say)."""
        values = [getattr(s, column) for column in self.columns]
        return None if None in values else "/".join(values)

    def narrow(self, scope_id: str) -> tuple[str, list[str]]:
        """The SQL condition (` AND team_id = ?`...) that keeps a row of this scope id, and its values."""
        if not self.columns:
            return "", []
        return "".join(f" AND {column} = ?" for column in self.columns), scope_id.split("/")


SCOPES = ORG_SCOPE, TEAM_SCOPE, ASSIGNEE_SCOPE, TEAM_ASSIGNEE_SCOPE = (
    Scope("org", ()),
    Scope("team", ("team_id",)),
    Scope("assignee", ("assignee_id",)),
    Scope("team_assignee", ("team_id", "assignee_id")),
)


def scopes(s: TicketSummary) -> list[tuple[str, str]]:
    """The (scope, scope id) pairs a live ticket counts in: its org ("" as id), its team, its assignee,
    its (team, assignee) pair."""
    members = [(scope.name, scope.id_of(s)) for scope in SCOPES]
    return [(name, member) for name, member in members if member is not None]


def scope_asked(team_id: str | None, assignee_id: str | None) -> tuple[Scope, str]:
    """The scope a query narrows to (a team, an assignee, both, else the whole org) and its id."""
    if team_id is not None and assignee_id is not None:
        return TEAM_ASSIGNEE_SCOPE, f"{team_id}/{assignee_id}"
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
    """One ticket's summary before and after a batch (None: not live)."""

    ticket_id: str
    before: TicketSummary | None
    after: TicketSummary | None

    @cached_property
    def state(self) -> bytes:
        """The encoded `after`, encoded once for every copy that stores it."""
        return b"" if self.after is None else SUMMARY_ENCODER.encode(self.after)


class ReadModel(ABC):
    """A read model: its tables, its row per live ticket (with the encoded summary), its queries."""

    name: ClassVar[str]
    # The tables of a copy, `<prefix>_<suffix>`: suffix -> column definitions, where `{blob}` and
    # `{text_set}` stand for the dialect's types. Each has `tickets`, one row per live ticket, whose
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

    def row(self, s: TicketSummary, state: bytes, dialect: Dialect) -> dict[str, Any]:
        """A live ticket's row in `tickets`."""
        return {"ticket_id": s.id, "state": state}

    def write(self, curs: Cursor, copy: Copy, changes: Sequence[Change]) -> None:
        """Apply a batch's changes to the copy's tables: one row per live ticket.

        The rows a batch changes are deleted and written anew, all in one insert (COPY on
        PostgreSQL): one statement where an upsert would be one per row, and what a row held
        before cannot matter. The batch loaded every stored state of its tickets under the copy's
        writer lock, so the tickets with a row are the changes with a `before`.
        """
        table, dialect = f"{copy.prefix}_tickets", copy.dialect
        if stale := [c.ticket_id for c in changes if c.before is not None]:
            condition, params = dialect.in_list("ticket_id", stale)
            curs.execute(f"DELETE FROM {table} WHERE {condition}", params)
        if rows := [self.row(c.after, c.state, dialect) for c in changes if c.after is not None]:
            dialect.insert_rows(curs, table, list(rows[0]), [tuple(r.values()) for r in rows])

    def load_states(self, curs: Cursor, copy: Copy, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored summaries of a batch's tickets, in one query (SQLite takes 32,766 parameters
        or more, PostgreSQL one array)."""
        condition, params = copy.dialect.in_list("ticket_id", ids)
        curs.execute(f"SELECT ticket_id, state FROM {copy.prefix}_tickets WHERE {condition}", params)
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
            keys, name = ", ".join(key_columns), f"{copy.prefix}_{table}"
            curs.executemany(
                f"INSERT INTO {name} ({keys}, n) VALUES ({', '.join('?' * (len(key_columns) + 1))}) "
                f"ON CONFLICT ({keys}) DO UPDATE SET n = {name}.n + excluded.n",
                [(*key, n) for key, n in changed],
            )
            match = " AND ".join(f"{c} = ?" for c in key_columns)
            curs.executemany(f"DELETE FROM {name} WHERE {match} AND n = 0", [k for k, n in changed if n < 0])


@dataclass
class BatchResult:
    """What one batch did: events folded, and the position the copy reached."""

    events: int = 0
    position: int = 0
    advanced: bool = False
    locked_out: bool = False


# Called after each event of a batch with the count so far (tests use it to fail part-way).
EventHook = Callable[[int], None]


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
        # Copies ahead of the group wait: the group stops where the next of them is, and joins it.
        ahead = [p for p in positions.values() if p > start]
        head = min([app.recorder.max_notification_id() or 0, *ahead, *([] if stop_at is None else [stop_at])])
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
        changes = [Change(key, before.get(key), summaries.get(key)) for key in ids]
        for view in group:
            view.model.write(cursors[view.copy], view.copy, changes)
            view.record(cursors[view.copy], end)
    return BatchResult(events=len(notifications), position=end, advanced=True)
