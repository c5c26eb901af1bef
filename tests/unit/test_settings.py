"""TICKETS_DATABASE_URL maps onto the library's persistence settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.infrastructure.settings import Settings, SettingsError, persistence_env, sqlite_path


def test_default_is_an_sqlite_file_under_var() -> None:
    assert Settings().database_url == "sqlite:///./var/tickets.db"
    assert sqlite_path("sqlite:///./var/tickets.db") == Path("var/tickets.db")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///tickets.db", Path("tickets.db")),
        ("sqlite:///var/t.db", Path("var/t.db")),
        ("sqlite:////srv/data/t.db", Path("/srv/data/t.db")),
    ],
)
def test_sqlite_urls_follow_the_sqlalchemy_convention(url: str, path: Path) -> None:
    assert sqlite_path(url) == path


def test_postgres_url_sets_connection_schema_and_a_lock_timeout() -> None:
    env = persistence_env("postgresql://ann:s%40cret@db.local:6543/tickets?schema=tenant_a")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.local",
        "6543",
        "tickets",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("ann", "s@cret")
    assert env["POSTGRES_SCHEMA"] == "tenant_a"
    assert int(env["POSTGRES_LOCK_TIMEOUT"]) > 0


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql://host/", "sqlite://", "nonsense"])
def test_unusable_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(SettingsError):
        persistence_env(url)
