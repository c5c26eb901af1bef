"""Read-side benchmark (`make bench`): list and stats latency at 10k, 100k and 1M tickets, rebuild rate.

It creates a scratch PostgreSQL database (dropped afterwards), fills it in steps up to
each size with real events of the real Ticket aggregate (about 5 per ticket: created,
a reply, a note, one or two status changes), catches the read models up, times the
queries, and rebuilds. The generator saves through the library's recorder in bulk
(2,000 events per transaction) instead of one application `save` per command, and it
does not write the ticket-number index aggregates: the read side does not read them.
The figures and the machine go into the read-side section of docs/benchmarks.md.

    python -m benchmarks.run [--sizes 10000,100000,1000000] [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg

from projections.runner import READ_MODELS, ReadSide
from projections.ticket_list import ListFilters
from tickets.application.app import TicketsApp
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, Priority, SlaTargets, Source, Status
from tickets.infrastructure.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLA = {Priority.HIGH: SlaTargets(60, 8 * 60), Priority.URGENT: SlaTargets(15, 4 * 60)}
WORDS = [
    "printer",
    "login",
    "invoice",
    "refund",
    "crash",
    "timeout",
    "export",
    "password",
    "billing",
    "upgrade",
    "sync",
    "email",
]


@contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    name = f"tickets_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Generator:
    """Tickets of one big org (the worst case for per-org queries) with realistic histories."""

    def __init__(self, app: TicketsApp, seed: int = 7) -> None:
        self.app = app
        self.random = random.Random(seed)
        self.org_id = uuid4()
        self.agents = [uuid4() for _ in range(20)]
        self.teams = [uuid4() for _ in range(5)]
        self.tags = [uuid4() for _ in range(6)]
        self.number = 0
        self.events = 0

    def ticket(self) -> list[Any]:
        r = self.random
        self.number += 1
        created = NOW - timedelta(minutes=r.randint(0, 365 * 24 * 60))
        priority = r.choices(list(Priority), weights=[3, 5, 2, 1])[0]
        creator = r.choice(self.agents)
        ticket = Ticket.open(
            org_id=self.org_id,
            ticket_number=self.number,
            subject=" ".join(r.sample(WORDS, 3)),
            description=" ".join(r.sample(WORDS, 6)),
            priority=priority,
            category=r.choice(list(Category)),
            source=r.choice(list(Source)),
            team_id=r.choice([None, *self.teams]),
            assignee_id=r.choice([None, *self.agents]),
            contact_email=f"customer{r.randint(1, 50_000)}@example.com",
            tag_ids=r.sample(self.tags, r.randint(0, 2)),
            sla_targets=SLA.get(priority),
            actor_id=creator,
            at=created,
        )
        at = created + timedelta(minutes=r.randint(1, 600))
        replier = r.choice([a for a in self.agents if a != creator])
        ticket.add_message(uuid4(), replier, "Thanks, looking into it", False, [], at)
        ticket.add_message(uuid4(), replier, "Internal: reproduced", True, [], at + timedelta(minutes=5))
        roll = r.random()
        if roll < 0.15:
            pass  # still open
        elif roll < 0.40:
            ticket.change_status(Status.PENDING, replier, at + timedelta(minutes=10))
        elif roll < 0.45:
            ticket.change_status(Status.ON_HOLD, replier, at + timedelta(minutes=10))
        else:
            ticket.change_status(Status.RESOLVED, replier, at + timedelta(hours=2))
            if roll > 0.7:
                ticket.change_status(Status.CLOSED, replier, at + timedelta(days=3))
        return list(ticket.collect_events())

    def write(self, tickets: int, chunk_events: int = 2_000) -> float:
        """Generate and store `tickets` tickets; returns events per second."""
        started = time.perf_counter()
        pending: list[Any] = []
        written = 0
        for _ in range(tickets):
            pending.extend(self.app.mapper.to_stored_event(e) for e in self.ticket())
            if len(pending) >= chunk_events:
                self.app.recorder.insert_events(pending)
                written += len(pending)
                pending = []
        if pending:
            self.app.recorder.insert_events(pending)
            written += len(pending)
        self.events += written
        return written / (time.perf_counter() - started)


def timed(operation: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and p99 latency in milliseconds."""
    for _ in range(5):
        operation()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def queries(read_side: ReadSide, gen: Generator) -> dict[str, Callable[[], object]]:
    org = str(gen.org_id)
    agent, team, tag = str(gen.agents[3]), str(gen.teams[1]), str(gen.tags[2])

    def page2() -> object:
        first = read_side.list_tickets(org, ListFilters(), NOW, limit=50)
        return read_side.list_tickets(org, ListFilters(), NOW, after=first.next_after, limit=50)

    return {
        "list: default (-createdAt, 50)": lambda: read_side.list_tickets(org, ListFilters(), NOW),
        "list: default, pages 1+2": page2,
        "list: status=open&status=pending, priority=high": lambda: read_side.list_tickets(
            org, ListFilters(statuses=["open", "pending"], priorities=["high"]), NOW
        ),
        "list: assigneeId, sort=-updatedAt": lambda: read_side.list_tickets(
            org, ListFilters(assignee_ids=[agent]), NOW, sort="-updatedAt"
        ),
        "list: tag + q=printer": lambda: read_side.list_tickets(
            org, ListFilters(tag_ids=[tag], query="printer"), NOW
        ),
        "list: breached=true, sort=slaDeadline": lambda: read_side.list_tickets(
            org, ListFilters(breached=True), NOW, sort="slaDeadline"
        ),
        "list: teamId, category=bug": lambda: read_side.list_tickets(
            org, ListFilters(team_ids=[team], categories=["bug"]), NOW
        ),
        "stats: org": lambda: read_side.stats(org, NOW),
        "stats: teamId": lambda: read_side.stats(org, NOW, team_id=team),
        "stats: assigneeId": lambda: read_side.stats(org, NOW, assignee_id=agent),
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {pg or 'PostgreSQL'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TICKETS_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--rebuild-at", type=int, default=0, help="size at which to time full rebuilds (default: largest)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rebuild_at = args.rebuild_at or max(sizes)

    results: dict[int, dict[str, tuple[float, float]]] = {}
    rates: dict[str, str] = {}
    with scratch_database(args.dsn) as url:
        settings = Settings(url)
        app = TicketsApp(env=settings.persistence_env())
        read_side = ReadSide.open(settings, app)
        gen = Generator(app)
        write_rates = []
        follow_rates = []
        for size in sizes:
            print(f"generating up to {size:,} tickets ...", flush=True)
            write_rates.append(gen.write(size - gen.number))
            started = time.perf_counter()
            folded = read_side.catch_up(limit=10_000)
            follow_rates.append(folded / max(time.perf_counter() - started, 1e-9))
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            print(f"  {gen.events:,} events; timing queries", flush=True)
            results[size] = {name: timed(q, args.runs) for name, q in queries(read_side, gen).items()}
            for name, (p50, p99) in results[size].items():
                print(f"  {name:<50} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms", flush=True)
            if size == rebuild_at:
                for name in READ_MODELS:
                    started = time.perf_counter()
                    read_side.rebuild(name, batch_size=10_000)
                    elapsed = time.perf_counter() - started
                    rates[name] = f"{gen.events / elapsed:,.0f}"
                    print(f"  rebuild {name}: {gen.events / elapsed:,.0f} events/s", flush=True)
        read_side.close()
        app.close()

    write_rate = statistics.mean(write_rates)
    lines = [
        "<!-- read-side:start -->",
        "## Read side (issue 3): list, stats, rebuild",
        "",
        f"Command: `make bench` (`python -m benchmarks.run --sizes {args.sizes}`), {args.runs} runs per query after 5 warm-up runs, "
        "queries timed through `ReadSide` (SQL + decoding, no HTTP).",
        f"Machine: {machine()}.",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "Data: one org holding every ticket (the worst case for per-org queries), 20 assignees, 5 teams, 6 tags; "
        f"{gen.events / max(gen.number, 1):.1f} events per ticket (created, reply, internal note, 0-2 status changes), "
        "created over a year. The generator saves real `Ticket` events through the library's recorder, "
        "2,000 events per transaction (not one application `save` per command; no ticket-number index aggregates).",
        "",
        "Latency in ms, p50 / p99:",
        "",
        "| query | " + " | ".join(f"{s:,} tickets" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in results[sizes[0]]:
        cells = [f"{results[s][name][0]:.2f} / {results[s][name][1]:.2f}" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Event generator write rate: {write_rate:,.0f} events/s (bulk recorder inserts).",
        "Catch-up of each step while following (events folded per second, summed over the three read models): "
        + ", ".join(f"{r:,.0f}" for r in follow_rates)
        + ".",
        f"Full rebuild at {rebuild_at:,} tickets ({gen.events:,} events), events/s per read model: "
        + ", ".join(f"{n} {r}" for n, r in rates.items())
        + ".",
        "<!-- read-side:end -->",
    ]
    section = "\n".join(lines)
    print(section)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(r"<!-- read-side:start -->.*?<!-- read-side:end -->", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    main()


__all__ = ["Generator", "main"]
