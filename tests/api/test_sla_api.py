"""SLA facts through the API: a breach stays a breach, a hold shows as a pause, outcomes are kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from tests.api.test_listing import create
from tests.conftest import Org
from tickets.infrastructure.clock import ManualClock

Client = TestClient[Any]


def _policy(client: Client, org: Org) -> None:
    answer = client.post(
        "/api/v1/sla-policies",
        json={"priority": "urgent", "firstResponseMinutes": 15, "resolutionMinutes": 120},
        headers=org.admin.headers,
    )
    assert answer.status_code == 201, answer.text


def _patch(client: Client, org: Org, ticket: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answer = client.patch(f"/api/v1/tickets/{ticket['id']}", json=fields, headers=org.admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _stats(client: Client, org: Org) -> dict[str, Any]:
    answer = client.get("/api/v1/tickets/stats", headers=org.admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_putting_a_breached_ticket_on_hold_keeps_the_breach(
    client: Client, org: Org, clock: ManualClock
) -> None:
    _policy(client, org)
    ticket = create(client, org, priority="urgent")
    clock.advance(minutes=20)
    _patch(client, org, ticket, status="on_hold")
    clock.advance(hours=5)
    held = client.get(f"/api/v1/tickets/{ticket['id']}", headers=org.admin.headers).json()
    assert held["slaBreached"] is True
    assert held["firstResponseBreached"] is True
    assert _stats(client, org)["slaBreached"] == 1
    listed = client.get("/api/v1/tickets?breached=true", headers=org.admin.headers).json()["items"]
    assert [item["ticketNumber"] for item in listed] == [ticket["ticketNumber"]]


def test_an_on_hold_ticket_shows_its_paused_clock(client: Client, org: Org, clock: ManualClock) -> None:
    _policy(client, org)
    ticket = create(client, org, priority="urgent")
    clock.advance(minutes=5)
    held = _patch(client, org, ticket, status="on_hold")
    assert held["slaDeadline"] is None
    assert held["slaPausedAt"] == held["updatedAt"]
    assert held["slaRemainingSeconds"] == 10 * 60
    assert held["slaBreached"] is False
    [item] = client.get("/api/v1/tickets", headers=org.admin.headers).json()["items"]
    assert (item["slaDeadline"], item["slaPausedAt"], item["slaRemainingSeconds"]) == (
        None,
        held["slaPausedAt"],
        600,
    )
    clock.advance(hours=1)
    resumed = _patch(client, org, ticket, status="open")
    assert resumed["slaPausedAt"] is None
    moved = datetime.fromisoformat(ticket["firstResponseDueAt"]) + timedelta(hours=1)
    assert datetime.fromisoformat(resumed["slaDeadline"]) == moved


def test_a_resolved_ticket_shows_no_deadline_even_without_a_first_response(client: Client, org: Org) -> None:
    _policy(client, org)
    ticket = create(client, org, priority="urgent")
    assert ticket["slaDeadline"] == ticket["firstResponseDueAt"]
    # Nobody replied, but resolving stops the clock: there is no deadline left to show.
    resolved = _patch(client, org, ticket, status="resolved")
    assert (resolved["slaDeadline"], resolved["slaBreached"]) == (None, False)
    [item] = client.get("/api/v1/tickets", headers=org.admin.headers).json()["items"]
    assert item["slaDeadline"] is None
    reopened = _patch(client, org, ticket, status="open")
    assert reopened["slaDeadline"] == ticket["firstResponseDueAt"]


def test_outcomes_and_the_ever_breached_count_survive_resolving(
    client: Client, org: Org, clock: ManualClock
) -> None:
    _policy(client, org)
    late = create(client, org, priority="urgent")
    create(client, org, priority="urgent")
    clock.advance(minutes=16)
    resolved = _patch(client, org, late, status="resolved")
    assert (resolved["slaBreached"], resolved["firstResponseBreached"], resolved["resolutionBreached"]) == (
        False,
        True,
        False,
    )
    stats = _stats(client, org)
    # One ticket breached now (the open one), two ever (the resolved one too).
    assert (stats["slaBreached"], stats["slaBreachedTotal"]) == (1, 2)


def test_a_resolved_ticket_shows_and_sorts_without_a_deadline(
    client: Client, org: Org, clock: ManualClock
) -> None:
    _policy(client, org)
    resolved = create(client, org, priority="urgent")
    open_one = create(client, org, priority="urgent")
    clock.advance(minutes=1)
    _patch(client, org, resolved, status="resolved")
    items = client.get("/api/v1/tickets?sort=slaDeadline", headers=org.admin.headers).json()["items"]
    assert [(i["ticketNumber"], i["slaDeadline"] is None) for i in items] == [
        (open_one["ticketNumber"], False),
        (resolved["ticketNumber"], True),
    ]
