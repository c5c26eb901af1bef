"""Opening the store for the server-side commands (`serve`, `admin`, `projections`)."""

from __future__ import annotations

from tickets.bootstrap import Services, build_services
from tickets.cli.client import CliError
from tickets.infrastructure.settings import SettingsError


def open_services() -> Services:
    """The services over TICKETS_DATABASE_URL; a store that cannot be opened is one `error:` line."""
    try:
        return build_services()
    except SettingsError as error:
        raise CliError(str(error)) from None
