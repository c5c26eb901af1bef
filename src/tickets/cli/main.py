"""Entry point of the `pfai` command."""

from __future__ import annotations

import click

from tickets.cli.admin import admin


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pfai-tickets")
def cli() -> None:
    """pfai: event-sourced customer-support tickets.

    \b
    Examples:
      pfai serve --port 8000
      pfai admin create-org acme --name "Acme Inc" --admin-email alice@acme.test
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT")
def serve(host: str, port: int) -> None:
    """Run the HTTP API on the store named by TICKETS_DATABASE_URL (default: ./var/tickets.db)."""
    import uvicorn

    from tickets.api.app import create_app
    from tickets.bootstrap import build_services

    services = build_services()
    click.echo(f"pfai tickets on http://{host}:{port}  (store: {services.store}; docs: /schema)", err=True)
    uvicorn.run(create_app(services), host=host, port=port, log_level="info")


cli.add_command(admin)


if __name__ == "__main__":
    cli()
