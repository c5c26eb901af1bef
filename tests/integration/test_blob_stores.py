"""The attachment byte stores, on SQLite (files beside the database) and PostgreSQL (a table).

Each test stores bytes of its own: the PostgreSQL database is shared by the whole test run.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import psycopg

from tickets.bootstrap import Services
from tickets.infrastructure.blobs import CHUNK_BYTES, FileBlobStore, PostgresBlobStore, sha256_of
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import sqlite_path


def test_bytes_are_stored_once_by_hash_and_read_in_ranges(services: Services, clock: ManualClock) -> None:
    blobs = services.attachments.blobs
    data = bytes(range(256)) * (CHUNK_BYTES // 256 + 3)  # more than one chunk
    name = blobs.put(data, clock())
    assert name == sha256_of(data)
    assert blobs.put(data, clock()) == name
    assert blobs.size(name) == len(data)
    assert b"".join(blobs.read(name)) == data
    assert all(len(chunk) <= CHUNK_BYTES for chunk in blobs.read(name))
    assert b"".join(blobs.read(name, 10, 20)) == data[10:20]
    assert (
        b"".join(blobs.read(name, CHUNK_BYTES - 1, CHUNK_BYTES + 2))
        == data[CHUNK_BYTES - 1 : CHUNK_BYTES + 2]
    )
    assert b"".join(blobs.read(name, len(data) - 3)) == data[-3:]
    assert blobs.size(sha256_of(b"never stored")) is None


def test_only_blobs_stored_before_the_cut_off_are_removed(services: Services, clock: ManualClock) -> None:
    blobs = services.attachments.blobs
    old = blobs.put(b"old " + str(uuid4()).encode(), clock())
    clock.advance(hours=2)
    cutoff = clock() - timedelta(hours=1)
    recent_bytes = b"recent " + str(uuid4()).encode()
    recent = blobs.put(recent_bytes, clock())
    # (On PostgreSQL the database is shared by the whole test run: look at this test's blobs only.)
    assert old in blobs.stored_before(cutoff) and recent not in blobs.stored_before(cutoff)
    assert blobs.remove([old, recent], stored_before=cutoff) == [old]
    assert (blobs.size(old), blobs.size(recent)) == (None, len(recent_bytes))
    # Storing known bytes again moves their time: a sweep that chose them before no longer removes them.
    clock.advance(hours=2)
    assert blobs.put(recent_bytes, clock()) == recent
    assert blobs.remove([recent], stored_before=clock() - timedelta(hours=1)) == []
    assert blobs.size(recent) == len(recent_bytes)


def test_sqlite_keeps_blobs_as_files_beside_the_database(
    services: Services, database_url: str, clock: ManualClock
) -> None:
    blobs = services.attachments.blobs
    if services.store != "sqlite":
        assert isinstance(blobs, PostgresBlobStore)
        name = blobs.put(b"in the database", clock())
        with psycopg.connect(database_url) as db:
            row = db.execute(
                "SELECT size, data FROM tickets_attachment_blobs WHERE sha256 = %s", (name,)
            ).fetchone()
        assert row == (len(b"in the database"), b"in the database")
        return
    assert isinstance(blobs, FileBlobStore)
    name = blobs.put(b"on disk", clock())
    root = sqlite_path(database_url).with_name("tickets.db.attachments")
    assert blobs.root == root
    assert (root / name[:2] / name[2:]).read_bytes() == b"on disk"
    assert not list(root.rglob(".upload-*"))  # written to a temporary file, then renamed
