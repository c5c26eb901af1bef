"""Wires the real adapters: settings -> event store -> services."""

from __future__ import annotations

import os

from projections.runner import ReadSide
from tickets.api.dependencies import Services
from tickets.application.app import TicketsApp
from tickets.application.directory import DirectoryService
from tickets.application.tickets import TicketService
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.postgres import open_database
from tickets.infrastructure.settings import Settings


def build_services(settings: Settings | None = None, clock: Clock = system_clock) -> Services:
    """Open the event store named by the settings (creating its tables) and build the services.

    Raises `SettingsError` (one line, for people) for an unusable URL or a PostgreSQL database
    that cannot be opened.
    """
    settings = settings or Settings.from_env()
    env = settings.persistence_env()
    if settings.is_postgres:
        open_database(env)
    app = TicketsApp(env=env)
    directory = DirectoryService(app, clock)
    tickets = TicketService(app, directory, clock)
    store = "postgresql" if settings.is_postgres else "sqlite"
    # TICKETS_PROJECTIONS=external when `pfai projections run` workers follow the log instead of the server.
    embedded = os.environ.get("TICKETS_PROJECTIONS", "embedded").lower() != "external"
    return Services(
        app=app,
        directory=directory,
        tickets=tickets,
        clock=clock,
        store=store,
        read_side=ReadSide.open(settings, app, clock),
        embedded_projections=embedded,
    )
