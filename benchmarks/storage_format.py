"""Decode and cold-load figures of the stored formats (issue 13), both formats in one run.

Run: `.venv/bin/python -m benchmarks.storage_format [sqlite|postgres]`. For each
format (the previous one: the library's mapper and JSON transcoder, whole snapshots; today's:
`MsgspecMapper`, threads stored apart from snapshots) it writes a few hundred tickets and one long
thread through the services on a scratch store, closes them (and their read side), then measures
on a new application without an aggregate cache: decoding every stored event through the
application's mapper and through the read side's reader (best of 5), and a cold load of a new
ticket and of the long thread (median of 21). Timings on a shared machine are noisy: compare the
two columns of one run, not runs.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import EventStore, Mapper

import tickets.bootstrap
from benchmarks.run import machine, scratch_database
from projections.summary import TICKET_EVENTS, TICKET_TOPICS
from tickets.application.actors import Actor
from tickets.application.app import CurrentSnapshotStore, TicketsApp
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.values import Priority, Status
from tickets.infrastructure.settings import Settings

PG_ADMIN_DSN = os.environ.get("TICKETS_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TICKETS = int(os.environ.get("BENCH_TICKETS", "500"))
THREAD_MESSAGES = int(os.environ.get("BENCH_THREAD_MESSAGES", "5000"))


class PreviousFormatApp(TicketsApp):
    """The application as the previous release stored: the library's mapper, whole snapshots."""

    def construct_mapper(self) -> Mapper[UUID]:
        return Application.construct_mapper(self)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        return CurrentSnapshotStore(
            mapper=self.mapper, recorder=self.factory.aggregate_recorder(purpose="snapshots"), parts={}
        )


@contextmanager
def store(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with scratch_database(PG_ADMIN_DSN) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"


def best_us(run: Callable[[], object], count: int, times: int = 5) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return min(spent) * 1e6 / count


def median_ms(run: Callable[[], object], times: int = 21) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def measure(kind: str, app_class: type[TicketsApp]) -> dict[str, float]:
    figures: dict[str, float] = {}
    tickets.bootstrap.TicketsApp = app_class  # type: ignore[misc]
    with store(kind) as url:
        services = build_services(Settings(url))
        services.record_sla_breaches = False
        try:
            created = services.directory.create_org("bench", "Bench", "b@bench.test")
            actor = services.directory.authenticate(created.token)
            assert isinstance(actor, Actor)
            for i in range(TICKETS):
                new = NewTicket(subject=f"t{i}", priority=Priority.HIGH, contact_email=f"c{i}@example.com")
                ref = str(services.tickets.create(actor, new).value.id)
                services.tickets.add_message(actor, ref, f"reply {i}", False)
                services.tickets.add_message(actor, ref, f"note {i}", True)
                services.tickets.update(actor, ref, TicketChanges(status=Status.PENDING))
            new_ticket = services.tickets.create(actor, NewTicket(subject="new")).value.id
            thread = services.tickets.create(actor, NewTicket(subject="long thread")).value.id
            started = time.perf_counter()
            for i in range(THREAD_MESSAGES):
                services.tickets.add_message(actor, str(thread), f"message {i} " + "x" * 80, i % 3 == 0)
            figures["append to the long thread (messages/s)"] = THREAD_MESSAGES / (
                time.perf_counter() - started
            )
        finally:
            services.close()  # and its read side, so the figures below are of this thread alone
        app = app_class(env={**services.app.env, "AGGREGATE_CACHE_MAXSIZE": ""})
        try:
            events = app.recorder.select_notifications(1, 10**7)
            short = [
                n
                for n in app.recorder.select_notifications(1, 10**7, topics=TICKET_TOPICS)
                if n.originator_id != thread
            ]
            mapper, read = app.mapper, TICKET_EVENTS.reader(app.mapper)
            figures["mapper: decode an event (us)"] = best_us(
                lambda: [mapper.to_domain_event(n) for n in events], len(events)
            )
            decoded = [mapper.to_domain_event(n) for n in events]
            figures["mapper: encode an event (us)"] = best_us(
                lambda: [mapper.to_stored_event(e) for e in decoded], len(decoded)
            )
            figures["read side: read a ticket event (us)"] = best_us(
                lambda: [read(n) for n in short], len(short)
            )
            figures["stored ticket event (bytes, mean)"] = statistics.mean(len(n.state) for n in short)

            def load(aggregate_id: Any) -> Callable[[], object]:
                return lambda: app.repository.get(aggregate_id)

            def replay() -> None:
                state = None
                for domain_event in app.events.get(thread):
                    state = domain_event.mutate(state)  # type: ignore[attr-defined]

            figures["cold load, new ticket (ms)"] = median_ms(load(new_ticket))
            figures[f"cold load, {THREAD_MESSAGES}-message ticket (ms)"] = median_ms(load(thread))
            figures["  ratio long / new"] = (
                figures[f"cold load, {THREAD_MESSAGES}-message ticket (ms)"]
                / figures["cold load, new ticket (ms)"]
            )
            figures["cold load of the long ticket + read its thread (ms)"] = median_ms(
                lambda: list(app.repository.get(thread).messages.values()), 7
            )
            figures["full replay of the long ticket (ms)"] = median_ms(replay, 5)
            snapshot = next(iter(app.snapshots.recorder.select_events(thread, desc=True, limit=1)))  # type: ignore[union-attr]
            figures["its latest snapshot (bytes)"] = len(snapshot.state)
        finally:
            app.close()
    return figures


def main(kind: str) -> None:
    print(f"machine: {machine()}; store: {kind}; load average at start: {os.getloadavg()[0]:.2f}")
    previous = measure(kind, PreviousFormatApp)
    today = measure(kind, TicketsApp)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("| figure | previous format | msgspec format |")
    print("|---|---:|---:|")
    for name, value in previous.items():
        print(f"| {name} | {value:,.2f} | {today[name]:,.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
