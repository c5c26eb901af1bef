"""Entry point of the `pfai` command: the root group, `serve` and `completion`."""

from __future__ import annotations

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


@cli.command(cls=click.Command)  # on the store, not a client of the API
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT")
@examples(
    "pfai serve",
    "TICKETS_DATABASE_URL=postgresql://postgres@127.0.0.1/tickets pfai serve --host 0.0.0.0 --port 8080",
)
def serve(host: str, port: int) -> None:
    """Run the HTTP API on the store named by TICKETS_DATABASE_URL (default: ./var/tickets.db)."""
    import uvicorn

    from tickets.api.app import create_app
    from tickets.cli.store import open_services

    services = open_services()
    click.echo(f"pfai tickets on http://{host}:{port}  (store: {services.store}; docs: /schema)", err=True)
    intake_port = services.mail_settings.intake_port
    intake = None
    if intake_port is not None:
        from tickets.mail.server import SmtpIntake

        # The SMTP intake (TICKETS_SMTP_INTAKE_PORT) listens on the same host as HTTP.
        intake = SmtpIntake(services.mail, host, intake_port).start()
        click.echo(f"SMTP intake on {host}:{intake.port} for *@{services.mail_settings.domain}", err=True)
    try:
        # Open event streams (/api/v1/events/stream) never finish by themselves: on shutdown, uvicorn
        # waits this long for requests, then cancels what is left (clients resume with Last-Event-ID).
        uvicorn.run(create_app(services), host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    finally:
        if intake is not None:
            intake.stop()


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
