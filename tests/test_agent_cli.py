"""`pfai agent train triage` retrains an org's triage model from its history, on the store it names."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from benchmarks.triage_history import generate
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.values import Category, Priority, Status
from tickets.infrastructure.settings import Settings


def pfai(database_url: str, models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETS_DATABASE_URL": database_url, "TICKETS_MODEL_DIR": str(models)}
    return subprocess.run(
        [sys.executable, "-m", "tickets.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_train_triage_from_the_orgs_history(database_url: str, tmp_path: Path) -> None:
    slug = f"train-{secrets.token_hex(3)}"
    services = build_services(Settings(database_url))
    try:
        created = services.directory.create_org(slug, "Train", f"ada@{slug}.test")
        admin = services.directory.authenticate(created.token)
        assert admin is not None
        for ticket in generate(35, seed=5):
            saved = services.tickets.create(
                admin,
                NewTicket(
                    subject=ticket.subject,
                    description=ticket.description,
                    category=Category(ticket.category),
                    priority=Priority(ticket.priority),
                ),
            )
            if saved.value.ticket_number <= 32:  # three stay open: not labelled yet
                services.tickets.update(
                    admin, str(saved.value.ticket_number), TicketChanges(status=Status.RESOLVED)
                )
    finally:
        services.close()
    models = tmp_path / "models"
    trained = pfai(database_url, models, "agent", "train", "triage", "--org", slug, "--json")
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)
    assert report["usable"] is True and report["examples"] == 32
    assert (models / str(created.org_id) / "triage.joblib").exists()
    missing = pfai(database_url, models, "agent", "train", "triage", "--org", "no-such-org")
    assert missing.returncode != 0 and "no-such-org" in missing.stderr
