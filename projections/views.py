"""Where read models live: view databases, copies (generations) of each view, and batch transactions.

Naming, locking and the registry of which copy serves are described in docs/projections.md
("Exactly once", "Rebuilding while serving").
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, cast

from eventsourcing.persistence import IntegrityError, ProgrammingError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg import Cursor as PgCursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from projections.summary import FOLD_VERSION
from tickets.infrastructure.settings import Settings, sqlite_path

if TYPE_CHECKING:
    from projections.base import ReadModel

# The upstream application whose log the views follow (its `name`).
UPSTREAM = "Tickets"


class Cursor(Protocol):
    """The part of a DB-API cursor the read models use (psycopg dict rows or sqlite3.Row)."""

    def execute(self, statement: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, statement: Any, params_seq: Any, /) -> Any: ...
    def fetchall(self) -> Any: ...
    def fetchone(self) -> Any: ...


class Dialect:
    """The SQL differences between the two stores, in one place: SQLite's here, PostgreSQL's below."""

    name = "sqlite"
    # What `{blob}` and `{text_set}` (a set of short strings: tag ids, words) stand for in table definitions.
    types = {"blob": "BLOB", "text_set": "TEXT"}
    # The index that makes `set_contains` fast on a `{table}`'s set `{column}`, where the store has one.
    set_index: str | None = None

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column IN values` as SQL and parameters."""
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def encode_set(self, values: Sequence[str]) -> Any:
        # Space-delimited with a leading and trailing space, so ' word ' matches whole words.
        return " " + " ".join(values) + " " if values else " "

    def set_contains(self, column: str, values: Sequence[str], every: bool) -> tuple[str, list[Any]]:
        """Whether a set column holds every one of the values (else: any of them)."""
        match = (" AND " if every else " OR ").join(f"{column} LIKE ?" for _ in values)
        return f"({match})", [f"% {v} %" for v in values]

    def insert_rows(
        self, curs: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows known to be new (no conflict possible) in as few round trips as the store allows."""
        curs.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
        )


class PostgresDialect(Dialect):
    name = "postgres"
    types = {"blob": "BYTEA", "text_set": "TEXT[]"}
    set_index = "CREATE INDEX IF NOT EXISTS {table}_{column}_gin ON {table} USING GIN ({column})"

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def encode_set(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def set_contains(self, column: str, values: Sequence[str], every: bool) -> tuple[str, list[Any]]:
        return f"{column} {'@>' if every else '&&'} ?::text[]", [list(values)]

    def insert_rows(
        self, curs: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY streams the rows in one statement: several times faster than a multi-row INSERT.
        with curs.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)


class QmarkCursor(PgCursor[DictRow]):
    """A psycopg cursor that takes `?` placeholders, as the read models' SQL is written for both stores."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Self:
        return super().execute(
            query.replace("?", "%s") if isinstance(query, str) else query, params, **kwargs
        )

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        super().executemany(query.replace("?", "%s"), params_seq, **kwargs)


def registered_name(name: str) -> str:
    """A read model under the current fold: the name its copies are registered, locked and stored by.

    Servers of different fold versions keep apart copies, registries entries and locks, so neither
    serves, switches or drops the other's copies (during a rolling upgrade, say).
    """
    return f"{name}_v{FOLD_VERSION}"


@dataclass(frozen=True)
class Copy:
    """One copy of a read model: what its queries and writes need to find its tables."""

    name: str
    generation: int
    dialect: Dialect = field(compare=False)

    @property
    def prefix(self) -> str:
        """The name stem of the copy's tables (and file): the read model, the fold version, the copy."""
        return f"{registered_name(self.name)}_g{self.generation}"


# eventsourcing 9.5's public `insert_tracking` and `max_tracking_id` open their own transactions; a
# batch needs both inside its transaction, so the views call the recorders' `_insert_tracking` and
# `_max_tracking_id` here, from their own subclasses, and nowhere else.
class _InTransaction(Protocol):
    def _max_tracking_id(self, application_name: str, curs: Any, /) -> int | None: ...
    def _insert_tracking(self, curs: Any, tracking: Tracking, /) -> None: ...

    def position_in(self, curs: Cursor) -> int:
        """The copy's tracked position, read inside a batch transaction."""
        return self._max_tracking_id(UPSTREAM, curs) or 0

    def record(self, curs: Cursor, position: int) -> None:
        """Record the copy's new position in the caller's transaction (refused unless it moves forward)."""
        self._insert_tracking(curs, Tracking(UPSTREAM, position))


# The recorder comes first, so that its methods, not the protocol's declarations, are the ones called.
class SQLiteView(SQLiteTrackingRecorder, _InTransaction):
    """A read model copy in its own SQLite file; tables and tracking commit together."""

    def __init__(self, datastore: SQLiteDatastore, *, model: ReadModel, generation: int) -> None:
        self.model, self.copy = model, Copy(model.name, generation, Dialect())
        super().__init__(datastore)
        self.create_table_statements.extend(model.ddl(self.copy))


class PostgresView(PostgresTrackingRecorder, _InTransaction):
    """A read model copy in the event database; tables and tracking commit together."""

    def __init__(self, datastore: PostgresDatastore, *, model: ReadModel, generation: int) -> None:
        self.model, self.copy = model, Copy(model.name, generation, PostgresDialect())
        super().__init__(datastore, tracking_table_name=f"{self.copy.prefix}_tracking")
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in model.ddl(self.copy))


# A copy's library tracking recorder: its tables and its tracking record commit together.
View = SQLiteView | PostgresView


class CopyNotFoundError(LookupError):
    """The named copy of a read model does not exist."""


class CopyInfo(NamedTuple):
    name: str
    generation: int
    active: bool


REGISTRY_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_copies (name TEXT NOT NULL, generation INTEGER NOT NULL, "
    "active BOOLEAN NOT NULL, PRIMARY KEY (name, generation))"
)


class ViewDatabase(ABC):
    """Opens copies of read models, keeps the registry of which copy serves, runs batches."""

    dialect: Dialect
    # Where the registry lives (on PostgreSQL, the event database).
    registry: SQLiteDatastore | PostgresDatastore

    def __init__(self) -> None:
        self._views: dict[tuple[str, int], View] = {}
        self._opening = threading.Lock()
        self._serving: set[Copy] = set()  # copies this process gave their serving indexes

    def _registry(self, statement: str, params: tuple[object, ...] = ()) -> list[Any]:
        """Run one statement (that returns rows) on the registry, in a transaction of its own."""
        with self.registry.transaction(commit=True) as curs:
            curs.execute(statement, params)
            return list(curs.fetchall())

    def copies(self, name: str | None = None) -> list[CopyInfo]:
        """The registered copies (of `name`) under the current fold version, by their plain names."""
        suffix = registered_name("")
        found = [
            CopyInfo(r["name"].removesuffix(suffix), int(r["generation"]), bool(r["active"]))
            for r in self._registry(
                "SELECT name, generation, active FROM projection_copies ORDER BY name, generation"
            )
            if r["name"].endswith(suffix)
        ]
        return [c for c in found if name in (None, c.name)]

    def active_generation(self, name: str) -> int | None:
        return next((c.generation for c in self.copies(name) if c.active), None)

    def add_copy(self, name: str, active: bool) -> int:
        """Register a new copy (the next generation number) and return its number."""
        (row,) = self._registry(
            "INSERT INTO projection_copies (name, generation, active) "
            "SELECT ?, COALESCE(MAX(generation), 0) + 1, ? FROM projection_copies WHERE name = ? "
            "RETURNING generation",
            (registered_name(name), active, registered_name(name)),
        )
        return int(row["generation"])

    def activate(self, name: str, generation: int) -> None:
        self._registry(
            "UPDATE projection_copies SET active = (generation = ?) WHERE name = ? RETURNING generation",
            (generation, registered_name(name)),
        )

    def view(self, model: ReadModel, generation: int, create: bool = False) -> View:
        """The view of one copy (a TrackingRecorder), creating its tables when `create`."""
        key = (model.name, generation)
        with self._opening:
            if key not in self._views:
                if not create and generation not in [c.generation for c in self.copies(model.name)]:
                    raise CopyNotFoundError(f"{model.name} copy {generation} does not exist")
                view = self._open_view(model, generation)
                try:
                    view.create_table()
                except (IntegrityError, ProgrammingError):
                    # Another process created the same tables at the same moment (PostgreSQL says so
                    # as a unique violation, or as "type ... already exists"); they exist now. A real
                    # error raises again.
                    view.create_table()
                self._views[key] = view
            return self._views[key]

    @abstractmethod
    def _open_view(self, model: ReadModel, generation: int) -> View: ...

    def drop_copy(self, model: ReadModel, generation: int) -> None:
        """Delete a copy (after it stopped serving): its tables, then its registry entry."""
        view: View | None = self._views.pop((model.name, generation), None)
        self._drop_tables(view or self._open_view(model, generation))
        self._registry(
            "DELETE FROM projection_copies WHERE name = ? AND generation = ? RETURNING generation",
            (registered_name(model.name), generation),
        )

    @abstractmethod
    def _drop_tables(self, view: View) -> None: ...

    @abstractmethod
    def batch(self, *views: View) -> contextlib.AbstractContextManager[dict[Copy, Cursor]]:
        """Write transactions on the copies, each holding its copy's writer lock: a cursor per copy
        whose lock was taken (another worker holds the others). On PostgreSQL one transaction
        covers them all; on SQLite each copy (file) has its own, committed one after another."""

    @abstractmethod
    def _locked(self, view: View) -> contextlib.AbstractContextManager[Cursor]:
        """A write transaction on the copy that waits for its writer lock."""

    def read(self, view: View) -> contextlib.AbstractContextManager[Cursor]:
        """A read-only transaction on the copy."""
        return view.datastore.transaction(commit=False)

    def prepare_to_serve(self, view: View) -> None:
        """Run a copy's (idempotent) serving statements (`ReadModel.serving_ddl`) under its writer lock,
        once per process."""
        if view.copy not in self._serving and (statements := view.model.serving_ddl(view.copy)):
            with self._locked(view) as curs:
                for statement in statements:
                    curs.execute(statement)
        self._serving.add(view.copy)

    def position(self, view: View) -> int:
        return view.max_tracking_id(UPSTREAM) or 0

    def close(self) -> None:
        # On PostgreSQL the views and the registry share one datastore; closing it again does nothing.
        for view in self._views.values():
            view.datastore.close()
        self._views.clear()
        self.registry.close()


class SQLiteViewDatabase(ViewDatabase):
    def __init__(self, events_file: Path) -> None:
        super().__init__()
        self.dialect = Dialect()
        self.base = events_file.with_name(events_file.stem + "-views")
        self.registry = SQLiteDatastore(str(self.base.with_suffix(".db")), lock_timeout=10, pool_size=2)
        with self.registry.transaction(commit=True) as curs:
            curs.execute(REGISTRY_DDL)

    def _open_view(self, model: ReadModel, generation: int) -> SQLiteView:
        file = self.base.with_name(f"{self.base.name}.{Copy(model.name, generation, self.dialect).prefix}.db")
        return SQLiteView(
            SQLiteDatastore(str(file), lock_timeout=30, pool_size=3), model=model, generation=generation
        )

    def _drop_tables(self, view: View) -> None:
        assert isinstance(view, SQLiteView)
        view.datastore.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{view.datastore.pool.db_name}{suffix}").unlink(missing_ok=True)

    @contextlib.contextmanager
    def batch(self, *views: View) -> Iterator[dict[Copy, Cursor]]:
        # Files are locked in one order, so two workers never wait on each other's locks in a cycle.
        with contextlib.ExitStack() as stack:
            yield {
                view.copy: stack.enter_context(self._locked(view))
                for view in sorted(views, key=lambda v: (v.copy.name, v.copy.generation))
            }

    @contextlib.contextmanager
    def _locked(self, view: View) -> Iterator[Cursor]:
        """A `BEGIN IMMEDIATE` transaction on the copy's file: it serializes the file's writers."""
        assert isinstance(view, SQLiteView)
        with view.datastore.get_connection(commit=True) as conn:
            curs = conn.cursor()
            curs.execute("BEGIN IMMEDIATE")
            try:
                yield curs
            except BaseException:
                conn.rollback()
                raise
            conn.commit()


def _lock_key(copy: Copy) -> tuple[int, int]:
    """A copy's two-key advisory lock: a stable 32-bit key per read model (and fold), and the copy."""
    return zlib.crc32(f"tickets-projection:{registered_name(copy.name)}".encode()) - 2**31, copy.generation


class PostgresViewDatabase(ViewDatabase):
    def __init__(self, env: dict[str, str], pool_size: int = 3) -> None:
        super().__init__()
        self.dialect = PostgresDialect()
        self.registry = self.datastore = PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env.get("POSTGRES_PASSWORD", ""),
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            lock_timeout=int(env.get("POSTGRES_LOCK_TIMEOUT", "5")),
            idle_in_transaction_session_timeout=60,
            schema=env.get("POSTGRES_SCHEMA", ""),
        )
        # The read models' SQL uses `?`; every connection of this pool (psycopg_pool's, not part of the
        # library's interface) makes QmarkCursors. It must be set before the pool opens: an eventsourcing
        # upgrade that builds its pool differently has to keep this working (tests/projections fail if not).
        cast(dict[str, Any], self.datastore.pool.kwargs)["cursor_factory"] = QmarkCursor
        with self.registry.transaction(commit=True) as curs:
            # Two processes may start at once: serialize the creation of the registry.
            curs.execute("SELECT pg_advisory_xact_lock(?)", _lock_key(Copy("registry", 0, self.dialect))[:1])
            curs.execute(REGISTRY_DDL)

    def _open_view(self, model: ReadModel, generation: int) -> PostgresView:
        return PostgresView(self.datastore, model=model, generation=generation)

    def _drop_tables(self, view: View) -> None:
        # Waits for a batch in flight on this copy to finish before dropping its tables.
        with self._locked(view) as curs:
            curs.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = ? AND tablename LIKE ?",
                (self.datastore.schema, f"{view.copy.prefix}\\_%"),
            )
            for row in curs.fetchall():
                curs.execute(SQL("DROP TABLE IF EXISTS {} CASCADE").format(Identifier(row["tablename"])))

    @contextlib.contextmanager
    def batch(self, *views: View) -> Iterator[dict[Copy, Cursor]]:
        with self.datastore.transaction(commit=True) as curs:
            cursors: dict[Copy, Cursor] = {}
            for view in views:
                curs.execute("SELECT pg_try_advisory_xact_lock(?, ?) AS locked", _lock_key(view.copy))
                row = curs.fetchone()
                if row is not None and row["locked"]:
                    cursors[view.copy] = curs
            yield cursors

    @contextlib.contextmanager
    def _locked(self, view: View) -> Iterator[Cursor]:
        # Batches of this copy skip their round meanwhile (they only try the lock).
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(?, ?)", _lock_key(view.copy))
            curs.execute("SET LOCAL maintenance_work_mem = '256MB'")  # for the index builds of a switch
            yield curs


def open_view_database(settings: Settings) -> ViewDatabase:
    """The view database that goes with the event store named by the settings."""
    if settings.is_postgres:
        return PostgresViewDatabase(settings.persistence_env())
    return SQLiteViewDatabase(sqlite_path(settings.database_url))
