"""Cross-process locks by name on PostgreSQL, for the group committer's hot aggregates.

`application/committer.py` says what they are for: the batches of every process that create tickets
for one org take its counter's lock in turn, so they wait instead of clashing. Each lock is a
session-level advisory lock on a connection of this object's own, so it lives at most as long as
the process: a writer killed with a lock held frees it when PostgreSQL ends its session.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping

import psycopg

from tickets.infrastructure.leadership import conninfo

logger = logging.getLogger(__name__)

# The first of the two advisory-lock keys: a key space of its own, apart from the read models'
# batch locks (`projections/views.py`, two keys) and the leader election's (one 64-bit key).
KEY_SPACE = zlib.crc32(b"tickets-key-locks") - 2**31
# A lock not had within this long is done without: the batch goes on, and the store's version
# check still refuses a clash. It bounds how long a hung writer elsewhere can hold up this one.
LOCK_TIMEOUT_MS = 2000


def lock_id(key: str, schema: str) -> int:
    """The second key of `key`'s lock: deployments that share a database by schema lock apart."""
    return zlib.crc32(f"{schema}:{key}".encode()) - 2**31


class PostgresKeyLocks:
    """`KeyLocks` over PostgreSQL session-level advisory locks; used by one thread at a time."""

    def __init__(self, env: Mapping[str, str], lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        self._conninfo = conninfo(env)
        self._lock_timeout_ms = lock_timeout_ms
        self._schema = env.get("POSTGRES_SCHEMA") or ""
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def acquire(self, key: str, wait: bool) -> bool:
        keys = (KEY_SPACE, lock_id(key, self._schema))
        try:
            connection = self._connect()
            if wait:
                connection.execute("SELECT pg_advisory_lock(%s, %s)", keys)  # returns only once held
                return True
            row = connection.execute("SELECT pg_try_advisory_lock(%s, %s)", keys).fetchone()
        except psycopg.Error as error:
            # Timed out, or the connection is gone: go on without the lock (a clash runs the batch again).
            logger.info("lock %s not taken (%s); the batch goes on without it", key, error)
            self._drop_if_broken()
            return False
        return bool(row and row[0])

    def release_all(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            # The session may keep locks only while it lives: ending it frees them.
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(
                self._conninfo,
                autocommit=True,
                application_name="pfai-key-locks",
                options=f"-c lock_timeout={self._lock_timeout_ms}",
            )
        return self._connection

    def _drop_if_broken(self) -> None:
        if self._connection is not None and self._connection.broken:
            self.close()
