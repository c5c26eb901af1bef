"""The email channel's API: extra receiving addresses, the receipt setting, a message's delivery."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org
from tickets.application.inbound import InboundMail
from tickets.bootstrap import Services

API = "/api/v1"


def test_admins_add_and_remove_addresses_routed_to_a_team(
    client: TestClient[Any], make_org: Any, services: Services
) -> None:
    acme: Org = make_org()
    team = client.post(f"{API}/teams", json={"name": "Billing"}, headers=acme.admin.headers).json()
    added = client.post(
        f"{API}/mail-addresses",
        json={"address": "Billing@Acme.Example", "teamId": team["id"]},
        headers=acme.admin.headers,
    )
    assert added.status_code == 201, added.text
    assert added.json() == {"address": "billing@acme.example", "teamId": team["id"]}
    listed = client.get(f"{API}/mail-addresses", headers=acme.admin.headers).json()
    assert listed == [{"address": "billing@acme.example", "teamId": team["id"]}]

    # Mail to it opens a ticket in that team.
    route = services.mail.route("billing@acme.example")
    assert route is not None
    services.mail.receive(
        route, InboundMail("b1@example.com", "cara@example.com", "Cara", "Invoice", "Wrong total")
    )
    ticket = client.get(f"{API}/tickets/1", headers=acme.admin.headers).json()
    assert (ticket["source"], ticket["teamId"]) == ("email", team["id"])

    # Another org cannot take it while acme has it; after acme lets it go, it can.
    other: Org = make_org()
    taken = client.post(
        f"{API}/mail-addresses", json={"address": "billing@acme.example"}, headers=other.admin.headers
    )
    assert taken.status_code == 409 and taken.headers["content-type"].startswith("application/problem+json")
    removed = client.delete(f"{API}/mail-addresses/billing@acme.example", headers=acme.admin.headers)
    assert removed.status_code == 204
    assert services.mail.route("billing@acme.example") is None
    retaken = client.post(
        f"{API}/mail-addresses", json={"address": "billing@acme.example"}, headers=other.admin.headers
    )
    assert retaken.status_code == 201


def test_address_rules_and_denials(client: TestClient[Any], org: Org) -> None:
    agent = org.add_member("agent")
    assert client.get(f"{API}/mail-addresses", headers=agent.headers).status_code == 403
    assert (
        client.post(
            f"{API}/mail-addresses", json={"address": "x@acme.example"}, headers=agent.headers
        ).status_code
        == 403
    )
    own_domain = client.post(
        f"{API}/mail-addresses", json={"address": "x@tickets.localhost"}, headers=org.admin.headers
    )
    assert own_domain.status_code == 422 and "orgs' own" in own_domain.json()["detail"]
    assert (
        client.post(
            f"{API}/mail-addresses", json={"address": "not an address"}, headers=org.admin.headers
        ).status_code
        == 400
    )
    missing = client.delete(f"{API}/mail-addresses/nobody@acme.example", headers=org.admin.headers)
    assert missing.status_code == 404
    foreign_team = client.post(
        f"{API}/mail-addresses",
        json={"address": "y@acme.example", "teamId": "00000000-0000-4000-8000-000000000000"},
        headers=org.admin.headers,
    )
    assert foreign_team.status_code == 422


def test_the_receipt_setting_and_a_messages_delivery(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    settings = client.get(f"{API}/org", headers=org.admin.headers).json()
    assert settings["acknowledgeNewTickets"] is True
    assert settings["mailAddress"] == f"{org.slug}@tickets.localhost"
    off = client.patch(f"{API}/org", json={"acknowledgeNewTickets": False}, headers=org.admin.headers)
    assert off.status_code == 200 and off.json()["acknowledgeNewTickets"] is False

    client.post(
        f"{API}/tickets", json={"subject": "Hi", "contactEmail": "c@x.test"}, headers=org.admin.headers
    )
    posted = client.post(
        f"{API}/tickets/1/messages", json={"content": "Hello"}, headers=org.admin.headers
    ).json()
    assert posted["delivery"] == {"status": "queued", "attempts": 0, "lastError": None}
    note = client.post(
        f"{API}/tickets/1/messages",
        json={"content": "psst", "isInternalNote": True},
        headers=org.admin.headers,
    ).json()
    assert note["delivery"] is None  # notes never leave


def test_a_value_of_another_json_type_is_refused_not_converted(client: TestClient[Any], org: Org) -> None:
    """`0` is not `false` and `"7"` is not `7`: the schema promises JSON types, so nothing is coerced."""
    h = org.admin.headers
    for body in ({"acknowledgeNewTickets": 0}, {"autoCloseAfterDays": "7"}):
        refused = client.patch(f"{API}/org", json=body, headers=h)
        assert refused.status_code == 400, refused.text
        [error] = refused.json()["errors"]
        assert error["key"] == next(iter(body)) and error["source"] == "body"
    assert client.get(f"{API}/org", headers=h).json()["acknowledgeNewTickets"] is True
    # JSON Schema's integer includes 5.0: that is read as 5, as the schema says.
    integral = client.patch(f"{API}/org", json={"autoCloseAfterDays": 5.0}, headers=h)
    assert integral.status_code == 200 and integral.json()["autoCloseAfterDays"] == 5
    assert client.patch(f"{API}/org", json={"autoCloseAfterDays": 5.5}, headers=h).status_code == 400
    client.post(f"{API}/tickets", json={"subject": "Hi"}, headers=h)
    note = client.post(f"{API}/tickets/1/messages", json={"content": "x", "isInternalNote": 1}, headers=h)
    assert note.status_code == 400
