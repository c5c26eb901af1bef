"""Read-side benchmark (`make bench`): list and stats latency at 10k, 100k and 1M tickets, rebuild rate.

It creates a scratch PostgreSQL database (dropped afterwards), fills it in steps up to
each size with real events of the real Ticket aggregate (about 5 per ticket: created,
a reply, a note, one or two status changes), catches the read models up, times the
queries, and rebuilds. The generator saves through the library's recorder in bulk
(2,000 events per transaction) instead of one application `save` per command, and it
does not write the ticket-number index aggregates: the read side does not read them.
The figures and the machine go into the read-side section of docs/benchmarks.md.

    python -m benchmarks.run [--sizes 10000,100000,1000000] [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
                             [--catch-up-tickets 20000] [--baseline REF]

It also times catching up and rebuilding all three read models on a log of
`--catch-up-tickets` tickets, with this tree's code and with the code of `--baseline` (a
commit checked out in a temporary `git worktree`), on copies of one generated database, in
the same run (`benchmarks/catch_up.py`; `--baseline none` skips the baseline, `--sizes none`
the latency part).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
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

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
# The read side before it folded each batch once for all read models (issue 8): the default baseline.
BASELINE = "c03ccea"
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
def scratch_database(admin_dsn: str, template: str | None = None) -> Iterator[str]:
    name = f"tickets_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
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


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """The code of commit `ref`, checked out in a temporary git worktree (removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="bench-baseline-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref], check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def catch_up_figures(tree: Path, url: str) -> dict[str, Any]:
    """Run benchmarks/catch_up.py (of this tree) against the code of `tree` on database `url`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree)])}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "catch_up.py"), url],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"catch-up benchmark failed in {tree}:\n{result.stderr}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def compare_catch_up(admin_dsn: str, tickets: int, baseline: str, repeat: int = 2) -> list[str]:
    """Catch-up and rebuild of all three read models: this tree against `baseline`, on one generated log.

    The trees take turns, `repeat` times, and each figure is the best of its runs: on a shared
    machine the slowest runs measure the neighbours.
    """
    trees: dict[str, Path | None] = {"this tree": ROOT}
    if baseline != "none":
        trees = {f"baseline ({baseline})": None, **trees}
    results: dict[str, dict[str, Any]] = {}
    with scratch_database(admin_dsn) as template, contextlib.ExitStack() as stack:
        app = TicketsApp(env=Settings(template).persistence_env())
        print(f"generating {tickets:,} tickets for the catch-up comparison ...", flush=True)
        Generator(app).write(tickets)
        app.close()
        checked_out = {
            label: tree or stack.enter_context(baseline_tree(baseline)) for label, tree in trees.items()
        }
        for _ in range(repeat):
            for label, tree in checked_out.items():
                with scratch_database(admin_dsn, template=template.rsplit("/", 1)[1]) as url:
                    figures = catch_up_figures(tree, url)
                print(f"  {label}: {json.dumps(figures)}", flush=True)
                best = results.setdefault(label, figures)
                for key in ("catch_up", "rebuild_all"):
                    best[key] = min(best[key], figures[key])
                for name, seconds in figures["rebuild"].items():
                    best["rebuild"][name] = min(best["rebuild"][name], seconds)
    events = next(iter(results.values()))["events"]

    def rate(seconds: float) -> str:
        return f"{events / seconds:,.0f}"

    lines = [
        f"Catch-up and rebuild of all three read models on one log of {tickets:,} tickets ({events:,} events), "
        "each tree on its own copy of the same database, in one run (`benchmarks/catch_up.py`), the trees "
        f"taking turns {repeat} times (best of {repeat} per figure). "
        "Log events per second of wall time until all three read models are at the head (*all three*), "
        "and for each read model rebuilt alone:",
        "",
        "| code | catch-up, all three | rebuild, all three | "
        + " | ".join(f"rebuild {n} alone" for n in READ_MODELS)
        + " |",
        "|---|---:|---:|" + "---:|" * len(READ_MODELS),
    ]
    for label, figures in results.items():
        alone = " | ".join(rate(figures["rebuild"][n]) for n in READ_MODELS)
        lines.append(f"| {label} | {rate(figures['catch_up'])} | {rate(figures['rebuild_all'])} | {alone} |")
    if len(results) == 2:
        before, after = results.values()
        lines += [
            "",
            f"Speed-up: catch-up {before['catch_up'] / after['catch_up']:.2f}x, "
            f"rebuild of all three {before['rebuild_all'] / after['rebuild_all']:.2f}x.",
        ]
    return lines


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
    parser.add_argument(
        "--catch-up-tickets",
        type=int,
        default=20_000,
        help="log size of the catch-up comparison (0: skip it)",
    )
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare catch-up with ('none': skip)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tree in the catch-up comparison")
    args = parser.parse_args()
    if args.sizes != "none":
        write_section("read-side", latency_and_rebuild(args))
    if args.catch_up_tickets:
        write_section(
            "catch-up",
            [
                "## Read side (issue 8): catch-up and rebuild of all three read models",
                "",
                f"Command: `make bench` (`python -m benchmarks.run --catch-up-tickets {args.catch_up_tickets} "
                f"--baseline {args.baseline} --repeat {args.repeat}`).",
                f"Machine: {machine()}.",
                f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
                "",
                *compare_catch_up(args.dsn, args.catch_up_tickets, args.baseline, args.repeat),
            ],
        )


def write_section(name: str, lines: list[str]) -> None:
    """Print a section and put it between its markers in docs/benchmarks.md (appended if missing)."""
    section = "\n".join([f"<!-- {name}:start -->", *lines, f"<!-- {name}:end -->"])
    print(section)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    DOC.write_text(text)


def latency_and_rebuild(args: argparse.Namespace) -> list[str]:
    """Query latency at each size, catch-up of each step, full rebuild of each read model."""
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
                    read_side.rebuild_all([name], batch_size=10_000)
                    elapsed = time.perf_counter() - started
                    rates[name] = f"{gen.events / elapsed:,.0f}"
                    print(f"  rebuild {name}: {gen.events / elapsed:,.0f} events/s", flush=True)
        read_side.close()
        app.close()

    write_rate = statistics.mean(write_rates)
    lines = [
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
    ]
    return lines


if __name__ == "__main__":
    main()


__all__ = ["Generator", "main"]
