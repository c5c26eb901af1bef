"""`pfai agent`: operator commands for agents, on the store named by TICKETS_DATABASE_URL."""

from __future__ import annotations

import json

import click

from tickets.cli.options import examples
from tickets.cli.store import store
from tickets.domain.organization import AGENT_BEHAVIOURS


@click.group()
@examples("pfai agent train triage --org acme")
def agent() -> None:
    """Train the built-in agents' models directly on the store (TICKETS_DATABASE_URL)."""


@agent.command()
@click.argument("behaviour", type=click.Choice(AGENT_BEHAVIOURS))
@click.option("--org", "org_slug", required=True, help="Slug of the org whose history it learns from.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@examples("pfai agent train triage --org acme", "pfai agent train triage --org acme --json")
def train(behaviour: str, org_slug: str, as_json: bool) -> None:
    """Retrain a built-in agent's model from the org's history in the event log now.

    The server also retrains it by itself, when it is a day old or the org opened 50 tickets since.
    The model is written beside the SQLite database (`models/`) or to TICKETS_MODEL_DIR.
    """
    with store() as services:
        report = services.triage.train(services.directory.org_id_for_slug(org_slug))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "org": org_slug,
                    "examples": report.examples,
                    "usable": report.usable,
                    "reason": report.reason,
                    "categories": report.categories,
                    "priorities": report.priorities,
                }
            )
        )
    elif report.usable:
        click.echo(
            f"Trained {behaviour} for {org_slug!r} on {report.examples} finished tickets "
            f"(categories: {', '.join(report.categories)}; priorities: {', '.join(report.priorities)})."
        )
    else:
        click.echo(f"Trained nothing for {org_slug!r}: {report.reason}.")
