"""GET /tickets/{t}/activities: every event type's entry, its values as the API writes them, and its summary."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from tests.api.test_listing import create
from tests.conftest import Org
from tickets.application.sla_breaches import record_breach
from tickets.bootstrap import Services
from tickets.infrastructure.clock import ManualClock

Client = TestClient[Any]
API = "/api/v1"


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def test_every_entry_has_its_values_and_a_summary_with_names(
    client: Client, org: Org, services: Services, clock: ManualClock
) -> None:
    h = org.admin.headers
    policy = {"priority": "high", "firstResponseMinutes": 60, "resolutionMinutes": 240}
    _ok(client.post(f"{API}/sla-policies", json=policy, headers=h), 201)
    team = _ok(client.post(f"{API}/teams", json={"name": "Support"}, headers=h), 201)
    tag = _ok(client.post(f"{API}/ticket-tags", json={"name": "regression"}, headers=h), 201)
    agent = org.add_member("agent", email="alice@example.test")
    ticket = create(
        client,
        org,
        subject="Login broken",
        priority="high",
        contactEmail="jo@example.com",
        tagIds=[tag["id"]],
        teamId=team["id"],
    )
    clock.advance(minutes=1)
    changes = {
        "subject": "Login still broken",
        "description": "Steps",
        "contactName": "Jo",
        "category": "bug",
    }
    _ok(client.patch(f"{API}/tickets/1", json=changes, headers=h))
    _ok(client.patch(f"{API}/tickets/1", json={"teamId": None, "tagIds": []}, headers=h))
    _ok(client.patch(f"{API}/tickets/1", json={"priority": "urgent"}, headers=h))  # no policy: no deadline
    _ok(client.post(f"{API}/tickets/1/assign", json={"assigneeId": agent.user_id}, headers=h))
    message = _ok(client.post(f"{API}/tickets/1/messages", json={"content": "Hi"}, headers=h), 201)
    note = {"content": "psst", "isInternalNote": True}
    note_id = _ok(client.post(f"{API}/tickets/1/messages", json=note, headers=h), 201)["id"]
    _ok(client.patch(f"{API}/tickets/1/messages/{message['id']}", json={"content": "Hello"}, headers=h))
    _ok(client.delete(f"{API}/tickets/1/messages/{message['id']}", headers=h), 204)
    _ok(client.patch(f"{API}/tickets/1", json={"priority": "high", "status": "on_hold"}, headers=h))
    clock.advance(minutes=30)
    _ok(client.patch(f"{API}/tickets/1", json={"status": "open"}, headers=h))
    clock.advance(hours=5)
    assert record_breach(services.app, UUID(ticket["id"]), clock()) is not None
    _ok(client.patch(f"{API}/tickets/1", json={"status": "closed"}, headers=h))
    follow_up = _ok(client.post(f"{API}/tickets/1/follow-up", headers=h), 201)
    _ok(client.delete(f"{API}/tickets/2", headers=h), 204)

    items = _ok(client.get(f"{API}/tickets/1/activities?limit=200", headers=h))["items"]
    entries = [(e["type"], e["summary"], e["oldValue"], e["newValue"]) for e in items]
    created = {
        "subject": "Login broken",
        "description": "",
        "status": "open",
        "priority": "high",
        "category": "general",
        "source": "api",
        "teamId": team["id"],
        "assigneeId": None,
        "creatorId": org.admin.user_id,
        "contactEmail": "jo@example.com",
        "contactName": None,
        "tagIds": [tag["id"]],
        "followUpOf": None,
        "firstResponseDueAt": "2026-01-05T10:00:00Z",
        "resolutionDueAt": "2026-01-05T13:00:00Z",
    }
    assert entries == [
        ("created", 'created "Login broken"', None, created),
        (
            "subject_changed",
            'subject "Login broken" → "Login still broken"',
            "Login broken",
            "Login still broken",
        ),
        ("description_changed", "description edited", "", "Steps"),
        (
            "contact_changed",
            "contact <jo@example.com> → Jo <jo@example.com>",
            {"email": "jo@example.com", "name": None},
            {"email": "jo@example.com", "name": "Jo"},
        ),
        ("category_changed", "category general → bug", "general", "bug"),
        ("team_changed", "team Support → -", team["id"], None),
        ("tag_removed", "tag removed regression", tag["id"], None),
        ("priority_changed", "priority high → urgent", "high", "urgent"),
        (
            "sla_deadline_set",
            "SLA: no deadline",
            "2026-01-05T10:00:00Z",
            {"firstResponseDueAt": None, "resolutionDueAt": None},
        ),
        ("assigned", "assignee - → @alice", None, agent.user_id),
        ("message_added", "public reply", None, message["id"]),
        ("email_queued", "reply e-mail to jo@example.com queued", None, message["id"]),
        ("note_added", "internal note", None, note_id),
        ("message_edited", "message edited", "Hi", "Hello"),
        ("message_deleted", "message deleted", message["id"], None),
        ("priority_changed", "priority urgent → high", "urgent", "high"),
        (
            "sla_deadline_set",
            "SLA: first response by 2026-01-05T10:00:00Z; resolution by 2026-01-05T13:00:00Z",
            None,
            {"firstResponseDueAt": "2026-01-05T10:00:00Z", "resolutionDueAt": "2026-01-05T13:00:00Z"},
        ),
        ("status_changed", "status open → on_hold", "open", "on_hold"),
        (
            "sla_clock_resumed",
            "SLA clock resumed after hold; first response by 2026-01-05T10:30:00Z; resolution by 2026-01-05T13:30:00Z",
            "2026-01-05T10:00:00Z",
            {
                "heldSeconds": 1800.0,
                "firstResponseDueAt": "2026-01-05T10:30:00Z",
                "resolutionDueAt": "2026-01-05T13:30:00Z",
            },
        ),
        ("status_changed", "status on_hold → open", "on_hold", "open"),
        ("sla_breached", "SLA breached (deadline 2026-01-05T10:30:00Z)", None, "2026-01-05T10:30:00Z"),
        ("status_changed", "status open → closed", "open", "closed"),
        ("follow_up_created", f"follow-up ticket {follow_up['id'][:8]} created", None, follow_up["id"]),
    ]
    assert items[0]["createdAt"] == "2026-01-05T09:00:00Z"
    assert items[-1]["createdAt"] == "2026-01-05T14:31:00Z"
    assert [e["actorId"] for e in items].count(None) == 2  # the queued e-mail and the breach are the system's
    follow_up_timeline = _ok(client.get(f"{API}/tickets/2/activities?includeDeleted=true", headers=h))
    assert [e["summary"] for e in follow_up_timeline["items"]] == ['created "Login still broken"', "deleted"]


def test_names_in_summaries_are_read_now_and_a_deleted_tag_shows_its_short_id(
    client: Client, org: Org
) -> None:
    h = org.admin.headers
    tag = _ok(client.post(f"{API}/ticket-tags", json={"name": "triage"}, headers=h), 201)
    create(client, org, tagIds=[tag["id"]])
    _ok(client.patch(f"{API}/tickets/1", json={"tagIds": []}, headers=h))
    _ok(client.patch(f"{API}/ticket-tags/{tag['id']}", json={"name": "triaged"}, headers=h))
    summaries = [e["summary"] for e in _ok(client.get(f"{API}/tickets/1/activities", headers=h))["items"]]
    assert summaries[-1] == "tag removed triaged"
    _ok(client.delete(f"{API}/ticket-tags/{tag['id']}", headers=h), 204)
    summaries = [e["summary"] for e in _ok(client.get(f"{API}/tickets/1/activities", headers=h))["items"]]
    assert summaries[-1] == f"tag removed {tag['id'][:8]}"
