"""Authentication, roles and org boundaries: the denials, not only the happy path."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from litestar.testing import TestClient

from tests.conftest import Org

API = "/api/v1"


def test_every_api_route_needs_a_token(client: TestClient[Any]) -> None:
    app = client.app
    checked = 0
    for route in app.routes:
        if not route.path.startswith(API):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid4()), re.sub(r"\{[^}]+:int\}", "1", route.path))
        for method in route.methods - {"OPTIONS", "HEAD"}:  # type: ignore[attr-defined]
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, route.path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked >= 30


def test_a_wrong_token_is_401(client: TestClient[Any]) -> None:
    for header in ("Bearer pfai_nope", "Basic abc", "Bearer "):
        response = client.get(f"{API}/me", headers={"Authorization": header})
        assert response.status_code == 401
    assert client.get("/health").status_code == 200


def test_me_and_users(client: TestClient[Any], org: Org) -> None:
    agent = org.add_member("agent", email="alice@acme.test", name="Alice")
    me = client.get(f"{API}/me", headers=agent.headers).json()
    assert me["user"] == {
        "id": agent.user_id,
        "email": "alice@acme.test",
        "name": "Alice",
        "role": "agent",
        "handle": "alice",
        "kind": "human",
    }
    assert me["org"]["slug"] == org.slug
    users = client.get(f"{API}/users", headers=agent.headers).json()["items"]
    assert {u["id"] for u in users} == {agent.user_id, org.admin.user_id}


def test_viewer_reads_but_cannot_write(client: TestClient[Any], org: Org) -> None:
    viewer = org.add_member("viewer")
    client.post(f"{API}/tickets", json={"subject": "s"}, headers=org.admin.headers)
    assert client.get(f"{API}/tickets/1", headers=viewer.headers).status_code == 200
    writes = [
        ("POST", f"{API}/tickets", {"subject": "s"}),
        ("PATCH", f"{API}/tickets/1", {"priority": "high"}),
        ("POST", f"{API}/tickets/1/messages", {"content": "hi"}),
        ("POST", f"{API}/tickets/1/assign", {"assigneeId": None}),
        ("DELETE", f"{API}/tickets/1", None),
        ("POST", f"{API}/ticket-tags", {"name": "t", "color": "#000000"}),
        ("POST", f"{API}/teams", {"name": "t"}),
    ]
    for method, path, body in writes:
        response = client.request(method, path, json=body, headers=viewer.headers)
        assert response.status_code == 403, (method, path, response.text)
        assert "viewer" in response.json()["detail"]
    assert client.get(f"{API}/tickets/1", headers=viewer.headers).json()["version"] == 1


def test_agents_cannot_manage_admin_things(client: TestClient[Any], org: Org) -> None:
    agent = org.add_member("agent")
    denied = [
        ("POST", f"{API}/teams", {"name": "t"}),
        (
            "POST",
            f"{API}/sla-policies",
            {"priority": "high", "firstResponseMinutes": 5, "resolutionMinutes": 60},
        ),
        ("POST", f"{API}/users", {"email": "x@y.test", "name": "X"}),
        ("POST", f"{API}/canned-responses", {"title": "Hi", "body": "Hello"}),
        ("PATCH", f"{API}/users/{agent.user_id}", {"role": "admin"}),
    ]
    for method, path, body in denied:
        response = client.request(method, path, json=body, headers=agent.headers)
        assert response.status_code == 403, (method, path, response.text)
    team = client.post(f"{API}/teams", json={"name": "Support"}, headers=org.admin.headers).json()
    canned = {"title": "Hi", "body": "Hello", "teamId": team["id"]}
    # A team's canned responses are its members' (and admins') to manage.
    assert client.post(f"{API}/canned-responses", json=canned, headers=agent.headers).status_code == 403
    client.put(f"{API}/teams/{team['id']}/members/{agent.user_id}", headers=org.admin.headers)
    scoped = client.post(f"{API}/canned-responses", json=canned, headers=agent.headers)
    assert scoped.status_code == 201
    tag = client.post(f"{API}/ticket-tags", json={"name": "vip", "color": "#00ff00"}, headers=agent.headers)
    assert tag.status_code == 201


def test_another_orgs_data_is_invisible_and_untouchable(client: TestClient[Any], make_org: Any) -> None:
    ours, theirs = make_org(), make_org()
    ticket = client.post(f"{API}/tickets", json={"subject": "secret"}, headers=ours.admin.headers).json()
    message = client.post(
        f"{API}/tickets/1/messages",
        json={"content": "internal", "isInternalNote": True},
        headers=ours.admin.headers,
    ).json()
    tag = client.post(
        f"{API}/ticket-tags", json={"name": "x", "color": "#000000"}, headers=ours.admin.headers
    ).json()
    team = client.post(f"{API}/teams", json={"name": "Ours"}, headers=ours.admin.headers).json()
    h = theirs.admin.headers
    for ref in (ticket["id"], "1"):
        assert client.get(f"{API}/tickets/{ref}", headers=h).status_code == 404
        assert client.get(f"{API}/tickets/{ref}/messages", headers=h).status_code == 404
        assert client.get(f"{API}/tickets/{ref}/activities", headers=h).status_code == 404
        assert client.patch(f"{API}/tickets/{ref}", json={"subject": "pwned"}, headers=h).status_code == 404
        assert (
            client.post(f"{API}/tickets/{ref}/messages", json={"content": "x"}, headers=h).status_code == 404
        )
        assert client.delete(f"{API}/tickets/{ref}", headers=h).status_code == 404
    assert (
        client.delete(f"{API}/tickets/{ticket['id']}/messages/{message['id']}", headers=h).status_code == 404
    )
    assert client.get(f"{API}/ticket-tags/{tag['id']}", headers=h).status_code == 404
    assert client.patch(f"{API}/teams/{team['id']}", json={"name": "pwned"}, headers=h).status_code == 404
    # Their ticket cannot borrow our tag or team either.
    borrowed = client.post(f"{API}/tickets", json={"subject": "s", "tagIds": [tag["id"]]}, headers=h)
    assert borrowed.status_code == 422
    assert client.get(f"{API}/tickets/1", headers=ours.admin.headers).json()["subject"] == "secret"
    assert client.get(f"{API}/users", headers=h).json()["items"][0]["id"] == theirs.admin.user_id
