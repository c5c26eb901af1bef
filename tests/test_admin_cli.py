"""`pfai admin` creates orgs and users on the store named by TICKETS_DATABASE_URL."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

from tickets.application.attachments import IncomingFile
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket
from tickets.infrastructure.settings import Settings


def pfai(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETS_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_create_org_and_user_print_working_tokens(database_url: str) -> None:
    slug = f"cli-{os.getpid()}"
    org = pfai(
        database_url,
        "admin",
        "create-org",
        slug,
        "--name",
        "CLI Org",
        "--admin-email",
        "ann@cli.test",
        "--json",
    )
    assert org.returncode == 0, org.stderr
    created: dict[str, Any] = json.loads(org.stdout)
    assert set(created) == {"orgId", "userId", "token"}
    user = pfai(
        database_url,
        "admin",
        "create-user",
        "--org",
        slug,
        "--email",
        "bob@cli.test",
        "--name",
        "Bob",
        "--role",
        "viewer",
        "--json",
    )
    assert user.returncode == 0, user.stderr
    added = json.loads(user.stdout)
    assert added["orgId"] == created["orgId"]
    services = build_services(Settings(database_url))
    try:
        for token, user_id, role in (
            (created["token"], created["userId"], "admin"),
            (added["token"], added["userId"], "viewer"),
        ):
            actor = services.directory.authenticate(token)
            assert actor is not None
            assert (str(actor.user_id), actor.role.value) == (user_id, role)
    finally:
        services.app.close()
    again = pfai(database_url, "admin", "create-org", slug, "--name", "Dup", "--admin-email", "x@cli.test")
    assert again.returncode == 1 and "already exists" in again.stderr
    unknown = pfai(
        database_url, "admin", "create-user", "--org", "nope", "--email", "a@b.test", "--name", "A"
    )
    assert unknown.returncode == 1 and "no org" in unknown.stderr


def test_revoked_token_stops_working(database_url: str) -> None:
    slug = f"rev-{os.getpid()}"
    created = json.loads(
        pfai(
            database_url, "admin", "create-org", slug, "--name", "R", "--admin-email", "r@r.test", "--json"
        ).stdout
    )
    revoked = pfai(database_url, "admin", "revoke-token", created["token"])
    assert revoked.returncode == 0, revoked.stderr
    services = build_services(Settings(database_url))
    try:
        assert services.directory.authenticate(created["token"]) is None
    finally:
        services.app.close()
    assert pfai(database_url, "admin", "revoke-token", "pfai_unknown").returncode == 1


def test_sweep_attachments_keeps_what_is_in_use(database_url: str) -> None:
    services = build_services(Settings(database_url))
    try:
        created = services.directory.create_org(f"sweep-{os.getpid()}", "Sweep", "s@sweep.test")
        admin = services.directory.authenticate(created.token)
        assert admin is not None
        services.tickets.create(admin, NewTicket(subject="s"))
        (attachment,) = services.attachments.upload(
            admin, "1", [IncomingFile("a.txt", "text/plain", io.BytesIO(b"fresh"))]
        ).value
    finally:
        services.close()
    swept = pfai(database_url, "admin", "sweep-attachments")
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.startswith("Removed ")
    services = build_services(Settings(database_url))
    try:
        assert services.attachments.blobs.size(attachment.sha256) == 5  # stored within the hour: kept
    finally:
        services.close()
