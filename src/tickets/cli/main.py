"""Entry point of the `pfai` command: the root group, `serve` and `completion`."""

from __future__ import annotations

import os
from typing import Any

import click
from click.shell_completion import get_completion_class

from tickets.cli.admin import admin
from tickets.cli.agent import agent
from tickets.cli.commands.account import login, logout, whoami
from tickets.cli.commands.api import api
from tickets.cli.commands.contact import contact, portal_link
from tickets.cli.commands.inbox import inbox
from tickets.cli.commands.issue import convert_ticket, issue
from tickets.cli.commands.rules import rule
from tickets.cli.commands.settings import canned, sla_policy, tag
from tickets.cli.commands.ticket import ticket
from tickets.cli.mail import mail
from tickets.cli.options import ClientGroup, examples
from tickets.cli.projections import projections


@click.group(cls=ClientGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pfai-tickets")
@examples(
    "pfai serve --port 8000",
    'pfai admin create-org acme --name "Acme Inc" --admin-email alice@acme.test',
    'pfai login --server http://127.0.0.1:8000 --token "$TOKEN"',
    "pfai ticket list --status open --priority high",
    "pfai ticket view 42",
    'pfai ticket create --subject "Login broken" --priority high --category technical',
    "pfai ticket update 42 --status resolved --assignee alice",
    "pfai ticket ls -o json --query '[].ticketNumber'",
    'pfai api POST /api/v1/ticket-tags -d \'{"name": "regression", "color": "#ef4444"}\'',
    'eval "$(pfai completion bash)"',
)
def cli() -> None:
    """pfai: event-sourced customer-support tickets.

    The server side (`serve`, `admin`) runs on the store; every other command is a client of the
    REST API at --server (or PFAI_SERVER, or the profile saved by `pfai login`).
    """


def cores() -> int:
    """The CPUs this process may run on (its affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@cli.command(cls=click.Command)  # on the store, not a client of the API
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="API processes sharing the port (default: one per core on PostgreSQL; SQLite takes one).",
)
@examples(
    "pfai serve",
    "TICKETS_DATABASE_URL=postgresql://postgres@127.0.0.1/tickets pfai serve --host 0.0.0.0 --port 8080",
    "TICKETS_DATABASE_URL=postgresql://postgres@127.0.0.1/tickets pfai serve --workers 4",
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Run the HTTP API on the store named by TICKETS_DATABASE_URL (default: ./var/tickets.db).

    On PostgreSQL, --workers N API processes share the port, and so may other `pfai serve`s on
    the same database. The read models' follower and the policies (SLA breaches, auto-close, mail,
    webhooks, rules, agents) run in one process of them all: the one holding a PostgreSQL advisory
    lock; if it dies, another takes over within seconds. With TICKETS_PROJECTIONS=external none of
    them runs it and `pfai projections run` does. SQLite is single-writer: one process.
    """
    import uvicorn

    from tickets.api.app import create_app
    from tickets.cli.store import open_services

    # Opened here once (tables created, the store checked) before any worker starts.
    services = open_services()
    if services.store != "postgresql":
        if workers is not None and workers > 1:
            services.close()
            raise click.UsageError(
                f"--workers {workers}: SQLite is single-writer, so it is served by one process; "
                "for several, use PostgreSQL (TICKETS_DATABASE_URL=postgresql://...)"
            )
        if workers is None:
            click.echo("SQLite is single-writer: serving with one worker process.", err=True)
        workers = 1
    workers = workers or cores()
    click.echo(
        f"pfai tickets on http://{host}:{port}  (store: {services.store}; workers: {workers}; docs: /schema)",
        err=True,
    )
    intake_port = services.mail_settings.intake_port
    intake = None
    if intake_port is not None:
        from tickets.mail.server import SmtpIntake

        # The SMTP intake (TICKETS_SMTP_INTAKE_PORT) listens on the same host as HTTP, in this
        # process only: one listener, whatever the number of workers.
        intake = SmtpIntake(services.mail, host, intake_port).start()
        click.echo(f"SMTP intake on {host}:{intake.port} for *@{services.mail_settings.domain}", err=True)
    # Open event streams (/api/v1/events/stream) never finish by themselves: on shutdown, uvicorn
    # waits this long for requests, then cancels what is left (clients resume with Last-Event-ID).
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "timeout_graceful_shutdown": 5,
    }
    try:
        if workers == 1:
            uvicorn.run(create_app(services, elect_follower=True), **options)
        else:
            if intake is None:
                services.close()  # the workers open their own
            # uvicorn's supervisor binds the port and starts the workers; each builds its app.
            uvicorn.run("tickets.api.app:serve_app", factory=True, workers=workers, **options)
    finally:
        if intake is not None:
            intake.stop()
            if workers > 1:
                services.close()


@cli.command(cls=click.Command)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@examples(
    'eval "$(pfai completion bash)"                 # in ~/.bashrc',
    'eval "$(pfai completion zsh)"                  # in ~/.zshrc',
    "pfai completion fish > ~/.config/fish/completions/pfai.fish",
)
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL."""
    completion_class = get_completion_class(shell)
    if completion_class is None:  # pragma: no cover - the Choice only offers supported shells
        raise click.UsageError(f"no completion for {shell}")
    click.echo(completion_class(cli, {}, "pfai", "_PFAI_COMPLETE").source())


for command in (
    admin,
    login,
    logout,
    whoami,
    ticket,
    issue,
    inbox,
    contact,
    portal_link,
    tag,
    sla_policy,
    canned,
    rule,
    api,
    projections,
    mail,
    agent,
):
    cli.add_command(command)


ticket.add_command(convert_ticket)


if __name__ == "__main__":
    cli()
