"""`pfai mail import` takes .eml files, directories and mbox files with the intake's rules, and
`pfai mail receive` runs the SMTP intake alone, on the store named by TICKETS_DATABASE_URL."""

from __future__ import annotations

import json
import mailbox
import os
import secrets
import smtplib
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

from tests.integration.mail_helpers import free_port, mail
from tests.test_admin_cli import pfai
from tickets.application.actors import Actor
from tickets.bootstrap import build_services
from tickets.domain.values import Role
from tickets.infrastructure.settings import Settings


def test_import_an_mbox_and_a_directory_twice_changes_nothing_the_second_time(
    database_url: str, tmp_path: Path
) -> None:
    slug = f"imp-{secrets.token_hex(3)}"
    assert (
        pfai(
            database_url, "admin", "create-org", slug, "--name", "Imp", "--admin-email", f"a@{slug}.test"
        ).returncode
        == 0
    )
    box = mailbox.mbox(str(tmp_path / "support.mbox"))
    box.add(mail("cara@example.com", "old@example.com", "Printer", "From now on it jams.", "p1@example.com"))
    box.add(
        mail(
            "cara@example.com",
            "old@example.com",
            "Re: Printer",
            "Still jams",
            "p2@example.com",
            in_reply_to="p1@example.com",
        )
    )
    box.add(
        mail(
            "bot@example.com",
            "old@example.com",
            "Away",
            "OOO",
            "p3@example.com",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    box.flush()
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "one.eml").write_bytes(
        bytes(mail("dan@example.com", "old@example.com", "VPN", "Down", "v1@example.com"))
    )

    first = pfai(database_url, "mail", "import", str(tmp_path / "support.mbox"), "--org", slug, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"created": 1, "replied": 1, "ignored": 1}
    again = pfai(database_url, "mail", "import", str(tmp_path / "support.mbox"), "--org", slug, "--json")
    assert json.loads(again.stdout) == {"duplicate": 2, "ignored": 1}
    folder = pfai(database_url, "mail", "import", str(tmp_path / "eml"), "--org", slug)
    assert folder.returncode == 0 and folder.stdout.strip() == "1 created"
    missing = pfai(database_url, "mail", "import", str(tmp_path / "support.mbox"), "--org", "no-such-org")
    assert missing.returncode != 0 and "no-such-org" in missing.stderr


def test_mail_receive_runs_the_intake_alone(database_url: str, tmp_path: Path) -> None:
    slug = f"rcv-{secrets.token_hex(3)}"
    assert (
        pfai(
            database_url, "admin", "create-org", slug, "--name", "Rcv", "--admin-email", f"a@{slug}.test"
        ).returncode
        == 0
    )
    port = free_port()
    env = {**os.environ, "TICKETS_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "tickets.cli.main", "mail", "receive", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        assert "SMTP intake on" in server.stderr.readline()  # ready
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(
                mail("cara@example.com", f"{slug}@tickets.localhost", "Hello", "Hi", "r1@example.com")
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    services = build_services(Settings(database_url))
    try:
        route = services.mail.route(f"{slug}@tickets.localhost")
        assert route is not None
        reader = Actor(user_id=uuid4(), org_id=route.org_id, role=Role.ADMIN)
        assert services.tickets.get(reader, "1").subject == "Hello"
    finally:
        services.close()
