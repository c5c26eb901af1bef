"""Replay an auditor can rely on: past versions with everything around them as it was, and the raw events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from tests.api.test_listing import create
from tests.conftest import Org
from tickets.infrastructure.clock import ManualClock

Client = TestClient[Any]
API = "/api/v1"


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def test_a_past_version_is_not_breached_by_todays_clock(client: Client, org: Org, clock: ManualClock) -> None:
    h = org.admin.headers
    _ok(
        client.post(
            f"{API}/sla-policies",
            json={"priority": "urgent", "firstResponseMinutes": 15, "resolutionMinutes": 60},
            headers=h,
        ),
        201,
    )
    create(client, org, priority="urgent")
    clock.advance(minutes=10)
    _ok(client.patch(f"{API}/tickets/1", json={"category": "bug"}, headers=h))
    clock.advance(hours=3)
    assert _ok(client.get(f"{API}/tickets/1", headers=h))["slaBreached"] is True
    first = _ok(client.get(f"{API}/tickets/1?version=1", headers=h))
    assert (first["slaBreached"], first["firstResponseBreached"]) == (False, False)
    # As of a moment after the deadline, that version was breached.
    later = (clock() - timedelta(hours=2)).isoformat()
    assert _ok(client.get(f"{API}/tickets/1", params={"asOf": later}, headers=h))["slaBreached"] is True


def test_old_versions_embed_members_and_tags_as_they_were(
    client: Client, org: Org, clock: ManualClock
) -> None:
    h = org.admin.headers
    agent = org.add_member("agent", name="Bob Old")
    tag = _ok(client.post(f"{API}/ticket-tags", json={"name": "vip", "color": "#ff0000"}, headers=h), 201)
    other = _ok(client.post(f"{API}/ticket-tags", json={"name": "gone", "color": "#00ff00"}, headers=h), 201)
    create(client, org, assigneeId=agent.user_id, tagIds=[tag["id"], other["id"]])
    clock.advance(minutes=1)
    _ok(client.patch(f"{API}/users/{agent.user_id}", json={"name": "Bob New"}, headers=h))
    _ok(client.patch(f"{API}/ticket-tags/{tag['id']}", json={"name": "platinum"}, headers=h))
    _ok(client.patch(f"{API}/tickets/1", json={"tagIds": [tag["id"]]}, headers=h))
    _ok(client.delete(f"{API}/ticket-tags/{other['id']}", headers=h), 204)

    now = _ok(client.get(f"{API}/tickets/1", headers=h))
    assert now["assignee"]["name"] == "Bob New"
    assert [t["name"] for t in now["tags"]] == ["platinum"]
    then = _ok(client.get(f"{API}/tickets/1?version=1", headers=h))
    assert then["assignee"]["name"] == "Bob Old"
    assert then["creator"]["id"] == org.admin.user_id
    assert [t["name"] for t in then["tags"]] == ["vip", "gone"]


def test_the_thread_as_it_read_then(client: Client, org: Org, clock: ManualClock) -> None:
    h = org.admin.headers
    create(client, org)
    first = _ok(client.post(f"{API}/tickets/1/messages", json={"content": "first draft"}, headers=h), 201)
    second = _ok(client.post(f"{API}/tickets/1/messages", json={"content": "to be deleted"}, headers=h), 201)
    clock.advance(minutes=5)
    before_changes = clock().isoformat()
    clock.advance(minutes=5)
    _ok(client.patch(f"{API}/tickets/1/messages/{first['id']}", json={"content": "final"}, headers=h))
    _ok(client.delete(f"{API}/tickets/1/messages/{second['id']}", headers=h), 204)

    def thread(**params: Any) -> list[str]:
        page = _ok(client.get(f"{API}/tickets/1/messages", params=params, headers=h))
        return [m["content"] for m in page["items"]]

    assert thread() == ["final"]
    assert thread(version=3) == ["first draft", "to be deleted"]
    assert thread(asOf=before_changes) == ["first draft", "to be deleted"]
    assert thread(version=4) == ["final", "to be deleted"]
    assert _ok(client.get(f"{API}/tickets/1/messages?version=99", headers=h), 404) is not None


def test_version_and_as_of_together_are_refused(client: Client, org: Org, clock: ManualClock) -> None:
    create(client, org)
    at = clock().isoformat()
    for path in ("/tickets/1", "/tickets/1/messages"):
        answer = client.get(f"{API}{path}", params={"version": 1, "asOf": at}, headers=org.admin.headers)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "cannot be combined with version" in answer.json()["detail"]


def test_a_deleted_tickets_history_stays_readable_to_admins_only(client: Client, org: Org) -> None:
    h = org.admin.headers
    create(client, org, subject="gone soon")
    _ok(client.post(f"{API}/tickets/1/messages", json={"content": "hello"}, headers=h), 201)
    _ok(client.delete(f"{API}/tickets/1", headers=h), 204)
    agent = org.add_member("agent")

    for who in (org.admin, agent):
        for path in ("/tickets/1", "/tickets/1/messages", "/tickets/1/activities"):
            assert client.get(f"{API}{path}", headers=who.headers).status_code == 404, path
    for path in ("/tickets/1", "/tickets/1/messages", "/tickets/1/activities", "/tickets/1?version=1"):
        sep = "&" if "?" in path else "?"
        assert client.get(f"{API}{path}{sep}includeDeleted=true", headers=agent.headers).status_code == 404

    deleted = _ok(client.get(f"{API}/tickets/1?includeDeleted=true", headers=h))
    assert (deleted["subject"], deleted["deleted"], deleted["version"]) == ("gone soon", True, 3)
    assert _ok(client.get(f"{API}/tickets/1?version=2&includeDeleted=true", headers=h))["deleted"] is False
    thread = _ok(client.get(f"{API}/tickets/1/messages?includeDeleted=true", headers=h))
    assert [m["content"] for m in thread["items"]] == ["hello"]
    timeline = _ok(client.get(f"{API}/tickets/1/activities?includeDeleted=true", headers=h))
    assert [e["type"] for e in timeline["items"]] == ["created", "message_added", "deleted"]


def test_the_stored_events_export_as_json_lines(client: Client, org: Org, make_org: Any) -> None:
    h = org.admin.headers
    ticket = create(client, org, subject="audit me", priority="high")
    _ok(client.patch(f"{API}/tickets/1", json={"status": "pending"}, headers=h))
    _ok(client.delete(f"{API}/tickets/1", headers=h), 204)

    answer = client.get(f"{API}/tickets/{ticket['id']}/events", headers=h)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [(e["type"], e["version"]) for e in lines] == [
        ("Ticket.Created", 1),
        ("Ticket.StatusChanged", 2),
        ("Ticket.Deleted", 3),
    ]
    created = lines[0]
    assert created["actorId"] == org.admin.user_id
    assert created["payload"]["subject"] == "audit me"
    assert created["payload"]["priority"] == "high"
    assert created["payload"]["org_id"] == org.admin.org_id
    assert datetime.fromisoformat(created["time"]).tzinfo is not None
    assert lines[1]["payload"] == {"old": "open", "new": "pending"}

    agent = org.add_member("agent")
    assert client.get(f"{API}/tickets/{ticket['id']}/events", headers=agent.headers).status_code == 403
    stranger = make_org()
    assert (
        client.get(f"{API}/tickets/{ticket['id']}/events", headers=stranger.admin.headers).status_code == 404
    )


def test_every_change_has_a_timeline_entry_and_created_shows_the_initial_values(
    client: Client, org: Org, clock: ManualClock
) -> None:
    h = org.admin.headers
    _ok(
        client.post(
            f"{API}/sla-policies",
            json={"priority": "high", "firstResponseMinutes": 60, "resolutionMinutes": 240},
            headers=h,
        ),
        201,
    )
    create(client, org, subject="s", priority="high", category="bug", contactEmail="c@x.test")
    _ok(client.patch(f"{API}/tickets/1", json={"status": "on_hold"}, headers=h))
    clock.advance(minutes=30)
    _ok(client.patch(f"{API}/tickets/1", json={"status": "open"}, headers=h))
    items = _ok(client.get(f"{API}/tickets/1/activities", headers=h))["items"]
    assert [e["type"] for e in items] == ["created", "status_changed", "sla_clock_resumed", "status_changed"]
    initial = items[0]["newValue"]
    assert {k: initial[k] for k in ("subject", "status", "priority", "category", "contactEmail")} == {
        "subject": "s",
        "status": "open",
        "priority": "high",
        "category": "bug",
        "contactEmail": "c@x.test",
    }
    assert initial["firstResponseDueAt"] is not None
    assert items[2]["newValue"]["heldSeconds"] == 1800
    # Each entry's version is the event's: the timeline is the stream, nothing skipped.
    assert [e["version"] for e in items] == [1, 2, 3, 4]
