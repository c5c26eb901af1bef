"""The tickets API end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.bootstrap import Services
from tickets.infrastructure.clock import ManualClock

API = "/api/v1"


def create(client: TestClient[Any], org: Org, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/tickets", json={"subject": "Login broken", **fields}, headers=org.admin.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_ticket_lifecycle_over_http(client: TestClient[Any], org: Org, clock: ManualClock) -> None:
    agent = org.add_member("agent", email="alice@acme.test", name="Alice")
    ticket = create(client, org, description="It **fails**", contactEmail="c@x.test", contactName="Cy")
    assert ticket["ticketNumber"] == 1
    assert ticket["descriptionHtml"] == "<p>It <strong>fails</strong></p>\n"
    assert ticket["creator"]["id"] == org.admin.user_id
    assert ticket["status"] == "open" and ticket["priority"] == "medium" and ticket["source"] == "api"

    patched = client.patch(f"{API}/tickets/1", json={"priority": "urgent"}, headers=agent.headers)
    assert patched.status_code == 200, patched.text
    assert patched.headers["x-event-position"].isdigit()

    assigned = client.post(
        f"{API}/tickets/1/assign", json={"assigneeId": agent.user_id}, headers=org.admin.headers
    )
    assert assigned.json()["assignee"]["handle"] == "alice"

    note = client.post(
        f"{API}/tickets/1/messages",
        json={"content": "@alice third report this week", "isInternalNote": True},
        headers=org.admin.headers,
    )
    assert note.status_code == 201
    assert note.json()["mentions"] == [agent.user_id]
    clock.advance(minutes=5)
    reply = client.post(
        f"{API}/tickets/1/messages", json={"content": "Fixed in 1.4.3"}, headers=agent.headers
    )
    assert reply.json()["isInternalNote"] is False

    resolved = client.patch(
        f"{API}/tickets/{ticket['id']}", json={"status": "resolved"}, headers=agent.headers
    )
    body = resolved.json()
    assert body["resolvedAt"] is not None and body["messageCount"] == 2
    assert body["firstResponseAt"] is not None

    timeline = client.get(f"{API}/tickets/1/activities", headers=agent.headers).json()["items"]
    assert [a["type"] for a in timeline] == [
        "created",
        "priority_changed",
        "assigned",
        "note_added",
        "message_added",
        "email_queued",  # the ticket has a contact: the public reply goes to them by e-mail
        "status_changed",
        "email_queued",  # and so does the resolve notice
    ]
    assert (timeline[1]["oldValue"], timeline[1]["newValue"]) == ("medium", "urgent")
    assert timeline[1]["actorId"] == agent.user_id
    assert [a["version"] for a in timeline] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert timeline[5]["summary"].startswith("reply e-mail to ") and timeline[5]["actorId"] is None


def test_closed_ticket_answers_409_and_follow_up_links_it(client: TestClient[Any], org: Org) -> None:
    original = create(client, org, priority="high", category="billing")
    client.patch(f"{API}/tickets/1", json={"status": "closed"}, headers=org.admin.headers)
    refused = client.patch(f"{API}/tickets/1", json={"subject": "again"}, headers=org.admin.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "closed" in refused.json()["detail"]
    follow = client.post(f"{API}/tickets/1/follow-up", headers=org.admin.headers)
    assert follow.status_code == 201
    new = follow.json()
    assert (new["ticketNumber"], new["followUpOf"], new["priority"], new["category"]) == (
        2,
        original["id"],
        "high",
        "billing",
    )
    assert client.get(f"{API}/tickets/1", headers=org.admin.headers).json()["followUpIds"] == [new["id"]]


def test_replay_by_version_and_as_of(client: TestClient[Any], org: Org, clock: ManualClock) -> None:
    create(client, org, subject="first")
    created_at = clock()
    clock.advance(hours=1)
    client.patch(f"{API}/tickets/1", json={"subject": "second"}, headers=org.admin.headers)
    h = org.admin.headers
    assert client.get(f"{API}/tickets/1?version=1", headers=h).json()["subject"] == "first"
    as_of = (created_at + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    then = client.get(f"{API}/tickets/1", params={"asOf": as_of}, headers=h).json()
    assert (then["subject"], then["version"]) == ("first", 1)
    assert client.get(f"{API}/tickets/1?version=7", headers=h).status_code == 404
    assert client.get(f"{API}/tickets/1?version=0", headers=h).status_code == 400
    assert client.get(f"{API}/tickets/1", params={"asOf": "yesterday"}, headers=h).status_code == 400
    naive = client.get(f"{API}/tickets/1", params={"asOf": "2026-01-05T09:00:00"}, headers=h)
    assert naive.status_code == 400 and "offset" in naive.json()["detail"]


def test_if_match_guards_against_overwriting_unseen_changes(client: TestClient[Any], org: Org) -> None:
    create(client, org)
    read = client.get(f"{API}/tickets/1", headers=org.admin.headers)
    etag = read.headers["etag"]
    assert etag == '"1"'
    first = client.patch(
        f"{API}/tickets/1", json={"priority": "high"}, headers={**org.admin.headers, "If-Match": etag}
    )
    assert first.status_code == 200
    stale = client.patch(
        f"{API}/tickets/1", json={"priority": "low"}, headers={**org.admin.headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert "version 2" in stale.json()["detail"]
    assert client.get(f"{API}/tickets/1", headers=org.admin.headers).json()["priority"] == "high"


def test_patch_without_change_records_nothing(client: TestClient[Any], org: Org) -> None:
    create(client, org, subject="same")
    response = client.patch(f"{API}/tickets/1", json={"subject": "same"}, headers=org.admin.headers)
    assert response.status_code == 200
    assert "x-event-position" not in response.headers
    assert response.json()["version"] == 1


def test_delete_is_soft(client: TestClient[Any], org: Org) -> None:
    ticket = create(client, org)
    assert client.delete(f"{API}/tickets/1", headers=org.admin.headers).status_code == 204
    assert client.get(f"{API}/tickets/1", headers=org.admin.headers).status_code == 404
    assert client.get(f"{API}/tickets/{ticket['id']}", headers=org.admin.headers).status_code == 404
    assert client.delete(f"{API}/tickets/1", headers=org.admin.headers).status_code == 404


def test_a_deleted_ticket_asked_by_number_is_named_by_number(client: TestClient[Any], org: Org) -> None:
    ticket = create(client, org)
    assert client.delete(f"{API}/tickets/1", headers=org.admin.headers).status_code == 204
    for ref in ("1", "%231", ticket["id"]):
        gone = client.get(f"{API}/tickets/{ref}", headers=org.admin.headers)
        assert gone.status_code == 404
        assert gone.json()["detail"] == "ticket #1 has been deleted"


def test_tag_ids_patch_embeds_tags(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    tag = client.post(f"{API}/ticket-tags", json={"name": "regression", "color": "#ef4444"}, headers=h).json()
    create(client, org)
    patched = client.patch(f"{API}/tickets/1", json={"tagIds": [tag["id"]]}, headers=h).json()
    assert patched["tags"] == [{"id": tag["id"], "name": "regression", "color": "#ef4444"}]
    unknown = client.patch(f"{API}/tickets/1", json={"tagIds": [str(uuid4())]}, headers=h)
    assert unknown.status_code == 422


def test_assignee_must_be_a_member_of_the_org(client: TestClient[Any], org: Org, make_org: Any) -> None:
    create(client, org)
    outsider = make_org()
    response = client.post(
        f"{API}/tickets/1/assign", json={"assigneeId": outsider.admin.user_id}, headers=org.admin.headers
    )
    assert response.status_code == 422
    assert "not a member" in response.json()["detail"]
    unassigned = client.post(f"{API}/tickets/1/assign", json={"assigneeId": None}, headers=org.admin.headers)
    assert unassigned.status_code == 200 and unassigned.json()["assignee"] is None


def test_messages_paginate_oldest_first(client: TestClient[Any], org: Org) -> None:
    create(client, org)
    for i in range(7):
        client.post(f"{API}/tickets/1/messages", json={"content": f"m{i}"}, headers=org.admin.headers)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/tickets/1/messages", params=params, headers=org.admin.headers).json()
        seen += [m["content"] for m in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"m{i}" for i in range(7)]
    assert pages == 3
    bad = client.get(f"{API}/tickets/1/messages", params={"cursor": "nonsense"}, headers=org.admin.headers)
    assert bad.status_code == 400
    too_many = client.get(f"{API}/tickets/1/messages", params={"limit": 500}, headers=org.admin.headers)
    assert too_many.status_code == 400


def test_activities_paginate(client: TestClient[Any], org: Org) -> None:
    create(client, org)
    for priority in ("low", "high", "urgent", "medium"):
        client.patch(f"{API}/tickets/1", json={"priority": priority}, headers=org.admin.headers)
    first = client.get(f"{API}/tickets/1/activities", params={"limit": 2}, headers=org.admin.headers).json()
    assert [a["version"] for a in first["items"]] == [1, 2]
    rest = client.get(
        f"{API}/tickets/1/activities",
        params={"limit": 50, "cursor": first["nextCursor"]},
        headers=org.admin.headers,
    ).json()
    assert [a["version"] for a in rest["items"]] == [3, 4, 5]
    assert rest["nextCursor"] is None


def test_only_the_author_edits_a_message(client: TestClient[Any], org: Org) -> None:
    agent = org.add_member("agent")
    create(client, org)
    message = client.post(f"{API}/tickets/1/messages", json={"content": "mine"}, headers=agent.headers).json()
    url = f"{API}/tickets/1/messages/{message['id']}"
    assert client.patch(url, json={"content": "theirs"}, headers=org.admin.headers).status_code == 403
    assert client.delete(url, headers=org.admin.headers).status_code == 403
    edited = client.patch(url, json={"content": "mine!"}, headers=agent.headers)
    assert edited.status_code == 200 and edited.json()["editedAt"] is not None
    assert client.delete(url, headers=agent.headers).status_code == 204
    assert client.get(f"{API}/tickets/1", headers=agent.headers).json()["messageCount"] == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", 400),
        (b'{"subject": 42}', 400),
        (b'{"subject": ""}', 400),
        (b'{"subject": "   "}', 400),
        (b'{"subject": "' + b"x" * 501 + b'"}', 400),
        (b'{"subject": "ok", "priority": "critical"}', 400),
        (b'{"subject": "ok", "status": "open"}', 400),
        (b'{"subject": "ok", "teamId": "not-a-uuid"}', 400),
        (b'{"subject": "ok", "contactEmail": "nope"}', 400),
        (b'{"subject": "ok", "teamId": "00000000-0000-0000-0000-000000000000"}', 422),
        (b"[]", 400),
        (b'{"subject": ' + b"[" * 1_500 + b"]" * 1_500 + b"}", 400),
        (b'{"subject": "caf\xe9"}', 400),
    ],
)
def test_bad_input_is_a_4xx_problem_and_changes_nothing(
    client: TestClient[Any], org: Org, body: bytes, expected: int
) -> None:
    response = client.post(
        f"{API}/tickets", content=body, headers={**org.admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == expected and problem["detail"] and "Traceback" not in response.text
    # Nothing was written: the next ticket is still number 1.
    assert create(client, org)["ticketNumber"] == 1


def test_unknown_ticket_and_bad_ids_are_404(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    assert client.get(f"{API}/tickets/{uuid4()}", headers=h).status_code == 404
    assert client.get(f"{API}/tickets/999", headers=h).status_code == 404
    assert client.get(f"{API}/tickets/not-a-ticket", headers=h).status_code == 404
    create(client, org)
    assert client.patch(
        f"{API}/tickets/1/messages/not-a-uuid", json={"content": "x"}, headers=h
    ).status_code in (
        400,
        404,
    )


def test_blank_messages_and_empty_patches_are_refused(client: TestClient[Any], org: Org) -> None:
    create(client, org)
    h = org.admin.headers
    blank = client.post(f"{API}/tickets/1/messages", json={"content": "  \n "}, headers=h)
    assert blank.status_code == 400
    no_body = client.patch(f"{API}/tickets/1", headers=h)
    assert no_body.status_code == 400 and "body is required" in no_body.json()["detail"]
    assert client.get(f"{API}/tickets/1", headers=h).json()["messageCount"] == 0


def test_a_patch_that_fails_halfway_writes_nothing(client: TestClient[Any], org: Org) -> None:
    create(client, org, subject="before")
    h = org.admin.headers
    for body in (
        {"subject": "after", "priority": "high", "tagIds": [str(uuid4())]},
        {"subject": "after", "assigneeId": str(uuid4())},
        {"subject": "after", "teamId": str(uuid4())},
    ):
        assert client.patch(f"{API}/tickets/1", json=body, headers=h).status_code == 422
    ticket = client.get(f"{API}/tickets/1", headers=h).json()
    assert (ticket["subject"], ticket["priority"], ticket["version"]) == ("before", "medium", 1)
    timeline = client.get(f"{API}/tickets/1/activities", headers=h).json()["items"]
    assert [a["type"] for a in timeline] == ["created"]


def test_if_match_must_be_an_ascii_version(client: TestClient[Any], org: Org) -> None:
    create(client, org)
    for value in ['"²"', "seven", '"1', '"1234567890123456789"']:
        headers = {**org.admin.headers, "If-Match": value.encode("latin-1")}
        response = client.patch(f"{API}/tickets/1", json={"priority": "high"}, headers=headers)
        assert response.status_code == 400, value
        assert "if_match" in response.json()["detail"].lower().replace("-", "_"), value
    for value in ['"1"', 'W/"1"', "1"]:
        response = client.patch(
            f"{API}/tickets/1", json={"subject": "x"}, headers={**org.admin.headers, "If-Match": value}
        )
        assert response.status_code in (200, 412), value


def test_a_write_is_answered_with_the_org_it_was_checked_against(
    client: TestClient[Any], org: Org, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to a create or an update names the assignee and tags from the org the command
    loaded: the org is not loaded a second time to present it."""
    agent = org.add_member("agent", name="Bob Agent")
    tag = client.post(
        "/api/v1/ticket-tags", json={"name": "vip", "color": "#112233"}, headers=org.admin.headers
    )
    client.get("/api/v1/me", headers=org.admin.headers)  # the token authenticated, and cached
    org_loads: list[object] = []
    get = services.app.repository.get

    def counting(aggregate_id: Any, **kwargs: Any) -> Any:
        if str(aggregate_id) == org.admin.org_id:
            org_loads.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    monkeypatch.setattr(services.app.repository, "get", counting)
    created = client.post(
        "/api/v1/tickets",
        json={"subject": "Named", "assigneeId": agent.user_id, "tagIds": [tag.json()["id"]]},
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["assignee"]["name"] == "Bob Agent"
    assert [t["name"] for t in created.json()["tags"]] == ["vip"]
    assert len(org_loads) == 1
    org_loads.clear()
    patched = client.patch(
        f"/api/v1/tickets/{created.json()['id']}", json={"priority": "high"}, headers=org.admin.headers
    )
    assert patched.status_code == 200 and patched.json()["assignee"]["name"] == "Bob Agent"
    assert len(org_loads) == 1
