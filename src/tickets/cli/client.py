"""A small HTTP client for the tickets REST API, with problem+json errors turned into one-line messages.

This module talks HTTP only: it imports nothing from the server's application or domain code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any
from urllib.parse import quote

import click
import httpx

from tickets.cli.terminal import use_colour

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0

# Exit codes besides click's own (2 = bad usage).
EXIT_SERVER_ERROR = 1
EXIT_UNREACHABLE = 3


class CliError(click.ClickException):
    """An error shown as one `error: ...` line on stderr."""

    exit_code = EXIT_SERVER_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        stream = file or sys.stderr
        line = f"error: {self.format_message()}"
        click.echo(click.style(line, fg="red") if use_colour(stream) else line, file=stream)


class ServerUnreachableError(CliError):
    """No HTTP answer at all: refused, timed out, DNS failure, TLS failure."""

    exit_code = EXIT_UNREACHABLE


def package_version() -> str:
    try:
        return version("pfai-tickets")
    except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
        return "dev"


def path_segment(value: str) -> str:
    """A value made safe to put in a URL path (a ticket ref like `../users` stays one segment)."""
    return quote(value, safe="")


def _network_reason(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    reason = str(error) or type(error).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", reason)


def _problem_error(response: httpx.Response) -> CliError:
    """The server's error answer (usually an RFC 9457 problem) as one line: `title: detail (hint)`."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        title = str(body.get("title") or response.reason_phrase or f"HTTP {status}")
        detail = str(body.get("detail") or "")
    else:
        title, detail = f"HTTP {status} {response.reason_phrase or 'error'}", f"from {response.request.url}"
    message = f"{title}: {detail}" if detail and detail != title else title
    hint = " (check --token, PFAI_TOKEN or run `pfai login`)" if status == 401 else ""
    return CliError(message + hint)


class ApiClient:
    """Calls the API of one server with one bearer token."""

    def __init__(self, server: str, token: str | None) -> None:
        self.server = server.rstrip("/")
        headers = {"User-Agent": f"pfai/{package_version()}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=DEFAULT_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request; an error status raises `CliError`, no answer raises `ServerUnreachableError`."""
        # Unset filters (None, or an empty list of alternatives) are left out of the query.
        query = {key: value for key, value in (params or {}).items() if value not in (None, [], ())}
        try:
            response = self._http.request(method.upper(), path, params=query, json=json, headers=headers)
        except httpx.TransportError as error:
            raise ServerUnreachableError(
                f"could not reach the server at {self.server}: {_network_reason(error)}"
            ) from error
        if response.is_error:
            raise _problem_error(response)
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its decoded JSON body (None for an empty body)."""
        response = self.send(method, path, **kwargs)
        return response.json() if response.content else None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.call("GET", API_PREFIX + path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", API_PREFIX + path, json=body)

    def patch(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        return self.call("PATCH", API_PREFIX + path, json=body, headers=headers)

    def delete(self, path: str) -> None:
        self.call("DELETE", API_PREFIX + path)

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, follow: bool = True
    ) -> Iterator[dict[str, Any]]:
        """The pages of a paginated list (`{"items", "nextCursor"}`), following `nextCursor` if asked."""
        query = dict(params or {})
        while True:
            page: dict[str, Any] = self.get(path, query)
            yield page
            cursor = page.get("nextCursor")
            if not follow or not cursor:
                return
            query["cursor"] = cursor

    def all_items(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paginated list, page after page."""
        return [item for page in self.pages(path, params) for item in page["items"]]
