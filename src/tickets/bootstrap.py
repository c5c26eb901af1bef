"""The composition root: settings -> event store -> services, for the server, the CLI and the tests.

`build_services` opens the store a database URL names (creating its tables) with the read side
over it; `wire` builds the same services over an application that is already open, so unit
tests run everything on the library's in-memory store (`in_memory`) without a web framework.
Nothing here imports the HTTP layer: `pfai admin` and `pfai projections` start without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from projections.runner import Follower, ReadSide
from tickets.application.agent_dispatcher import AgentDispatcher
from tickets.application.app import TicketsApp
from tickets.application.attachments import AttachmentService
from tickets.application.contacts import ContactService
from tickets.application.directory import DirectoryService
from tickets.application.inbox import InboxService
from tickets.application.issues import IssueService
from tickets.application.mail_intake import MailIntake
from tickets.application.mail_sender import MailSender
from tickets.application.rules import RuleEngine, RuleService
from tickets.application.tickets import TicketService
from tickets.application.triage import Triage
from tickets.application.webhook_sender import WebhookSender
from tickets.application.webhooks import WebhookService
from tickets.infrastructure.agent_http import DispatchTransport, HttpDispatchTransport
from tickets.infrastructure.blobs import BlobStore, MemoryBlobStore, open_blob_store
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.key_locks import PostgresKeyLocks
from tickets.infrastructure.mailer import MailTransport, MemoryTransport, open_transport
from tickets.infrastructure.model_store import ModelStore
from tickets.infrastructure.postgres import open_database
from tickets.infrastructure.settings import (
    AgentSettings,
    AttachmentLimits,
    MailSettings,
    Settings,
    WebhookSettings,
)
from tickets.infrastructure.webhook_http import HttpTransport, WebhookTransport

IN_MEMORY = "memory"


@dataclass
class Services:
    """Everything an entry point (a request handler, a CLI command, a test) may call."""

    app: TicketsApp
    directory: DirectoryService
    tickets: TicketService
    contacts: ContactService
    attachments: AttachmentService
    issues: IssueService
    inbox: InboxService
    # The email channel: the intake (addresses, received mail) and the sender of queued mail.
    mail: MailIntake
    mail_sender: MailSender
    mail_settings: MailSettings
    # Agents: the dispatcher of @-mentions and rules' dispatches, and the built-in triage agent.
    agent_dispatcher: AgentDispatcher
    triage: Triage
    # Webhooks: the admin's service, and the policy that delivers the feed to them.
    webhooks: WebhookService
    webhook_sender: WebhookSender
    # Trigger rules: managing them, and the engine the read side's follower runs (`run_rules`).
    rules: RuleService
    rule_engine: RuleEngine
    clock: Clock
    store: str
    # The read models (list, stats, SLA breaches); `embedded_projections`: the server follows the log itself.
    read_side: ReadSide | None = None
    embedded_projections: bool = True
    # Whether that embedded loop also records `sla_breached` events as deadlines pass, and sends mail.
    record_sla_breaches: bool = True
    send_mail: bool = True
    # And runs agents' dispatches.
    run_agents: bool = True
    send_webhooks: bool = True
    run_rules: bool = True
    # How long list and stats wait for the read models to include a position (read-your-writes).
    read_your_writes_timeout: float = 2.0
    # The cross-process locks of the group committer's hot aggregates (PostgreSQL only).
    key_locks: PostgresKeyLocks | None = None

    def close(self) -> None:
        if self.read_side is not None:
            self.read_side.close()
        self.attachments.blobs.close()
        if self.key_locks is not None:
            self.key_locks.close()
        if isinstance(transport := self.webhook_sender.transport, HttpTransport):
            transport.close()
        self.app.close()


def wire(
    app: TicketsApp,
    clock: Clock = system_clock,
    store: str = IN_MEMORY,
    blobs: BlobStore | None = None,
    attachment_limits: AttachmentLimits = AttachmentLimits(),
    mail_settings: MailSettings = MailSettings(),
    transport: MailTransport | None = None,
    agent_settings: AgentSettings = AgentSettings(),
    models: ModelStore | None = None,
    dispatch_transport: DispatchTransport | None = None,
    webhook_settings: WebhookSettings = WebhookSettings(),
    webhook_transport: WebhookTransport | None = None,
    key_locks: PostgresKeyLocks | None = None,
) -> Services:
    """The services over an open application (no read side); attachment bytes, sent mail and trained
    models in memory unless `blobs`, `transport` and `models` say where."""
    directory = DirectoryService(app, clock)
    contacts = ContactService(app, clock)
    tickets = TicketService(app, directory, clock, contacts, attachment_limits, key_locks)
    attachments = AttachmentService(app, tickets, blobs or MemoryBlobStore(), attachment_limits, clock)
    triage = Triage(app, models or ModelStore(None), agent_settings, clock)
    dispatcher = AgentDispatcher(
        app,
        directory,
        triage,
        dispatch_transport or HttpDispatchTransport(agent_settings.dispatch_timeout),
        mail_settings.public_url,
        clock,
    )
    webhook_sender = WebhookSender(
        app,
        webhook_transport or HttpTransport(webhook_settings.allow_private, webhook_settings.timeout_seconds),
        clock,
    )
    rule_engine = RuleEngine(app, clock)
    return Services(
        app=app,
        directory=directory,
        tickets=tickets,
        contacts=contacts,
        attachments=attachments,
        issues=IssueService(app, directory, tickets, clock),
        inbox=InboxService(app, clock),
        mail=MailIntake(app, directory, tickets, attachments, mail_settings.domain),
        mail_sender=MailSender(
            app, transport or MemoryTransport(), attachments.blobs, contacts, mail_settings, clock
        ),
        mail_settings=mail_settings,
        agent_dispatcher=dispatcher,
        triage=triage,
        webhooks=WebhookService(app, webhook_sender, webhook_settings, clock),
        webhook_sender=webhook_sender,
        rules=RuleService(directory, tickets, rule_engine),
        rule_engine=rule_engine,
        clock=clock,
        store=store,
        key_locks=key_locks,
    )


def follower_of(services: Services, **options: Any) -> Follower:
    """The read side's follower with every policy the deployment runs: breaches, the closer and done
    issues (`record_sla_breaches`), mail, agents, webhooks and rules (each unless its flag is off).
    The server embeds it; with TICKETS_PROJECTIONS=external, `pfai projections run` workers run it."""
    if services.read_side is None:
        raise ValueError("these services have no read side to follow the log with")
    return Follower(
        services.read_side,
        record_breaches=services.record_sla_breaches,
        mail_sender=services.mail_sender if services.send_mail else None,
        agent_dispatcher=services.agent_dispatcher if services.run_agents else None,
        webhook_sender=services.webhook_sender if services.send_webhooks else None,
        rule_engine=services.rule_engine if services.run_rules else None,
        **options,
    )


def in_memory(clock: Clock = system_clock) -> Services:
    """The services on the library's in-memory store: for unit tests, and nothing is kept."""
    return wire(TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), clock)


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
    store = "postgresql" if settings.is_postgres else "sqlite"
    transport = open_transport(settings.mail.smtp_url, settings.mail_directory())
    services = wire(
        app,
        clock,
        store,
        open_blob_store(settings),
        settings.attachment_limits,
        settings.mail,
        transport,
        settings.agents,
        ModelStore(settings.model_directory()),
        webhook_settings=settings.webhooks,
        # Other processes write the same store (workers, servers): hot aggregates are locked in turn.
        key_locks=PostgresKeyLocks(env) if settings.is_postgres else None,
    )
    services.read_side = read_side = ReadSide.open(settings, app, clock)
    # Contacts that only tickets of older releases name are known to the contacts read model.
    services.contacts.index = read_side.contact
    # Assigning to the team member with the fewest open tickets counts them in the ticket list.
    services.rule_engine.open_counts = read_side.open_ticket_counts
    services.contacts.link_lifetime = settings.portal_link_lifetime
    services.contacts.session_lifetime = settings.portal_session_lifetime
    # TICKETS_PROJECTIONS=external when `pfai projections run` workers follow the log instead of the server.
    services.embedded_projections = os.environ.get("TICKETS_PROJECTIONS", "embedded").lower() != "external"
    return services
