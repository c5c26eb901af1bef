"""The client commands run against a real server: uvicorn on a free local port, in a background thread."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.live_server import serving
from tickets.api.app import create_app
from tickets.bootstrap import Services, build_services
from tickets.cli.main import cli
from tickets.domain.values import Role
from tickets.infrastructure.settings import Settings

CLIENT_ENV_VARS = ("PFAI_SERVER", "PFAI_TOKEN", "PFAI_PROFILE", "NO_COLOR")


@dataclass
class LiveServer:
    url: str
    services: Services


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole CLI session, on a fresh SQLite file (each test makes its own org)."""
    database = tmp_path_factory.mktemp("cli-server") / "tickets.db"
    services = build_services(Settings(f"sqlite:///{database}"))
    with serving(create_app(services)) as url:
        yield LiveServer(url, services)


@dataclass
class Account:
    """A member of a test org and how to reach the server as them."""

    server: str
    token: str
    user_id: str
    handle: str
    email: str


@dataclass
class CliOrg:
    slug: str
    admin: Account
    add_member: Callable[..., Account]


@pytest.fixture
def cli_org(live_server: LiveServer) -> CliOrg:
    """A fresh org on the live server, with an admin (handle `ada`) who can add members."""
    directory = live_server.services.directory
    slug = f"org-{secrets.token_hex(4)}"
    created = directory.create_org(slug, "Acme", f"ada@{slug}.test", "Ada Admin")

    def add_member(name: str, role: str = "agent") -> Account:
        email = f"{name.lower()}@{slug}.test"
        user = directory.create_user(created.org_id, email, name, Role(role), name.lower())
        return Account(live_server.url, user.token, str(user.user_id), name.lower(), email)

    admin = Account(live_server.url, created.token, str(created.user_id), "ada", f"ada@{slug}.test")
    return CliOrg(slug, admin, add_member)


Pfai = Callable[..., Result]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config directory, and none of the user's PFAI_* settings."""
    directory = tmp_path / "config"
    monkeypatch.setenv("PFAI_CONFIG_DIR", str(directory))
    monkeypatch.setenv("COLUMNS", "80")
    for name in CLIENT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return directory


@pytest.fixture
def pfai(cli_org: CliOrg, config_dir: Path) -> Pfai:
    """Run `pfai ARGS...` as the org's admin (PFAI_SERVER/PFAI_TOKEN set); stdout and stderr apart."""

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None, as_: Account | None = None
    ) -> Result:
        account = as_ or cli_org.admin
        environment = {"PFAI_SERVER": account.server, "PFAI_TOKEN": account.token, **(env or {})}
        return CliRunner().invoke(cli, list(args), input=input, env=environment, catch_exceptions=False)

    return run


def ok(result: Result) -> str:
    """The stdout of a run that must have succeeded."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def ok_json(result: Result) -> Any:
    return json.loads(ok(result))
