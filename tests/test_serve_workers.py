"""`pfai serve --workers N`: API processes sharing a port, one of them (elected by a PostgreSQL
advisory lock) running the follower; SQLite served by one process.

The waits below are on another process's work or on an election (bounded), never on time passing.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from click.testing import CliRunner

from tickets.bootstrap import build_services
from tickets.cli.main import cli, cores
from tickets.infrastructure.leadership import Leadership, leader_pid, lock_key
from tickets.infrastructure.settings import Settings


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def schema_url(postgres_url: str) -> str:
    """A deployment of its own in the shared test database: its schema, and so its own election."""
    return f"{postgres_url}?schema=serve_{secrets.token_hex(4)}"


class RecordingJob:
    """A leader's job that says whether it runs, and signals its start and its stop."""

    def __init__(self, name: str, running: dict[str, bool], events: dict[str, threading.Event]) -> None:
        self.name, self.running, self.events = name, running, events

    def start(self) -> None:
        self.running[self.name] = True
        self.events["started"].set()

    def stop(self) -> None:
        self.running[self.name] = False
        self.events["stopped"].set()


def end_leader_session(url: str, role: str, schema: str) -> None:
    """End the database session that holds the lock, as a crash of its connection would."""
    classid, objid = divmod(lock_key(role, schema), 2**32)
    with psycopg.connect(url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory'"
            " AND l.granted AND l.objsubid = 1 AND l.classid::bigint = %s AND l.objid::bigint = %s"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (classid, objid),
        ).fetchall()
    assert len(ended) == 1


def test_one_candidate_leads_and_another_takes_over_when_the_leader_ends(schema_url: str) -> None:
    env = Settings(schema_url).persistence_env()
    names = ("a", "b")
    running: dict[str, bool] = {}
    events = {n: {"started": threading.Event(), "stopped": threading.Event()} for n in names}
    candidates = {
        n: Leadership(env, "test-role", lambda n=n: RecordingJob(n, running, events[n]), check_interval=0.05)
        for n in names
    }

    def leaders() -> list[str]:
        return [n for n, is_running in running.items() if is_running]

    for candidate in candidates.values():
        candidate.start()
    try:
        wait_until(leaders, 10, "a leader")
        [first] = leaders()
        assert [n for n in names if candidates[n].leading] == [first]
        assert leader_pid(env, "test-role") == os.getpid()
        # A leader whose host vanishes frees the lock within seconds, not after the OS's two hours:
        # the server keeps its session alive with its own keepalives.
        session = candidates[first]._connection
        assert session is not None
        assert session.execute("SHOW tcp_keepalives_idle").fetchone() == ("5",)

        # Its session ends (a restarted connection, a dropped network): it stops its job at its next
        # check, and one candidate (perhaps itself, reconnected) leads again.
        end_leader_session(schema_url.split("?")[0], "test-role", env["POSTGRES_SCHEMA"])
        assert events[first]["stopped"].wait(10), "the leader kept its job without its lock"
        wait_until(leaders, 10, "a leader again")
        [current] = leaders()

        # The leader's process ends: the other candidate takes over.
        [other] = [n for n in names if n != current]
        events[other]["started"].clear()
        candidates[current].stop()
        assert not running[current]
        assert events[other]["started"].wait(10), "no candidate took over"
        assert leaders() == [other]
    finally:
        for candidate in candidates.values():
            candidate.stop()
    assert not any(running.values())
    assert leader_pid(env, "test-role") is None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def admin_token(schema_url: str) -> str:
    services = build_services(Settings(schema_url))
    try:
        return services.directory.create_org("acme", "Acme", "ada@acme.test", "Ada").token
    finally:
        services.close()


@pytest.fixture
def served(schema_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`pfai serve --workers 2` as a user runs it: its base URL and its log."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "TICKETS_DATABASE_URL": schema_url}
    env.pop("TICKETS_PROJECTIONS", None)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "tickets.cli.main", "serve", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def leads(log: Path) -> list[int]:
    """The processes the server's log says took the lead, in order."""
    return [int(pid) for pid in re.findall(r"process (\d+) leads the follower", log.read_text())]


def test_two_workers_serve_with_one_follower_and_survive_the_leaders_kill(
    served: tuple[str, Path], admin_token: str, schema_url: str
) -> None:
    base, log = served
    env = Settings(schema_url).persistence_env()
    headers = {"Authorization": f"Bearer {admin_token}"}
    # Both workers started (each is a candidate) and one of them leads.
    wait_until(lambda: log.read_text().count("Application startup complete") >= 2, 120, "two workers")
    wait_until(lambda: leader_pid(env, "follower") is not None, 30, "a leader")
    leader = leader_pid(env, "follower")
    assert leads(log) == [leader]

    def create(subject: str) -> int:
        # A new connection per request, so the kernel spreads them over both workers.
        response = httpx.post(
            f"{base}/api/v1/tickets", headers=headers, json={"subject": subject}, timeout=30
        )
        assert response.status_code == 201, response.text
        return int(response.headers["X-Event-Position"])

    def listed() -> list[str]:
        response = httpx.get(f"{base}/api/v1/tickets?limit=100", headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return [item["subject"] for item in response.json()["items"]]

    def total() -> int:
        response = httpx.get(f"{base}/api/v1/tickets/stats", headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    before = [f"before {i}" for i in range(6)]
    for subject in before:
        create(subject)
    # Lists wait for the read models to reach the head of the log, whichever worker follows it.
    assert sorted(listed()) == sorted(before)
    assert total() == len(before)

    during = [f"during {i}" for i in range(3)]
    for subject in during:
        create(subject)
    assert leader is not None
    os.kill(leader, signal.SIGKILL)  # mid-batch, perhaps: nothing of it half-done
    wait_until(lambda: leader_pid(env, "follower") not in (None, leader), 30, "a new leader")
    after = ["after the kill"]
    create(after[0])
    everything = before + during + after
    assert sorted(listed()) == sorted(everything)  # each once: no event applied twice
    assert total() == len(everything)
    assert leads(log)[-1] == leader_pid(env, "follower") != leader


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--workers", "2"],
        env={"TICKETS_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"},
    )
    assert result.exit_code == 2
    assert "--workers 2: SQLite is single-writer" in result.output


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """What `pfai serve` would hand uvicorn, without serving."""
    calls: list[tuple[Any, dict[str, Any]]] = []

    def run(app: Any, **options: Any) -> None:
        calls.append((app, options))
        if not isinstance(app, str):
            app.state.services.close()  # what its shutdown would do

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


def test_sqlite_is_served_by_one_process_and_says_so(
    tmp_path: Path, uvicorn_runs: list[tuple[Any, dict[str, Any]]]
) -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"TICKETS_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})
    assert result.exit_code == 0, result.output
    assert "SQLite is single-writer: serving with one worker process." in result.output
    [(app, options)] = uvicorn_runs
    assert not isinstance(app, str) and "workers" not in options  # the app itself, in this process


def test_postgres_is_served_by_one_worker_per_core_by_default(
    schema_url: str, uvicorn_runs: list[tuple[Any, dict[str, Any]]]
) -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"TICKETS_DATABASE_URL": schema_url})
    assert result.exit_code == 0, result.output
    [(app, options)] = uvicorn_runs
    if cores() == 1:
        assert not isinstance(app, str)
    else:
        assert (app, options["workers"], options["factory"]) == ("tickets.api.app:serve_app", cores(), True)
    assert f"workers: {cores()}" in result.output


def test_serve_help_explains_workers_and_the_elected_follower() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--workers" in result.output
    assert "advisory" in result.output and "SQLite is single-writer" in result.output
