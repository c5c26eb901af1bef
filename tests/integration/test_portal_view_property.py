"""A property: whatever members and the contact do, the contact's view of a ticket is its public thread.

The view comes from the portal read model; the expectation from the ticket aggregate's own
rules (`visible_messages(include_internal=False)`). Internal notes carry a marker that must never
appear in anything the portal read model holds for the contact.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Org
from tickets.application.actors import Actor
from tickets.application.contacts import ContactActor, StartedSession
from tickets.bootstrap import Services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import DomainError
from tickets.domain.ticket import Ticket
from tickets.domain.values import Status

NOTE = "NOTE-SECRET"
words = st.text(alphabet="abcdefghij \n*_", min_size=1, max_size=20).filter(lambda t: t.strip() != "")

actions = st.lists(
    st.one_of(
        st.tuples(st.just("public"), words),
        st.tuples(st.just("note"), words),
        st.tuples(st.just("contact"), words),
        st.tuples(st.just("edit"), st.integers(0, 10), words),
        st.tuples(st.just("delete"), st.integers(0, 10)),
        st.tuples(
            st.just("status"), st.sampled_from([Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.RESOLVED])
        ),
        st.tuples(st.just("contact_resolve")),
        st.tuples(st.just("contact_reopen")),
    ),
    max_size=12,
)


def _member(services: Services, org: Org) -> Actor:
    actor = services.directory.authenticate(org.admin.token)
    assert actor is not None
    return actor


def _contact(services: Services, actor: Actor, email: str) -> ContactActor:
    contact = services.contacts.create(actor, email, "Cara").value
    link = services.contacts.issue_link(actor, contact.id).value
    session: StartedSession = services.contacts.redeem_link(link.token)
    signed_in = services.contacts.authenticate(session.token)
    assert signed_in is not None
    return signed_in


def _apply(
    services: Services, member: Actor, contact: ContactActor, ticket: Ticket, action: tuple[Any, ...]
) -> None:
    tickets, ref, number = services.tickets, str(ticket.id), ticket.ticket_number
    kind = action[0]
    thread = tickets.messages(member, ref)
    mine = [m for m in thread if m.author_id == member.user_id]
    steps: dict[str, Callable[[], object]] = {
        "public": lambda: tickets.add_message(member, ref, action[1], is_internal_note=False),
        "note": lambda: tickets.add_message(member, ref, f"{NOTE} {action[1]}", is_internal_note=True),
        "contact": lambda: tickets.contact_reply(contact, number, action[1]),
        "edit": lambda: (
            mine
            and tickets.edit_message(
                member,
                ref,
                mine[action[1] % len(mine)].id,
                (f"{NOTE} " if mine[action[1] % len(mine)].is_internal_note else "") + action[-1],
            )
        ),
        "delete": lambda: mine and tickets.delete_message(member, ref, mine[action[1] % len(mine)].id),
        "status": lambda: tickets.update(member, ref, TicketChanges(status=action[1])),
        "contact_resolve": lambda: tickets.contact_resolve(contact, number),
        "contact_reopen": lambda: tickets.contact_reopen(contact, number),
    }
    # A step the rules refuse (reopening an open ticket, say) changes nothing.
    with contextlib.suppress(DomainError):
        steps[kind]()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_the_contacts_view_is_the_public_thread(
    services: Services, org: Org, steps: list[tuple[Any, ...]]
) -> None:
    member = _member(services, org)
    contact = _contact(services, member, f"cara-{secrets.token_hex(4)}@example.com")
    person = services.contacts.contact(contact)
    ticket = services.tickets.create(
        member, NewTicket(subject="Printer", contact_email=person.email, contact_name="Cara")
    ).value
    for step in steps:
        _apply(services, member, contact, ticket, step)

    read_side = services.read_side
    assert read_side is not None
    read_side.catch_up_all()
    current = services.tickets.get(member, str(ticket.id))
    found = read_side.portal_ticket(str(org.admin.org_id), str(contact.contact_id), current.ticket_number)
    assert found is not None
    shown, messages = found
    expected = [(m.author_type, m.content) for m in current.visible_messages(include_internal=False)]
    assert [(m.author_type, m.content) for m in messages] == expected
    assert shown.status == current.status.value
    assert all(NOTE not in m.content for m in messages)
    # Nothing of a note is anywhere in the portal read model.
    for rows in read_side.dump("portal").values():
        assert all(NOTE not in str(value) for row in rows for value in row)
