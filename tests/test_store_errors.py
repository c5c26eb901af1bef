"""`pfai serve` and `pfai admin` on a store they cannot open: one line that says why, within seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

# The commands give up on a silent server after libpq's connect timeout (2 s) plus start-up.
GIVES_UP_WITHIN_SECONDS = 5
COMMANDS = [
    ("admin", "create-org", "acme", "--name", "Acme", "--admin-email", "ann@acme.test"),
    ("serve", "--port", "0"),
]


def pfai(database_url: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "TICKETS_DATABASE_URL": database_url}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )
    return done, time.monotonic() - started


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    return line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port whose listener takes connections and never answers (a hung or firewalled server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_database_is_named_with_its_host_and_createdb(
    postgres_url: str, command: tuple[str, ...]
) -> None:
    server = postgres_url.rsplit("/", 1)[0]
    done, _ = pfai(f"{server}/no_such_db_{os.getpid()}", *command)
    line = one_error_line(done)
    assert f"'no_such_db_{os.getpid()}' on 127.0.0.1:5432" in line
    assert f'database "no_such_db_{os.getpid()}" does not exist' in line
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres no_such_db_{os.getpid()}" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_server_that_does_not_answer_fails_fast(silent_server: int, command: tuple[str, ...]) -> None:
    done, seconds = pfai(f"postgresql://postgres@127.0.0.1:{silent_server}/tickets", *command)
    line = one_error_line(done)
    assert f"PostgreSQL database 'tickets' on 127.0.0.1:{silent_server}" in line
    assert "the server did not answer" in line
    assert seconds < GIVES_UP_WITHIN_SECONDS


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unsupported_url_is_one_line(command: tuple[str, ...]) -> None:
    done, _ = pfai("mysql://db.example/tickets", *command)
    assert one_error_line(done) == (
        "error: unsupported database URL 'mysql://db.example/tickets': "
        "use sqlite:///file.db or postgresql://user@host/db"
    )
