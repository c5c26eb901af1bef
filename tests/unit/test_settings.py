"""TICKETS_DATABASE_URL maps onto the library's persistence settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.infrastructure.settings import (
    AttachmentLimits,
    Settings,
    SettingsError,
    persistence_env,
    sqlite_path,
)


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


def test_attachment_limits_default_to_25_mib_and_10_files_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TICKETS_ATTACHMENT_MAX_BYTES", raising=False)
    monkeypatch.delenv("TICKETS_ATTACHMENT_MAX_FILES", raising=False)
    assert Settings.from_env().attachment_limits == AttachmentLimits(25 * 1024 * 1024, 10)
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX_BYTES", "1024")
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX_FILES", "3")
    assert Settings.from_env().attachment_limits == AttachmentLimits(max_file_bytes=1024, max_files=3)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "²"])
def test_attachment_limits_must_be_positive_whole_numbers(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX_FILES", value)
    with pytest.raises(SettingsError, match="TICKETS_ATTACHMENT_MAX_FILES"):
        Settings.from_env()


def test_sqlite_keeps_attachments_beside_its_file() -> None:
    assert Settings("sqlite:///var/t.db").attachments_directory() == Path("var/t.db.attachments")
    assert Settings("postgresql://h/db").attachments_directory() is None
