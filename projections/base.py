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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
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


def apply_batch(
    views: ViewDatabase,
    app: Application[Any],
    model: ReadModel,
    view: Any,
    limit: int = 2000,
    after_event: EventHook | None = None,
    stop_at: int | None = None,
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
        notifications = app.recorder.select_notifications(start + 1, limit, stop=head, topics=TICKET_TOPICS)
        # A short page means nothing else up to `head` concerns tickets: the copy reaches `head`.
        end = notifications[-1].id if len(notifications) == limit else head
        ids = list(dict.fromkeys(str(n.originator_id) for n in notifications))
        stored = model.load_states(curs, view.dialect, view.prefix, ids) if ids else {}
        before = {key: decode_state(state) for key, state in stored.items()}
        summaries: dict[str, TicketSummary | None] = {
            key: decode_state(state) for key, state in stored.items()
        }
        projection = SummaryProjection(view, summaries)
        for count, notification in enumerate(notifications, start=1):
            projection.process_event(
                app.mapper.to_domain_event(notification), Tracking(UPSTREAM, notification.id)
            )
            if after_event is not None:
                after_event(count)
        changes = [Change(key, before.get(key), summaries.get(key)) for key in ids]
        model.write(curs, view.dialect, view.prefix, changes)
        view._insert_tracking(curs, Tracking(UPSTREAM, end))
    return BatchResult(events=len(notifications), position=end, advanced=True, ticket_ids=ids)


__all__ = [
    "BatchResult",
    "Change",
    "ReadModel",
    "SummaryProjection",
    "apply_batch",
    "decode_state",
    "encode_state",
    "micros",
    "micros_or_none",
]
