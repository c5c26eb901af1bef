"""Where attachment bytes live: one interface, a store per database kind.

Blobs are content-addressed: a blob's name is the SHA-256 of its bytes, so the same bytes are stored
once however often they are attached, and a blob never changes. The event log holds only the hash
(`Ticket.AttachmentAdded`). On PostgreSQL the bytes are in a table of the same database, so every
server of a deployment reads them; on SQLite they are files beside the database file.

Each blob remembers when it was last stored (`put`): the sweep (`AttachmentService.sweep`) removes
only blobs stored before a cut-off, and only if no live attachment refers to them, so a blob that an
upload is about to refer to is never removed under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from tickets.infrastructure.settings import Settings

CHUNK_BYTES = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(data: bytes) -> str:
    """A blob's name: the hex SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


class BlobStore(ABC):
    """Content-addressed bytes."""

    @abstractmethod
    def put(self, data: bytes, at: datetime) -> str:
        """Store the bytes (once: an existing blob is only marked as stored at `at`); returns the hash."""

    @abstractmethod
    def size(self, sha256: str) -> int | None:
        """The blob's size in bytes, or None when there is no such blob."""

    @abstractmethod
    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The bytes `start` up to (not including) `stop`, in chunks of at most `CHUNK_BYTES`."""

    @abstractmethod
    def stored_before(self, moment: datetime) -> list[str]:
        """The hashes of the blobs last stored before `moment`."""

    @abstractmethod
    def remove(self, hashes: Iterable[str], stored_before: datetime) -> list[str]:
        """Remove those of these blobs that are still last stored before `stored_before`; returns them."""

    def close(self) -> None:
        """Release connections (a no-op for stores that hold none)."""
        return


class MemoryBlobStore(BlobStore):
    """Blobs in a dict: for unit tests on the in-memory event store."""

    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, datetime]] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes, at: datetime) -> str:
        sha256 = sha256_of(data)
        with self._lock:
            self._blobs[sha256] = (data, max(at, self._blobs.get(sha256, (b"", at))[1]))
        return sha256

    def size(self, sha256: str) -> int | None:
        found = self._blobs.get(sha256)
        return None if found is None else len(found[0])

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        data = self._blobs[sha256][0][start:stop]
        return iter([data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)])

    def stored_before(self, moment: datetime) -> list[str]:
        return sorted(h for h, (_, at) in self._blobs.items() if at < moment)

    def remove(self, hashes: Iterable[str], stored_before: datetime) -> list[str]:
        with self._lock:
            removed = [h for h in hashes if h in self._blobs and self._blobs[h][1] < stored_before]
            for sha256 in removed:
                del self._blobs[sha256]
        return sorted(removed)


class FileBlobStore(BlobStore):
    """Blobs as files under a directory: `<root>/ab/cdef…` for the hash `abcdef…`.

    A blob is written to a temporary file in the same directory and renamed into place, so a reader
    sees all of it or nothing. The file's modification time is when it was last stored. Storing takes
    a shared lock on `<root>/.lock` and removing an exclusive one, so a sweep in another process never
    removes a blob between an upload finding it and marking it as stored.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_path = root / ".lock"

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, mode)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a blob name: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes, at: datetime) -> str:
        sha256 = sha256_of(data)
        path = self._path(sha256)
        stamp = at.timestamp()
        with self._locked(fcntl.LOCK_SH):
            try:
                # Already stored: the bytes are the same by construction; only the time moves.
                if os.stat(path).st_mtime < stamp:
                    os.utime(path, (stamp, stamp))
                return sha256
            except FileNotFoundError:
                pass
            path.parent.mkdir(exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.utime(temporary, (stamp, stamp))
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                raise
        return sha256

    def size(self, sha256: str) -> int | None:
        try:
            return os.stat(self._path(sha256)).st_size
        except FileNotFoundError:
            return None

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        # Opened now, so that a missing blob fails here rather than half-way through a response.
        file = self._path(sha256).open("rb")
        return self._chunks(file, start, stop)

    @staticmethod
    def _chunks(file: BinaryIO, start: int, stop: int | None) -> Iterator[bytes]:
        with file:
            file.seek(start)
            remaining = None if stop is None else max(stop - start, 0)
            while remaining is None or remaining > 0:
                chunk = file.read(CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def _blobs(self) -> Iterator[tuple[str, Path]]:
        for directory in self.root.iterdir():
            if directory.is_dir() and len(directory.name) == 2:
                for path in directory.iterdir():
                    name = directory.name + path.name
                    if _SHA256.match(name):
                        yield name, path

    def stored_before(self, moment: datetime) -> list[str]:
        stamp = moment.timestamp()
        return sorted(name for name, path in self._blobs() if _mtime(path) < stamp)

    def remove(self, hashes: Iterable[str], stored_before: datetime) -> list[str]:
        stamp = stored_before.timestamp()
        removed = []
        with self._locked(fcntl.LOCK_EX):
            for sha256 in hashes:
                path = self._path(sha256)
                if _mtime(path) < stamp:
                    path.unlink()
                    removed.append(sha256)
        return sorted(removed)


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return float("inf")  # gone already: never "stored before" anything


class PostgresBlobStore(BlobStore):
    """Blobs as rows of `tickets_attachment_blobs` (in the store's schema), shared by every server."""

    TABLE = "tickets_attachment_blobs"

    def __init__(self, env: dict[str, str]) -> None:
        # Its own small pool: downloads stream in chunks and must not hold the event store's connections.
        self.datastore = PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env.get("POSTGRES_PASSWORD", ""),
            pool_size=1,
            max_overflow=4,
            lock_timeout=int(env.get("POSTGRES_LOCK_TIMEOUT", "5")),
            idle_in_transaction_session_timeout=60,
            schema=env.get("POSTGRES_SCHEMA", ""),
        )
        self.table = sql.Identifier(self.datastore.schema, self.TABLE)
        self._created = False
        self._create_lock = threading.Lock()

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(table=self.table)

    def _create_table(self) -> None:
        # On first use, so that a server that never sees an attachment opens no connection for them.
        with self._create_lock:
            if self._created:
                return
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(
                    self._sql(
                        "CREATE TABLE IF NOT EXISTS {table} ("
                        " sha256 text PRIMARY KEY,"
                        " size bigint NOT NULL,"
                        " stored_at timestamptz NOT NULL,"
                        " data bytea NOT NULL)"
                    )
                )
                # Uncompressed out-of-line storage: attachments are mostly compressed already, and a
                # range of an uncompressed value is read without reading the whole value.
                curs.execute(self._sql("ALTER TABLE {table} ALTER COLUMN data SET STORAGE EXTERNAL"))
            self._created = True

    def put(self, data: bytes, at: datetime) -> str:
        self._create_table()
        sha256 = sha256_of(data)
        with self.datastore.transaction(commit=True) as curs:
            # Known bytes are not sent again: only the time moves.
            curs.execute(
                self._sql("UPDATE {table} SET stored_at = greatest(stored_at, %s) WHERE sha256 = %s"),
                (at, sha256),
            )
            if curs.rowcount == 0:
                curs.execute(
                    self._sql(
                        "INSERT INTO {table} AS blobs (sha256, size, stored_at, data) VALUES (%s, %s, %s, %s)"
                        " ON CONFLICT (sha256) DO UPDATE"
                        " SET stored_at = greatest(blobs.stored_at, EXCLUDED.stored_at)"
                    ),
                    (sha256, len(data), at, data),
                )
        return sha256

    def size(self, sha256: str) -> int | None:
        self._create_table()
        with self.datastore.transaction() as curs:
            curs.execute(self._sql("SELECT size FROM {table} WHERE sha256 = %s"), (sha256,))
            row = curs.fetchone()
        return None if row is None else int(row["size"])

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        size = self.size(sha256)
        if size is None:
            raise FileNotFoundError(sha256)
        return self._chunks(sha256, start, size if stop is None else min(stop, size))

    def _chunks(self, sha256: str, start: int, stop: int) -> Iterator[bytes]:
        # One short query per chunk: a slow client never holds a connection between chunks.
        for offset in range(start, stop, CHUNK_BYTES):
            with self.datastore.transaction() as curs:
                curs.execute(
                    self._sql(
                        "SELECT substring(data FROM %s FOR %s) AS chunk FROM {table} WHERE sha256 = %s"
                    ),
                    (offset + 1, min(CHUNK_BYTES, stop - offset), sha256),
                )
                row = curs.fetchone()
            if row is None:
                return
            yield bytes(row["chunk"])

    def stored_before(self, moment: datetime) -> list[str]:
        self._create_table()
        with self.datastore.transaction() as curs:
            curs.execute(
                self._sql("SELECT sha256 FROM {table} WHERE stored_at < %s ORDER BY sha256"), (moment,)
            )
            return [str(row["sha256"]) for row in curs.fetchall()]

    def remove(self, hashes: Iterable[str], stored_before: datetime) -> list[str]:
        self._create_table()
        with self.datastore.transaction(commit=True) as curs:
            # The time is checked again as the row is deleted: an upload that stored the same bytes
            # meanwhile keeps them.
            curs.execute(
                self._sql("DELETE FROM {table} WHERE sha256 = ANY(%s) AND stored_at < %s RETURNING sha256"),
                (list(hashes), stored_before),
            )
            return sorted(str(row["sha256"]) for row in curs.fetchall())

    def close(self) -> None:
        self.datastore.close()


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store for the database `settings` names: its PostgreSQL database, or files beside
    the SQLite file (in memory for an in-memory SQLite store)."""
    if settings.is_postgres:
        return PostgresBlobStore(settings.persistence_env())
    directory = settings.attachments_directory()
    return MemoryBlobStore() if directory is None else FileBlobStore(directory)


__all__ = [
    "CHUNK_BYTES",
    "BlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "PostgresBlobStore",
    "open_blob_store",
    "sha256_of",
]
