"""`pfai api`: call any endpoint with the configured server and token."""

from __future__ import annotations

import json
from typing import Any

import click

from tickets.cli.client import API_PREFIX
from tickets.cli.inputs import read_file_or_stdin
from tickets.cli.options import ClientCommand, api_client
from tickets.cli.output import emit

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def request_body(data: str | None) -> Any:
    """The JSON body of `-d`: inline JSON, `@file`, or `@-` for stdin."""
    if data is None:
        return None
    text = read_file_or_stdin(data[1:]) if data.startswith("@") else data
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not valid JSON: {error}", param_hint="'-d'") from error


def api_path(path: str) -> str:
    """`/api/v1/tickets` as given; `tickets` and `/tickets` become `/api/v1/tickets`."""
    if path.startswith(("/api/", "/health", "/schema")):
        return path
    return f"{API_PREFIX}/{path.lstrip('/')}"


@click.command(cls=ClientCommand)
@click.argument("method", type=click.Choice(METHODS, case_sensitive=False))
@click.argument("path")
@click.option("-d", "--data", metavar="JSON|@FILE", help="Request body: JSON text, @file, or @- for stdin.")
@click.option(
    "-p", "--param", "params", metavar="KEY=VALUE", multiple=True, help="Query parameter (repeatable)."
)
@click.option("-i", "--include", is_flag=True, help="Print the status line and headers (to stderr).")
def api(method: str, path: str, data: str | None, params: tuple[str, ...], include: bool) -> None:
    """Call any API endpoint and print the JSON answer.

    PATH may leave out the /api/v1 prefix. The answer is printed as JSON (or YAML with -o yaml);
    --query filters it.

    \b
    Examples:
      pfai api GET /api/v1/tickets/42
      pfai api GET tickets -p status=open -p limit=5 --query 'items[].subject'
      pfai api POST /api/v1/tickets/42/messages \\
        -d '{"content": "Hi! We just shipped a fix in v1.4.3.", "isInternalNote": false}'
      pfai api POST /api/v1/ticket-tags -d '{"name": "regression", "color": "#ef4444"}'
      pfai api PATCH tickets/42 -d @changes.json
      pfai api DELETE /api/v1/ticket-tags/1a2b3c4d-...
    """
    query: dict[str, str] = {}
    for pair in params:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="'-p'")
        query[key] = value
    response = api_client().send(method, api_path(path), params=query, json=request_body(data))
    if include:
        click.echo(f"HTTP/1.1 {response.status_code} {response.reason_phrase}", err=True)
        for name, value in response.headers.items():
            click.echo(f"{name}: {value}", err=True)
    if not response.content:
        return
    if "json" not in response.headers.get("content-type", ""):
        click.echo(response.text)
        return
    emit(response.json())  # JSON unless -o yaml: there is no table for an arbitrary answer
