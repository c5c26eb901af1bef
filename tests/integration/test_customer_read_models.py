"""The portal and contacts read models rebuild from the log to the same rows, on both stores."""

from __future__ import annotations

from tests.conftest import Org
from tickets.bootstrap import Services
from tickets.domain.commands import NewTicket


def test_a_rebuild_of_the_customer_side_equals_the_followed_copies(services: Services, org: Org) -> None:
    admin = services.directory.authenticate(org.admin.token)
    assert admin is not None and services.read_side is not None
    for n in range(3):
        ticket = services.tickets.create(
            admin, NewTicket(subject=f"T{n}", contact_email=f"c{n % 2}@example.com")
        ).value
        services.tickets.add_message(admin, str(ticket.id), f"public {n}", False)
        services.tickets.add_message(admin, str(ticket.id), f"NOTE {n}", True)
    services.contacts.create(admin, "solo@example.com", "Solo")
    read_side = services.read_side
    read_side.catch_up_all()
    before = {name: read_side.dump(name) for name in ("portal", "contacts")}
    # (On PostgreSQL the database holds other tests' orgs too.)
    assert len([row for row in before["contacts"]["contacts"] if row[1] == org.admin.org_id]) == 3
    assert all("NOTE" not in str(row) for row in before["portal"]["messages"])

    generations = read_side.rebuild_all(["portal", "contacts"], batch_size=2)
    assert {name: read_side.views.active_generation(name) for name in generations} == generations
    assert {name: read_side.dump(name) for name in ("portal", "contacts")} == before
