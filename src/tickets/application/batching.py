"""One instance of each aggregate while a batch of commands runs (group commit, `committer.py`).

Commands of one batch load their aggregates through the repository as usual; inside a batch the
repository answers every load of one id with the same instance, so two commands on one ticket
apply in order to it, and creates share one ticket counter. Each accepted command's events are
taken off its aggregates at once, so that a later command that fails can be undone alone: the
aggregates it touched are rebuilt from the version they were loaded at plus the events the batch
accepted so far.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import ProjectorFunction, Repository
from eventsourcing.domain import Aggregate, CanMutateAggregate

AggregateEvent = CanMutateAggregate[UUID]


class SameAggregateCreatedTwiceError(Exception):
    """A command created an aggregate that the batch already holds under the same id (a derived id
    another command of the batch created or loaded): it must run in a later batch."""


@dataclass
class Result:
    """What a command of the batch answers."""

    value: Any


class UnitOfWork:
    """The aggregates a batch has loaded or created (one instance each) and the events it accepted."""

    def __init__(self, load_version: Callable[[UUID, int], Aggregate]) -> None:
        self._load_version = load_version
        self._instances: dict[UUID, Aggregate] = {}
        # The version each aggregate was loaded at (None: created in this batch).
        self._base_versions: dict[UUID, int | None] = {}
        self._accepted: dict[UUID, list[AggregateEvent]] = {}
        self.events: list[AggregateEvent] = []
        # Results that are aggregates of the batch, by id: copied before a later command loads them.
        self._handed_out: dict[UUID, list[Result]] = {}

    def get(self, aggregate_id: UUID, load: Callable[[], Aggregate]) -> Aggregate:
        held = self._instances.get(aggregate_id)
        if held is None:
            held = load()
            self._instances[aggregate_id] = held
            self._base_versions[aggregate_id] = held.version
        elif results := self._handed_out.pop(aggregate_id, None):
            # An earlier command answers with this aggregate as it left it, not as later ones change it.
            as_left = copy.deepcopy(held)
            for result in results:
                result.value = as_left
        return held

    def hand_out(self, value: Any) -> Result:
        """A command's result, kept as it is now even if a later command of the batch changes it."""
        result = Result(value)
        if isinstance(value, Aggregate) and self._instances.get(value.id) is value:
            self._handed_out.setdefault(value.id, []).append(result)
        return result

    def accept(self, aggregates: Iterable[Aggregate]) -> list[AggregateEvent]:
        """Take a successful command's events off the aggregates it names (its own new aggregates
        join the batch); returns them. Changes to aggregates it did not name are undone."""
        named = list(aggregates)
        for aggregate in named:
            held = self._instances.get(aggregate.id)
            if held is not None and held is not aggregate:
                raise SameAggregateCreatedTwiceError(aggregate.id)
        taken: list[AggregateEvent] = []
        for aggregate in named:
            if aggregate.id not in self._instances:
                self._instances[aggregate.id] = aggregate
                self._base_versions[aggregate.id] = None
            events = list(aggregate.collect_events())
            self._accepted.setdefault(aggregate.id, []).extend(events)
            taken.extend(events)
        self.events.extend(taken)
        self.undo_pending()
        return taken

    def undo_pending(self) -> None:
        """Undo what a command changed and the batch did not accept (it failed, or did not name it)."""
        for aggregate_id, held in list(self._instances.items()):
            if held.pending_events:
                self._rebuild(aggregate_id)

    def changed(self) -> list[Aggregate]:
        """The aggregates with accepted events (to save with the events)."""
        return [self._instances[i] for i, events in self._accepted.items() if events]

    def _rebuild(self, aggregate_id: UUID) -> None:
        base_version = self._base_versions[aggregate_id]
        rebuilt: Aggregate | None = (
            None if base_version is None else self._load_version(aggregate_id, base_version)
        )
        accepted = self._accepted.get(aggregate_id, [])
        for event in accepted:
            rebuilt = event.mutate(rebuilt)
        if rebuilt is None:
            # Created by the command that failed: the batch never had it.
            del self._instances[aggregate_id]
            del self._base_versions[aggregate_id]
        else:
            self._instances[aggregate_id] = rebuilt


def apply_events(aggregate: Any, domain_events: Iterable[AggregateEvent]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` of a runtime-checkable
    protocol (a tenth of a load's time here): every event stored by this application mutates."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class BatchingRepository(Repository[UUID]):
    """The library's repository, answering loads in a batch from the batch's `UnitOfWork`.

    Only the thread that runs the batch sees it; loads of a past version always go to the store.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch = threading.local()

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A batch on this thread: loads inside the block share one instance per aggregate."""
        if getattr(self._batch, "work", None) is not None:
            raise RuntimeError("a command inside a batch started another batch")
        work = UnitOfWork(
            lambda aggregate_id, version: super(BatchingRepository, self).get(aggregate_id, version=version)
        )
        self._batch.work = work
        try:
            yield work
        finally:
            self._batch.work = None

    @property
    def in_batch(self) -> bool:
        """Whether this thread is running a batch's commands."""
        return getattr(self._batch, "work", None) is not None

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = apply_events,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        work: UnitOfWork | None = getattr(self._batch, "work", None)

        def load() -> Any:
            return super(BatchingRepository, self).get(
                aggregate_id,
                version=version,
                projector_func=projector_func,
                fastforward_skipping=fastforward_skipping,
                deepcopy_from_cache=deepcopy_from_cache,
            )

        if work is None or version is not None:
            return load()
        return work.get(aggregate_id, load)
