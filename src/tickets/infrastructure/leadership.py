"""One leader per deployment: a job that runs in one process at a time, elected by PostgreSQL.

Every candidate (each `pfai serve` worker, each `pfai projections run`) keeps a dedicated
connection and tries a session-level advisory lock on it every `check_interval` seconds. The one
that holds it runs the job (the read side's follower and the time-driven policies); the lock lives
exactly as long as that connection, so when the leader's process dies, even by `kill -9`, PostgreSQL
ends its session, frees the lock, and the next candidate to try takes over within an interval.

The election saves work; it is not what makes the work exactly-once. A leader cut off from the
database keeps running until its next check fails, so for a moment two followers may overlap: each
read model batch still holds its copy's transaction lock and records its position with its rows,
and each policy claims its work on an aggregate, so nothing is applied or sent twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Protocol

import psycopg
from psycopg.conninfo import make_conninfo

logger = logging.getLogger(__name__)

# A candidate's connection name starts with this, then the role and the candidate's OS process id.
APPLICATION_NAME_PREFIX = "pfai-leader"


class Job(Protocol):
    """What a leader runs: started when elected, stopped when its term ends."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def lock_key(role: str, schema: str) -> int:
    """The advisory lock (one 64-bit key) of a role in one deployment: its database and schema.

    Advisory locks are per database, so the schema is in the key: deployments that share a
    database through `?schema=` elect their leaders apart. The read models' batch locks use
    the two-key form, a separate key space.
    """
    return zlib.crc32(f"tickets-leader:{role}:{schema}".encode())


def conninfo(env: Mapping[str, str]) -> str:
    """libpq's connection string from the library's persistence settings (POSTGRES_*)."""
    return make_conninfo(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
    )


class Leadership:
    """Runs a job while this process holds the deployment's leadership for `role`.

    `make_job` builds a new job for each term (a job stopped once need not start again).
    `run()` campaigns in the calling thread until `stop_soon()`; `start()` does it in a thread.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        role: str,
        make_job: Callable[[], Job],
        check_interval: float = 1.0,
        announce: Callable[[str], None] = logger.info,
    ) -> None:
        self.role = role
        self.key = lock_key(role, env.get("POSTGRES_SCHEMA") or "")
        self._conninfo = conninfo(env)
        self._make_job = make_job
        self.check_interval = check_interval
        self._announce = announce
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._job: Job | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._job is not None

    def run(self) -> None:
        """Campaign until `stop_soon()`: take the lock when it is free, lead while the session lives."""
        try:
            while not self._stopping.is_set():
                try:
                    self._check()
                except psycopg.Error as error:
                    # The session is gone, and the lock with it: another candidate may lead by now.
                    self._step_down(f"lost its connection to PostgreSQL ({error.__class__.__name__})")
                    self._disconnect()
                except Exception:
                    # A job that failed to start: give the lock back, so a healthier candidate may lead.
                    logger.exception("the %s failed to start; stepping down", self.role)
                    self._step_down("failed")
                    self._disconnect()
                self._stopping.wait(self.check_interval)
        finally:
            self._step_down("is stopping")
            self._disconnect()

    def _check(self) -> None:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        if self._job is None:
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if row is not None and row[0]:
                self._announce(f"process {os.getpid()} leads the {self.role}")
                self._job = self._make_job()
                self._job.start()
        else:
            # The lock is the session's: while a query goes through, this process still holds it.
            self._connection.execute("SELECT 1")

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=2,
            application_name=f"{APPLICATION_NAME_PREFIX} {self.role} {os.getpid()}",
            # A leader whose host vanished (no FIN, no RST) notices in about 10 s (client keepalives,
            # and a send that goes unacknowledged for 10 s fails) ...
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            tcp_user_timeout=10_000,
            # ... and the server ends its session, and frees the lock, as soon (its own keepalives;
            # by default the OS's, over two hours).
            options="-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 "
            "-c tcp_user_timeout=10000",
        )

    def _step_down(self, why: str) -> None:
        job, self._job = self._job, None
        if job is not None:
            self._announce(f"process {os.getpid()} no longer leads the {self.role}: it {why}")
            job.stop()

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()  # ends the session: the lock is free for the next candidate

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"leadership-{self.role}", daemon=True)
        self._thread.start()

    def stop_soon(self) -> None:
        """End the campaign after the current check (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> None:
        """End the campaign, stopping the job if this process leads, and free the lock."""
        self.stop_soon()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None


def leader_pid(env: Mapping[str, str], role: str) -> int | None:
    """The OS process id of the candidate that leads `role` in this deployment, if one does."""
    classid, objid = divmod(lock_key(role, env.get("POSTGRES_SCHEMA") or ""), 2**32)
    with psycopg.connect(conninfo(env), autocommit=True, connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.database = ("
            "  SELECT oid FROM pg_database WHERE datname = current_database())",
            (classid, objid),
        ).fetchone()
    if row is None or not str(row[0]).startswith(APPLICATION_NAME_PREFIX):
        return None
    return int(str(row[0]).rsplit(" ", 1)[-1])
