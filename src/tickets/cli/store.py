"""Opening the store for the server-side commands (`serve`, `admin`, `projections`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tickets.bootstrap import Services, build_services
from tickets.cli.client import CliError
from tickets.domain.errors import DomainError
from tickets.infrastructure.settings import SettingsError


def open_services() -> Services:
    """The services over TICKETS_DATABASE_URL; a store that cannot be opened is one `error:` line."""
    try:
        return build_services()
    except SettingsError as error:
        raise CliError(str(error)) from None


@contextmanager
def store() -> Iterator[Services]:
    """The services for one operator command, closed after it; a refused change is one `error:` line."""
    services = open_services()
    try:
        yield services
    except DomainError as error:
        raise CliError(str(error)) from None
    finally:
        services.close()
