"""Group commit: commands that arrive together are applied and saved in one transaction.

Each request thread hands its command to the `GroupCommitter` and waits. The first thread to
arrive while no batch is running leads: it takes every waiting command, runs them one after
another against one instance of each aggregate (`batching.py`), saves all their events with one
`app.save` (one transaction, one table lock on PostgreSQL), and only then answers each command.
While it commits, newcomers queue; when it is done it hands the lead to the first of them, so
no thread serves others for longer than one batch.

A command whose rules fail is answered with its own error and its changes are undone, so its
neighbours still commit. A save that clashes with another process's write runs the whole batch
again against the new versions (each command may now succeed or fail differently); a batch that
keeps clashing is split, so that one contended command cannot hold up the others.

An aggregate that every process writes all the time (an org's ticket counter: each create takes
the next number) would make nearly every batch clash with another process's. A command names such
an aggregate with `serialize_on` before loading it: the batch then holds a cross-process lock on
it (`KeyLocks`, a PostgreSQL advisory lock) until its save has committed, so the other processes'
batches wait and load it after that commit instead of clashing. The lock only avoids work; the
store's version check is still what keeps two writers from losing an update.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from tickets.application.app import MAX_ATTEMPTS, ConcurrencyConflictError, Saved, TicketsApp
from tickets.application.batching import AggregateEvent, Result, SameAggregateCreatedTwiceError
from tickets.domain.organization import Organization

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# A batch that clashes this often is split into commands that run alone.
ATTEMPTS_TOGETHER = 3
MAX_BATCH = 100


@dataclass(frozen=True)
class Staged(Generic[T_co]):
    """What a command did, for the committer to save: its result and every aggregate it changed,
    and the org it was checked against (`Saved.org`; never changed by the command)."""

    value: T_co
    aggregates: tuple[Aggregate, ...]
    org: Organization | None = None


Command = Callable[[], Staged[T]]


class KeyLocks(Protocol):
    """Locks by name shared by every process on one store, held by one batch at a time."""

    def acquire(self, key: str, wait: bool) -> bool:
        """Take the lock of `key`, waiting for it if `wait`; whether it is held now. A lock that
        cannot be had (timeout, lost connection) answers False: the batch runs without it."""
        ...

    def release_all(self) -> None:
        """Release every lock taken since the last release."""
        ...


class _Waiting:
    """A command waiting in the queue, and once its batch is done, its outcome."""

    def __init__(self, command: Command[Any]) -> None:
        self.command = command
        self.wake = threading.Event()
        self.done = False
        self.saved: Saved[Any] | None = None
        self.error: BaseException | None = None

    def finish(self, saved: Saved[Any] | None, error: BaseException | None) -> None:
        self.saved, self.error, self.done = saved, error, True
        self.wake.set()

    def outcome(self) -> Saved[Any]:
        if self.error is not None:
            raise self.error
        assert self.saved is not None
        return self.saved


class GroupCommitter:
    """Runs the commands of one `TicketsApp` in batches, one batch at a time, each in one save."""

    def __init__(self, app: TicketsApp, max_batch: int = MAX_BATCH, locks: KeyLocks | None = None) -> None:
        self.app = app
        self.max_batch = max_batch
        # Cross-process locks (`serialize_on`); none for a store that one process writes.
        self.locks = locks
        self._held: set[str] = set()
        # Saves that clashed with another writer (each ran its batch again): for tests and tuning.
        self.clashes = 0
        self._lock = threading.Lock()
        # Notified whenever a command joins the queue (`wait_until_queued`).
        self._queued = threading.Condition(self._lock)
        self._queue: list[_Waiting] = []
        self._leading = False

    def run(self, command: Command[T]) -> Saved[T]:
        """Run `command` in the next batch and return its result once its events are committed.

        `command` loads what it needs through `app.repository`, changes it and returns the result
        with the aggregates it changed (new ones included); it saves nothing itself. It may run more
        than once (after a clash), so it must load its aggregates each time it runs.
        """
        if self.app.batching_repository.in_batch:
            raise RuntimeError("a command inside a batch submitted another command")
        waiting = _Waiting(command)
        with self._lock:
            self._queue.append(waiting)
            lead = not self._leading
            self._leading = True
            self._queued.notify_all()
        if not lead:
            waiting.wake.wait()
        if not waiting.done:
            # First to arrive, or handed the lead: this thread commits the next batch (its own first).
            self._lead()
        return cast("Saved[T]", waiting.outcome())

    def serialize_on(self, key: str) -> None:
        """Hold `key`'s cross-process lock until the running batch's save has committed (see the
        module's docstring). Called by a command, before it loads the aggregate that `key` names.

        Only the batch's first lock is waited for: one that waits holds nothing yet, so two
        processes never wait on each other. A further key is taken if free, else the command goes
        on without it (a clash, if any, runs the batch again).
        """
        if self.locks is None or key in self._held or not self.app.batching_repository.in_batch:
            return  # outside a batch nothing would release it: the store's version check suffices
        if self.locks.acquire(key, wait=not self._held):
            self._held.add(key)

    def wait_until_queued(self, count: int, timeout: float) -> bool:
        """Whether `count` commands wait for the next batch within `timeout` seconds (for tests that
        put commands in one batch: they hold the running batch, queue commands, then release it)."""
        with self._queued:
            return self._queued.wait_for(lambda: len(self._queue) >= count, timeout)

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
        try:
            self._commit(batch)
        except BaseException as error:
            # The store failed (not a clash): nothing of the batch is known to be saved.
            for waiting in batch:
                if not waiting.done:
                    waiting.finish(None, error)
            if not isinstance(error, Exception):
                raise
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # not done: it leads the next batch
                else:
                    self._leading = False

    def _commit(self, batch: list[_Waiting]) -> None:
        """Commit the batch, retried against new versions; split if it keeps clashing."""
        attempts = MAX_ATTEMPTS if len(batch) == 1 else ATTEMPTS_TOGETHER
        for attempt in range(attempts):
            try:
                later = self._try(batch)
            except IntegrityError:
                self.clashes += 1
                # Jittered backoff, so that writers that clashed do not clash again in step.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            if later and len(later) < len(batch):
                self._commit(later)
            else:
                # Every command deferred: one creates an aggregate twice by itself (a bug), which no
                # later batch changes; answered, not retried forever.
                for waiting in later:
                    waiting.finish(None, RuntimeError("the command creates one aggregate twice"))
            return
        if len(batch) == 1:
            batch[0].finish(
                None, ConcurrencyConflictError("too many concurrent changes to the same record; please retry")
            )
            return
        for waiting in batch:
            self._commit([waiting])

    def _try(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Run every command of the batch and save what they did in one transaction; answer each.

        Returns the commands to run in a later batch. Raises IntegrityError (nothing saved,
        nobody answered) when another writer got in first.
        """
        try:
            return self._run_and_save(batch)
        finally:
            if self._held:
                assert self.locks is not None
                self._held.clear()
                self.locks.release_all()

    def _run_and_save(self, batch: list[_Waiting]) -> list[_Waiting]:
        outcomes: list[tuple[_Waiting, Result, list[AggregateEvent], Organization | None]] = []
        failures: list[tuple[_Waiting, Exception]] = []
        later: list[_Waiting] = []
        with self.app.batching_repository.unit_of_work() as work:
            for waiting in batch:
                try:
                    staged = waiting.command()
                    events = work.accept(staged.aggregates)
                except SameAggregateCreatedTwiceError:
                    work.undo_pending()
                    later.append(waiting)
                except Exception as error:  # the command's own error, answered to it alone
                    work.undo_pending()
                    failures.append((waiting, error))
                else:
                    outcomes.append((waiting, work.hand_out(staged.value), events, staged.org))
            changed = work.changed()
            accepted = work.events
        recordings = self.app.save(*accepted, *changed) if accepted else []
        positions = {id(r.domain_event): r.notification.id for r in recordings}
        for waiting, result, own_events, org in outcomes:
            position = positions[id(own_events[-1])] if own_events else None
            waiting.finish(Saved(result.value, position, org), None)
        for waiting, failure in failures:
            waiting.finish(None, failure)
        return later
