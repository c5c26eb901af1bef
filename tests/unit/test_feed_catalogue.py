"""The feed's catalogue covers every ticket event: each leaves as a feed type or is marked internal."""

from __future__ import annotations

from uuid import uuid4

import msgspec

from tickets.application.feed import (
    ENVELOPES,
    FEED_TYPES,
    INTERNAL,
    ActorRef,
    TicketFacts,
    actor_of,
    catalogue,
    decode,
    encode,
    integration_event,
)
from tickets.bootstrap import in_memory
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.ticket import TICKET_EVENT_TYPES
from tickets.domain.values import Priority


def test_every_ticket_event_is_mapped_or_marked_internal() -> None:
    for event_class in TICKET_EVENT_TYPES:
        assert (event_class in FEED_TYPES) != (event_class in INTERNAL), (
            f"{event_class.__qualname__}: map it to a feed type in FEED_TYPES or mark it INTERNAL"
        )


def test_each_feed_type_has_a_json_schema_with_its_envelope() -> None:
    types = {name for name, _, _ in catalogue()}
    assert {"ticket.created", "ticket.updated", "ticket.status_changed", "ticket.sla_breached"} <= types
    for name, version, schema in catalogue():
        (definition,) = [
            d
            for d in schema["$defs"].values()
            if d.get("properties", {}).get("type", {}).get("enum") == [name]
        ]
        assert {
            "id",
            "type",
            "version",
            "occurredAt",
            "position",
            "orgId",
            "ticketId",
            "ticketNumber",
        } <= set(definition["required"]), name
        assert version == 1


def test_actor_types() -> None:
    member, contact = uuid4(), uuid4()
    assert actor_of(None, contact) == ActorRef("system", None)
    assert actor_of(contact, contact) == ActorRef("contact", contact)
    assert actor_of(member, contact) == ActorRef("member", member)


def test_a_ticket_history_becomes_feed_events_that_round_trip() -> None:
    services = in_memory()
    org = services.directory.create_org("acme", "Acme", "ada@acme.test", "Ada")
    admin = services.directory.authenticate(org.token)
    assert admin is not None
    ticket = services.tickets.create(admin, NewTicket(subject="Printer", contact_email="cara@x.test")).value
    services.tickets.update(
        admin, str(ticket.id), TicketChanges(priority=Priority.URGENT, subject="Printer!")
    )
    services.tickets.add_message(admin, str(ticket.id), "secret", is_internal_note=True)
    events = services.app.repository.event_store.get(ticket.id)
    facts = TicketFacts(org.org_id, 1, None)
    made = [integration_event(e, facts, n) for n, e in enumerate(events, 1)]
    kinds = [m.__struct_config__.tag for m in made if m is not None]
    assert (
        kinds[0] == "ticket.created" and kinds.count("ticket.updated") == 2 and "ticket.note_added" in kinds
    )
    for m in made:
        if m is not None:
            assert decode(encode(m)) == m
            assert isinstance(m, tuple(ENVELOPES.values()))
    updated = [
        msgspec.to_builtins(m) for m in made if m is not None and m.__struct_config__.tag == "ticket.updated"
    ]
    assert {"priority": {"old": "medium", "new": "urgent"}} in [u["data"]["changes"] for u in updated]
