"""PostgreSQL set-up the library does not do itself."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import sql


def ensure_schema(env: Mapping[str, str]) -> None:
    """Create the POSTGRES_SCHEMA named in `env` if it does not exist (the library expects it)."""
    schema = env.get("POSTGRES_SCHEMA")
    if not schema:
        return
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
