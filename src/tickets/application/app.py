"""The event-sourced application: one event store for every aggregate of the service."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder, Mapper, Recording
from eventsourcing.utils import EnvType, strtobool

from tickets.application.batching import BatchingRepository
from tickets.domain.errors import ConflictError
from tickets.domain.organization import Organization
from tickets.domain.registry import TicketCounter
from tickets.domain.snapshots import TypedSnapshot
from tickets.domain.ticket import Message, Ticket
from tickets.infrastructure.msgspec_mapper import MsgspecMapper
from tickets.infrastructure.snapshot_parts import PartedSnapshotStore
from tickets.infrastructure.transcoding import register_domain_transcodings

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


logger = logging.getLogger("tickets.app")


class TicketsApp(Application[UUID]):
    """Stores tickets, orgs and their lookups; PostgreSQL tables are named `tickets_*`."""

    name = "Tickets"
    snapshotting_intervals = {Ticket: 50, Organization: 50, TicketCounter: 100}
    env = {"AGGREGATE_CACHE_MAXSIZE": "1000"}

    def __init__(self, env: EnvType | None = None) -> None:
        self._saved_listeners: list[Callable[[list[Recording[UUID]]], None]] = []
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        """New events are stored as plain JSON through msgspec; the previous format is still read."""
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MsgspecMapper)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        # A ticket's thread is stored apart from its snapshot and read when first used.
        return CurrentSnapshotStore(
            mapper=self.mapper,
            recorder=self.factory.aggregate_recorder(purpose="snapshots"),
            parts={Ticket: {"messages": dict[str, Message]}},
        )

    def construct_repository(self) -> Repository[UUID]:
        # The library's repository and settings, with batches of commands sharing loaded aggregates.
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return BatchingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def on_saved(self, listener: Callable[[list[Recording[UUID]]], None]) -> None:
        """Call `listener` with the recordings of every save of this application, after its commit
        (for in-process caches of aggregates; other processes' saves are not seen)."""
        self._saved_listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        for listener in self._saved_listeners:
            listener(recordings)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # The library takes snapshots after the events have committed: a failure here must not
        # report a committed save (a batch of commands) as failed, nor skip the listeners after
        # it. A snapshot is only a shortcut; the next one is taken 50 events on.
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            logger.exception("a snapshot could not be taken; the saved events stand")

    @property
    def batching_repository(self) -> BatchingRepository:
        """The repository, typed as what `construct_repository` made (for the group committer)."""
        return cast("BatchingRepository", self.repository)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        """The aggregate's newest version recorded at or before `at` (None: it did not exist yet)."""
        for domain_event in self.events.get(aggregate_id, desc=True):
            if cast("Aggregate.Event", domain_event).timestamp <= at:
                return domain_event.originator_version
        return None

    def head_position(self) -> int:
        """The id of the newest event in the notification log (0 when empty)."""
        return self.recorder.max_notification_id() or 0


class CurrentSnapshotStore(PartedSnapshotStore):
    """The snapshot store, answering only with snapshots written by today's rules.

    A snapshot of another class version (or in the library's plain format, from before typed
    snapshots) holds state computed by other rules: loading then replays the events instead.
    """

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        while True:
            found = list(super().get(originator_id, gt=gt, lte=lte, desc=desc, limit=limit))
            current = [s for s in found if isinstance(s, TypedSnapshot) and s.is_current]
            if current or not desc or limit is None or len(found) < limit:
                return iter(current)
            # The newest were stale (written by another release): look further back.
            lte = found[-1].originator_version - 1


class ConcurrencyConflictError(ConflictError):
    """Other writers kept winning; the caller may try again."""


@dataclass(frozen=True)
class Saved(Generic[T_co]):
    """The result of a command and the log position of its last event (None if nothing changed).

    `org`: the org the command was checked against, when it loaded one (as it was then): what the
    result is presented with, without loading the org again.
    """

    value: T_co
    position: int | None
    org: Organization | None = None


MAX_ATTEMPTS = 30


def retry_on_conflict(operation: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run load-change-save until no other writer got in between.

    `operation` must reload its aggregates each time: a version clash stores nothing,
    and re-running against the new version either applies the change or raises the
    domain error that says why it no longer applies.
    """
    for attempt in range(attempts):
        try:
            return operation()
        except IntegrityError:
            # Jittered backoff, so that writers that clashed do not clash again in step.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise ConcurrencyConflictError("too many concurrent changes to the same record; please retry")


def position_of(recordings: list[Any]) -> int | None:
    """The notification id of the last event a save wrote."""
    if not recordings:
        return None
    notification_id: int = recordings[-1].notification.id
    return notification_id
