"""Write-side benchmark: HTTP writes through `pfai serve` against the bare library and `pgbench`.

Run: `make bench-write` (or `python -m benchmarks.write_side --help`). In one invocation, on one
machine, it measures and prints side by side:

- `pgbench` single-row inserts (1 and 4 clients), the database's floor;
- the bare `eventsourcing` library: threads creating and saving a one-event aggregate with a plain
  `Application` on PostgreSQL (4 and 8 threads), saves/s;
- HTTP through the real server (`pfai serve --port P [--workers N]` in a subprocess, as a user runs
  it) with `wrk` on loopback (benchmarks/wrk/*.lua): ticket creates, and public messages to 200
  random pre-created tickets, each at 8 and 32 connections: requests/s, p50/p99, non-2xx answers;
- the HTTP/library ratios;
- the earlier in-process figures (the services without HTTP; `--skip-in-process` leaves them out).

Every database is a scratch one, dropped afterwards. The figures are written into the write-side
section of docs/benchmarks.md with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks.run import machine, scratch_database
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.bootstrap import build_services
from tickets.cli.main import cores
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.ticket import Ticket
from tickets.infrastructure.settings import Settings

PG_ADMIN_DSN = os.environ.get("TICKETS_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
START, END = "<!-- write-side:start -->", "<!-- write-side:end -->"
TICKETS = int(os.environ.get("BENCH_TICKETS", "500"))
THREAD_MESSAGES = int(os.environ.get("BENCH_THREAD_MESSAGES", "5000"))
MESSAGE_TARGETS = 200  # tickets the message posts go to, at random


def pgbench_inserts(url: str, clients: int, seconds: int = 5) -> float:
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


class Saving(Aggregate):
    """The bare library's unit of work: an aggregate of one event."""

    @event("Created")
    def __init__(self, number: int) -> None:
        self.number = number


def library_saves(url: str, threads: int, seconds: float) -> float:
    """Saves/s of one-event aggregates, `threads` threads on one plain `Application` (PostgreSQL)."""
    env = {
        **Settings(url).persistence_env(),
        "POSTGRES_POOL_SIZE": str(threads),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    app: Application[UUID] = Application(env=env)
    try:
        deadline = time.perf_counter() + seconds
        counts = [0] * threads

        def work(index: int) -> None:
            while time.perf_counter() < deadline:
                app.save(Saving(counts[index]))
                counts[index] += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
        return sum(counts) / (time.perf_counter() - started)
    finally:
        app.close()


@dataclass
class HttpRun:
    """One `wrk` run: what was posted, how, and what came back."""

    what: str  # "creates" or "messages"
    workers: int
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    # The read models' lag behind the log when the run ended (events), and how long they then took
    # to catch up (s): the follower's share of the load, which the next run does not inherit.
    lag_events: int = 0
    catch_up_seconds: float = 0.0


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """Requests/s, p50 and p99 (ms), non-2xx answers (the script's count) and socket errors."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    non_2xx = re.search(r"non-2xx answers: (\d+)", output)
    if not (rps and p50 and p99 and non_2xx):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    return (
        float(rps.group(1)),
        _milliseconds(p50.group(1)),
        _milliseconds(p99.group(1)),
        int(non_2xx.group(1)),
        socket_errors,
    )


def wrk_available() -> str:
    """The `wrk` executable, installed from Debian's package when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get install -y wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed: apt-get install wrk")
    return found


def pfai(*args: str, env: dict[str, str]) -> str:
    """Run the `pfai` command of this environment; its standard output."""
    command = [str(Path(sys.executable).with_name("pfai")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pfai_server(env: dict[str, str], workers: int | None, log: Path) -> Iterator[str]:
    """`pfai serve` as a user runs it, in a subprocess; its base URL once every worker has started."""
    port = free_port()
    args = ["serve", "--port", str(port), *(["--workers", str(workers)] if workers else [])]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("pfai")), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        expected = workers or 1
        deadline = time.monotonic() + 180
        while log.read_text().count("Application startup complete") < expected:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pfai serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def served_workers(log: Path) -> int:
    match = re.search(r"workers: (\d+)", log.read_text())
    return int(match.group(1)) if match else 1


def precreate_tickets(base: str, token: str, count: int) -> list[str]:
    """`count` tickets for the message posts to go to; their ids."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def create(number: int) -> str:
            answer = client.post("/api/v1/tickets", json={"subject": f"target {number}"})
            answer.raise_for_status()
            return str(answer.json()["id"])

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(create, range(count)))


def run_wrk(
    wrk: str, base: str, script: str, env: dict[str, str], connections: int, seconds: int
) -> tuple[float, float, float, int, int]:
    threads = min(connections, 2)  # the load generator shares the machine's cores with the server
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPTS / script),
        base,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


def follower_lag(env: dict[str, str]) -> int:
    """The largest lag of a read model behind the head of the log (`pfai projections status`)."""
    rows = json.loads(pfai("projections", "status", "--json", env=env))
    return max((int(row["lag"]) for row in rows), default=0)


def wait_for_follower(env: dict[str, str], timeout: float = 300) -> tuple[int, float]:
    """The follower's lag now, and how long it took to reach the head (so runs start level)."""
    lag = follower_lag(env)
    started = time.monotonic()
    while (current := follower_lag(env)) > 0 and time.monotonic() - started < timeout:
        time.sleep(0.5)
    if current > 0:
        raise RuntimeError(f"the follower is still {current} events behind after {timeout} s")
    return lag, time.monotonic() - started


def http_runs(
    workers: int | None, connections: list[int], seconds: int, wrk: str, log_dir: Path
) -> list[HttpRun]:
    """Creates and message posts through `pfai serve [--workers N]` on a scratch database."""
    runs: list[HttpRun] = []
    with scratch_database(PG_ADMIN_DSN) as url:
        env = {**os.environ, "TICKETS_DATABASE_URL": url}
        env.pop("TICKETS_PROJECTIONS", None)
        token = re.search(
            r'"token": "([^"]+)"',
            pfai(
                "admin",
                "create-org",
                "bench",
                "--name",
                "Bench",
                "--admin-email",
                "b@bench.test",
                "--json",
                env=env,
            ),
        ).group(1)  # type: ignore[union-attr]
        log = log_dir / f"serve-{workers or 'default'}.log"
        with pfai_server(env, workers, log) as base:
            served = served_workers(log)
            tickets_file = log_dir / "tickets.txt"
            tickets_file.write_text("\n".join(precreate_tickets(base, token, MESSAGE_TARGETS)) + "\n")
            wrk_env = {**os.environ, "PFAI_TOKEN": token, "PFAI_TICKETS": str(tickets_file)}
            for what, script in (("creates", "creates.lua"), ("messages", "messages.lua")):
                for count in connections:
                    wait_for_follower(env)
                    figures = run_wrk(wrk, base, script, wrk_env, count, seconds)
                    runs.append(HttpRun(what, served, count, *figures, *wait_for_follower(env)))
                    print(f"  {format_run(runs[-1])}", flush=True)
    return runs


def format_run(run: HttpRun) -> str:
    errors = f", {run.socket_errors} socket errors" if run.socket_errors else ""
    return (
        f"HTTP {run.what:<8} workers {run.workers} conns {run.connections:>2}: "
        f"{run.requests_per_second:8,.0f} req/s  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms  "
        f"non-2xx {run.non_2xx}{errors}  follower lag {run.lag_events:,} events, caught up in {run.catch_up_seconds:.1f} s"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk and library run")
    parser.add_argument("--connections", default="8,32", help="wrk connections, comma-separated")
    parser.add_argument(
        "--workers",
        default="1,2,4",
        help="`pfai serve --workers` values, comma-separated (the default, one per core, runs without it)",
    )
    parser.add_argument("--threads", default="4,8", help="library baseline threads, comma-separated")
    parser.add_argument("--skip-in-process", action="store_true", help="leave out the services-only figures")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return parser.parse_args()


def best(runs: list[HttpRun], what: str, workers: int) -> HttpRun:
    return max(
        (r for r in runs if r.what == what and r.workers == workers), key=lambda r: r.requests_per_second
    )


def main() -> None:
    options = arguments()
    connections = [int(c) for c in options.connections.split(",")]
    thread_counts = [int(t) for t in options.threads.split(",")]
    worker_counts = [int(w) for w in options.workers.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    print(f"machine: {machine()}")
    print(f"load average before: {load_before[0]:.2f} (1 min)", flush=True)
    wrk = wrk_available()

    with scratch_database(PG_ADMIN_DSN) as url:
        pgbench = {c: pgbench_inserts(url, c) for c in (1, 4)}
        for clients, tps in pgbench.items():
            print(f"pgbench single-row inserts, {clients} client(s): {tps:,.0f} tx/s", flush=True)
        library = {t: library_saves(url, t, options.seconds) for t in thread_counts}
        for threads, saves in library.items():
            print(f"library one-event saves, {threads} threads: {saves:,.0f} saves/s", flush=True)
    library_best = max(library.values())

    runs: list[HttpRun] = []
    default_workers = cores()
    with tempfile.TemporaryDirectory() as folder:
        for workers in worker_counts:
            # The default count runs as a user runs it: `pfai serve --port P`, no --workers.
            option = None if workers == default_workers else workers
            print(f"pfai serve{f' --workers {option}' if option else ''} ({workers} worker(s)):", flush=True)
            runs.extend(http_runs(option, connections, options.seconds, wrk, Path(folder)))

    ratios = {
        what: best(runs, what, default_workers).requests_per_second / library_best
        for what in ("creates", "messages")
    }
    print(
        f"HTTP/library at the default {default_workers} worker(s), best of {connections} connections "
        f"over the library's best ({library_best:,.0f} saves/s): creates {ratios['creates']:.2f}x, "
        f"message posts {ratios['messages']:.2f}x",
        flush=True,
    )

    in_process: dict[str, tuple[float, float]] = {}
    if not options.skip_in_process:
        with scratch_database(PG_ADMIN_DSN) as url:
            postgres = bench_store(url)
        with tempfile.TemporaryDirectory() as folder:
            sqlite = bench_store(f"sqlite:///{folder}/bench.db")
        in_process = {name: (postgres[name], sqlite[name]) for name in postgres}
        for name, (pg, lite) in in_process.items():
            print(f"in-process {name}: PostgreSQL {pg:,.1f}, SQLite {lite:,.1f}")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} (1 min)")
    if not options.no_docs:
        write_docs(
            started,
            (load_before[0], load_after[0]),
            pgbench,
            library,
            runs,
            default_workers,
            ratios,
            in_process,
        )
        print(f"wrote {DOCS}")


def write_docs(
    started: str,
    load: tuple[float, float],
    pgbench: dict[int, float],
    library: dict[int, float],
    runs: list[HttpRun],
    default_workers: int,
    ratios: dict[str, float],
    in_process: dict[str, tuple[float, float]],
) -> None:
    library_best = max(library.values())
    http_rows = [
        f"| {r.what} | {r.workers}{' (default)' if r.workers == default_workers else ''} | {r.connections} | "
        f"{r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.non_2xx + r.socket_errors} | "
        f"{r.requests_per_second / library_best:.2f}x | {r.lag_events:,} | {r.catch_up_seconds:.1f} |"
        for r in sorted(runs, key=lambda r: (r.what, r.workers, r.connections))
    ]
    lines = [
        START,
        "## Write side (issue 13): HTTP against the bare library and the database",
        "",
        "Command: `make bench-write` (`python -m benchmarks.write_side`; `--help` for the options), one "
        f"invocation, run {started}.",
        f"Machine: {machine()}; shared with other work while it ran (load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after): compare figures of one run with each other, not across runs.",
        "",
        "Baselines, same run, each on a scratch PostgreSQL database:",
        "",
        "| baseline | figure |",
        "|---|---:|",
        *[f"| `pgbench` single-row inserts, {c} client(s) | {tps:,.0f} tx/s |" for c, tps in pgbench.items()],
        *[
            f"| bare `eventsourcing` `Application`, one-event aggregate per save, {t} threads | {v:,.0f} saves/s |"
            for t, v in library.items()
        ],
        "",
        "HTTP: `pfai serve --port P [--workers N]` in a subprocess (the follower elected in one worker), `wrk` "
        "on loopback with `benchmarks/wrk/creates.lua` (a new ticket per request) and `messages.lua` (a public "
        f"message to one of {MESSAGE_TARGETS} pre-created tickets at random), 2 wrk threads, one run each; "
        "errors = non-2xx answers (counted by the script) plus socket errors. "
        f"The ratio is over the library's best ({library_best:,.0f} saves/s). Each run starts with the "
        "read models at the head of the log; 'lag' is how far behind it they were when the run ended (the "
        "follower's share of the load, in events), 'catch-up' how long they then took to reach it.",
        "",
        "| writes | workers | connections | requests/s | p50 ms | p99 ms | errors | HTTP/library | lag | catch-up s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *http_rows,
        "",
        f"**HTTP/library at the default {default_workers} worker(s)** (best over the connection counts): "
        f"creates {ratios['creates']:.2f}x, message posts {ratios['messages']:.2f}x (issue 13's target: 1.0x).",
    ]
    if in_process:
        lines += [
            "",
            f"In process (the services without HTTP; {TICKETS} tickets per run, a {THREAD_MESSAGES}-message thread):",
            "",
            "| figure | PostgreSQL | SQLite |",
            "|---|---:|---:|",
            *[f"| {name} | {pg:,.1f} | {lite:,.1f} |" for name, (pg, lite) in in_process.items()],
        ]
    lines.append(END)
    section = "\n".join(lines)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
