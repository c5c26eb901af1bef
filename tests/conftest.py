"""Shared fixtures: every persistence and API test runs on SQLite and on PostgreSQL.

PostgreSQL tests get one fresh database per run (dropped afterwards). With CI=true an
unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from tickets.api.app import create_app
from tickets.bootstrap import Services, build_services
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import AgentSettings, MailSettings, Settings

PG_ADMIN_DSN = os.environ.get("TICKETS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if _in_ci():
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_DSN}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}")
    name = f"tickets_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def services(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Services]:
    # Mail goes to files in the test's own directory (no SMTP server named): never into ./var/mail.
    built = build_services(
        Settings(
            database_url,
            mail=MailSettings(directory=tmp_path / "mail"),
            agents=AgentSettings(model_directory=tmp_path / "models"),
        ),
        clock=clock,
    )
    # Tests move the clock by hand: breaches are recorded when a test asks, never behind its back.
    built.record_sla_breaches = False
    built.send_mail = False  # and mail is sent when a test asks (tests/integration/test_email_channel.py)
    built.run_agents = False  # and agents run when a test asks (tests/integration/test_agents.py)
    built.send_webhooks = False  # and so are webhooks (tests/integration/test_webhooks.py)
    built.run_rules = False  # and trigger rules run when a test asks (tests/integration/test_rules.py)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(services)) as test_client:
        yield test_client


@dataclass
class Member:
    """A member of a test org, with a ready Authorization header."""

    org_id: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Org:
    slug: str
    admin: Member
    add_member: Callable[..., Member]


@pytest.fixture
def make_org(services: Services) -> Callable[..., Org]:
    """Create orgs with a unique slug; each has an admin and can add members."""

    def make(slug: str | None = None) -> Org:
        slug = slug or f"org-{secrets.token_hex(4)}"
        created = services.directory.create_org(slug, slug.title(), f"admin@{slug}.test", "Ada Admin")

        def add_member(role: str = "agent", email: str | None = None, name: str | None = None) -> Member:
            from tickets.domain.values import Role

            email = email or f"{role}-{secrets.token_hex(3)}@{slug}.test"
            user = services.directory.create_user(created.org_id, email, name or email, Role(role))
            return Member(str(user.org_id), str(user.user_id), user.token)

        return Org(slug, Member(str(created.org_id), str(created.user_id), created.token), add_member)

    return make


@pytest.fixture
def org(make_org: Callable[..., Org]) -> Org:
    return make_org()


def settle(services: Services) -> None:
    """Bring every read model to the head of the log: a batch here, or, when the test server's own
    follower holds a copy's lock (PostgreSQL), its batch waited for."""
    from projections.runner import ALL_MODELS

    assert services.read_side is not None
    services.read_side.catch_up_all()
    assert services.read_side.wait_for(services.app.head_position(), 10, names=list(ALL_MODELS))
