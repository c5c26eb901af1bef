"""Write-side benchmark: ticket writes against a raw-insert baseline, and long-thread loads.

Run: `make bench-write` (or `python -m benchmarks.write_side`). It creates a scratch
PostgreSQL database (dropped afterwards) and a scratch SQLite file, prints the figures
with the machine they ran on, and rewrites the write-side section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from benchmarks.run import machine, scratch_database
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.ticket import Ticket
from tickets.infrastructure.settings import Settings

PG_ADMIN_DSN = os.environ.get("TICKETS_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- write-side:start -->", "<!-- write-side:end -->"
TICKETS = int(os.environ.get("BENCH_TICKETS", "2000"))
THREAD_MESSAGES = int(os.environ.get("BENCH_THREAD_MESSAGES", "5000"))


def pgbench_inserts(url: str, clients: int, seconds: int = 8) -> float:
    """Transactions per second of single-row inserts (one JSON-ish payload each): the raw floor."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload bytea)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_raw (payload) VALUES (convert_to(repeat('x', 300), 'UTF8'));\n")
    match = re.search(r"^postgresql://([^@]+)@([^:/]+):(\d+)/(.+)$", url)
    assert match, url
    user, host, port, dbname = match.groups()
    result = subprocess.run(
        [
            "pgbench",
            "-n",
            "-f",
            script.name,
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-T",
            str(seconds),
            "-h",
            host,
            "-p",
            port,
            "-U",
            user,
            dbname,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    tps = re.search(r"tps = ([\d.]+)", result.stdout)
    assert tps, result.stdout
    return float(tps.group(1))


def rate(count: int, run: Callable[[int], object], threads: int) -> float:
    started = time.perf_counter()
    if threads == 1:
        for i in range(count):
            run(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(count)))
    return count / (time.perf_counter() - started)


def bench_store(url: str) -> dict[str, float]:
    services = build_services(Settings(url))
    figures: dict[str, float] = {}
    try:
        created = services.directory.create_org(f"bench-{secrets.token_hex(3)}", "Bench", "b@bench.test")
        actor = services.directory.authenticate(created.token)
        assert isinstance(actor, Actor)
        figures["create 1 thread (tickets/s)"] = rate(
            TICKETS, lambda i: services.tickets.create(actor, NewTicket(subject=f"t{i}")), 1
        )
        figures["create 4 threads (tickets/s)"] = rate(
            TICKETS, lambda i: services.tickets.create(actor, NewTicket(subject=f"u{i}")), 4
        )
        figures["update 4 threads, distinct tickets (changes/s)"] = rate(
            TICKETS,
            lambda i: services.tickets.update(actor, str(1 + i % TICKETS), TicketChanges(subject=f"s{i}")),
            4,
        )
        thread = services.tickets.create(actor, NewTicket(subject="long thread")).value
        figures["append message, one ticket (messages/s)"] = rate(
            THREAD_MESSAGES,
            lambda i: services.tickets.add_message(actor, str(thread.id), f"m{i}", i % 3 == 0),
            1,
        )
        figures.update(load_times(services.app, thread.id))
    finally:
        services.app.close()
    return figures


def load_times(app: TicketsApp, ticket_id: object) -> dict[str, float]:
    """Median load of the long thread: from a snapshot (a fresh app, no cache) and by full replay."""
    fresh = TicketsApp(env={**app.env, "AGGREGATE_CACHE_MAXSIZE": ""})  # no cache: every get reads
    try:
        snapshot_ms, replay_ms = [], []
        for _ in range(7):
            started = time.perf_counter()
            loaded = fresh.repository.get(ticket_id)  # type: ignore[arg-type]
            snapshot_ms.append((time.perf_counter() - started) * 1000)
            assert isinstance(loaded, Ticket) and loaded.message_count == THREAD_MESSAGES
            started = time.perf_counter()
            replayed = None
            for domain_event in fresh.events.get(ticket_id):  # type: ignore[arg-type]
                replayed = domain_event.mutate(replayed)  # type: ignore[attr-defined]
            replay_ms.append((time.perf_counter() - started) * 1000)
        return {
            f"load {THREAD_MESSAGES}-message ticket from snapshot (ms, median)": statistics.median(
                snapshot_ms
            ),
            f"load {THREAD_MESSAGES}-message ticket by full replay (ms, median)": statistics.median(
                replay_ms
            ),
        }
    finally:
        fresh.close()


def main() -> None:
    print(f"machine: {machine()}")
    with scratch_database(PG_ADMIN_DSN) as url:
        baseline = {c: pgbench_inserts(url, c) for c in (1, 4)}
        for clients, tps in baseline.items():
            print(f"baseline pgbench single-row inserts, {clients} client(s): {tps:,.0f} tx/s")
        postgres = bench_store(url)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = bench_store(f"sqlite:///{folder}/bench.db")
    rows = [f"| {name} | {postgres[name]:,.1f} | {sqlite[name]:,.1f} |" for name in postgres]
    for row in rows:
        print(row)
    section = "\n".join(
        [
            START,
            "## Write side (issue 2)",
            "",
            f"Command: `make bench-write` — {TICKETS} tickets per run, a {THREAD_MESSAGES}-message thread.",
            f"Machine: {machine()}.",
            "",
            "Baseline, same run: `pgbench` single-row insert transactions into a plain table, "
            f"{baseline[1]:,.0f} tx/s with 1 client and {baseline[4]:,.0f} tx/s with 4. A ticket create is one "
            "transaction of 3 events (the ticket, its org counter, its number index) under the library's "
            "table lock, so the 1-client figure is the ceiling for creates.",
            "",
            "| figure | PostgreSQL | SQLite |",
            "|---|---:|---:|",
            *rows,
            "",
            "Reading the figures: a create is a load of the org and its counter, then one transaction of three",
            "inserts under the library's table lock, so it runs at a fraction of the raw insert rate; more threads",
            "in one process do not help, because an org's creates are queued on its counter (that is what keeps",
            "numbers gap-free without retry storms). Appending to a ticket that already has thousands of messages",
            "stays in the hundreds per second because cached tickets are copied without copying their (immutable)",
            "messages. A cold load of a long thread starts from its latest snapshot (one every 50 events) plus at",
            "most 49 events; what it still costs is decoding the thread's messages from JSON, so it grows with the",
            "thread's length, at about two thirds of a full replay.",
            END,
        ]
    )
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOCS.write_text(text)
    print(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
