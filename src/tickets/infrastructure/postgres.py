"""PostgreSQL set-up the library does not do itself: a quick first connection, and the schema."""

from __future__ import annotations

import re
from collections.abc import Mapping

import psycopg
from psycopg import sql

from tickets.infrastructure.settings import SettingsError

# The library's pool retries for 30 s before it gives up; the first connection gives up sooner.
CONNECT_TIMEOUT_SECONDS = 2  # libpq's minimum


class DatabaseUnavailableError(SettingsError):
    """The configured PostgreSQL database cannot be opened (no server, no database, no access)."""


def _one_line(error: Exception) -> str:
    """psycopg's reason (`database "x" does not exist`, `Connection refused`), without its preamble."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = re.split(r"failed:\s*", lines[0])[-1] if lines else type(error).__name__
    return " ".join(reason.removeprefix("FATAL:").split())


def open_database(env: Mapping[str, str]) -> None:
    """Connect once (failing within seconds, with a one-line reason) and create POSTGRES_SCHEMA if missing."""
    host, port, dbname, user = (
        env["POSTGRES_HOST"],
        env["POSTGRES_PORT"],
        env["POSTGRES_DBNAME"],
        env["POSTGRES_USER"],
    )
    try:
        conn = psycopg.connect(
            dbname=dbname,
            host=host,
            port=port,
            user=user,
            password=env.get("POSTGRES_PASSWORD") or None,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except psycopg.OperationalError as error:
        reason = _one_line(error)
        place = f"PostgreSQL database {dbname!r} on {host}:{port}"
        if "does not exist" in reason:
            hint = f"create it with: createdb -h {host} -p {port} -U {user} {dbname}"
        elif "timeout" in reason.lower():
            hint = "the server did not answer; is it running, and are the host and port right?"
        else:
            hint = "is the server running, and are the host, port and user right?"
        raise DatabaseUnavailableError(f"cannot open {place}: {reason}; {hint}") from None
    with conn:
        schema = env.get("POSTGRES_SCHEMA")
        if schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
