"""`pfai projections run`: with TICKETS_PROJECTIONS=external the servers run no policy, so the worker
runs them all: the read models, and mail, rules, agents, webhooks and the time-driven policies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.api.test_rules_api import make_rule, new_ticket, ticket
from tests.conftest import Org
from tickets.bootstrap import Services, build_services, follower_of
from tickets.domain.commands import NewTicket
from tickets.infrastructure.settings import MailSettings, Settings


def test_an_external_worker_sends_the_mail_the_servers_do_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    mail_dir = tmp_path / "mail"
    services = build_services(Settings(url, mail=MailSettings(directory=mail_dir)))
    try:
        created = services.directory.create_org("acme", "Acme", "ada@acme.test", "Ada")
        admin = services.directory.authenticate(created.token)
        assert admin is not None
        services.tickets.create(admin, NewTicket(subject="Printer", contact_email="cara@example.com"))
        services.tickets.add_message(admin, "1", "We are on it", is_internal_note=False)
    finally:
        services.close()
    env = {**os.environ, "TICKETS_DATABASE_URL": url, "TICKETS_MAIL_DIR": str(mail_dir)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tickets.cli.main", "projections", "run", "--poll-interval", "0.1"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Waiting on another process's work (bounded), not on time passing.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(mail_dir.glob("*.eml")):
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    [sent] = list(mail_dir.glob("*.eml"))
    assert b"We are on it" in sent.read_bytes()


def test_a_followers_round_runs_the_trigger_rules(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    # The follower a worker (or the elected server) runs, with the rules on, one round at a time.
    services.run_rules = True
    follower = follower_of(services)
    make_rule(client, org)  # ticket.created -> priority urgent
    created = new_ticket(client, org)
    for _ in range(20):  # bounded rounds (a round may find a batch held by the test server's follower)
        follower.run_once()
        if ticket(client, org, created["id"])["priority"] == "urgent":
            return
    raise AssertionError("the follower's rounds never ran the rule")
