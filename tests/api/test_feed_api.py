"""The org event feed and the webhooks over HTTP: paging, resuming, the stream, CRUD, SSRF refusals,
roles and other orgs (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from tests.conftest import Org, settle
from tickets.api.controllers import events as events_controller
from tickets.bootstrap import Services
from tickets.domain.errors import ForbiddenError, InvalidValueError
from tickets.domain.registry import ApiToken
from tickets.infrastructure.clock import ManualClock

API = "/api/v1"
PUBLIC_URL = "https://93.184.215.14/hooks"  # an IP literal: no DNS needed, and public


def _tickets(client: TestClient[Any], org: Org, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post(f"{API}/tickets", json={"subject": f"T{i}"}, headers=org.admin.headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        client.patch(f"{API}/tickets/{ids[-1]}", json={"status": "pending"}, headers=org.admin.headers)
    return ids


def _caught_up(services: Services) -> None:
    """Until the feed has reached the head of the log (the server's own follower applies it)."""
    assert services.read_side is not None
    assert services.read_side.wait_for(services.read_side.head(), 10, names=["feed"])


def test_the_feed_pages_in_log_order_and_resumes(
    client: TestClient[Any], services: Services, make_org: Callable[..., Org]
) -> None:
    org, other = make_org(), make_org()
    _tickets(client, org, 3)
    _tickets(client, other, 2)
    _caught_up(services)
    everything = client.get(f"{API}/events", params={"limit": 1000}, headers=org.admin.headers).json()
    items = everything["items"]
    assert [e["type"] for e in items] == ["ticket.created", "ticket.status_changed"] * 3
    assert {e["orgId"] for e in items} == {org.admin.org_id}  # never another org's
    positions = [e["position"] for e in items]
    assert positions == sorted(positions) and everything["nextAfter"] >= positions[-1]
    first = items[0]
    assert first["actor"] == {"type": "member", "id": org.admin.user_id}
    assert (first["ticketNumber"], first["version"], first["data"]["subject"]) == (1, 1, "T0")
    assert set(first) == {
        "id",
        "type",
        "version",
        "occurredAt",
        "position",
        "orgId",
        "ticketId",
        "ticketNumber",
        "actor",
        "data",
    }

    # Pages of two, resumed with nextAfter: the same events, none twice.
    seen, after = [], 0
    while True:
        page = client.get(
            f"{API}/events", params={"after": after, "limit": 2}, headers=org.admin.headers
        ).json()
        seen += page["items"]
        assert page["nextAfter"] >= after
        if not page["items"]:
            break
        after = page["nextAfter"]
    assert [e["id"] for e in seen] == [e["id"] for e in items]

    created = client.get(
        f"{API}/events", params={"types": "ticket.created"}, headers=org.admin.headers
    ).json()
    assert [e["data"]["subject"] for e in created["items"]] == ["T0", "T1", "T2"]
    bad = client.get(f"{API}/events", params={"types": "ticket.nope"}, headers=org.admin.headers)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    agent = org.add_member("agent")
    assert client.get(f"{API}/events", headers=agent.headers).status_code == 403
    types = client.get(f"{API}/events/types", headers=org.admin.headers).json()
    assert {"ticket.created", "ticket.updated"} <= {t["type"] for t in types}


def test_the_stream_sends_events_with_their_positions_and_resumes_after_last_event_id(
    client: TestClient[Any], services: Services, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_controller, "STREAM_SECONDS", 1.0)
    monkeypatch.setattr(events_controller, "POLL_SECONDS", 0.1)
    _tickets(client, org, 2)
    _caught_up(services)

    def stream(headers: dict[str, str]) -> list[tuple[int, str, str]]:
        got, fields = [], {}
        with client.stream(
            "GET", f"{API}/events/stream", headers={**org.admin.headers, **headers}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if not line:
                    if "id" in fields:
                        got.append((int(fields["id"]), fields["event"], fields["data"]))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        return got

    everything = stream({})
    assert [kind for _, kind, _ in everything] == ["ticket.created", "ticket.status_changed"] * 2
    assert all(f'"position":{p}' in data for p, _, data in everything)
    resumed = stream({"Last-Event-ID": str(everything[1][0])})
    assert resumed == everything[2:]


def test_webhook_crud_shows_the_secret_once(client: TestClient[Any], org: Org) -> None:
    body = {"url": PUBLIC_URL, "events": ["ticket.created"], "description": "CRM"}
    created = client.post(f"{API}/webhooks", json=body, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_") and webhook["active"] is True
    read = client.get(f"{API}/webhooks/{webhook['id']}", headers=org.admin.headers).json()
    assert "secret" not in read and read["url"] == PUBLIC_URL and read["disabledReason"] is None
    assert [w["id"] for w in client.get(f"{API}/webhooks", headers=org.admin.headers).json()] == [
        webhook["id"]
    ]

    changed = client.patch(
        f"{API}/webhooks/{webhook['id']}",
        json={"events": ["ticket.created", "ticket.deleted"], "active": False},
        headers=org.admin.headers,
    ).json()
    assert (changed["events"], changed["active"]) == (["ticket.created", "ticket.deleted"], False)
    rotated = client.post(f"{API}/webhooks/{webhook['id']}/rotate-secret", headers=org.admin.headers).json()
    assert rotated["secret"] != webhook["secret"] and rotated["previousSecretExpiresAt"]
    after = client.get(f"{API}/webhooks/{webhook['id']}", headers=org.admin.headers).json()
    assert after["previousSecretExpiresAt"] == rotated["previousSecretExpiresAt"]
    deliveries = client.get(f"{API}/webhooks/{webhook['id']}/deliveries", headers=org.admin.headers)
    assert deliveries.status_code == 200 and deliveries.json() == {"items": [], "nextCursor": None}
    assert client.delete(f"{API}/webhooks/{webhook['id']}", headers=org.admin.headers).status_code == 204
    assert client.get(f"{API}/webhooks/{webhook['id']}", headers=org.admin.headers).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
        "http://localhost:8000/hooks",
        "ftp://93.184.215.14/hooks",
        "http://user:pw@93.184.215.14/hooks",
    ],
)
def test_urls_that_reach_inside_are_refused(client: TestClient[Any], org: Org, url: str) -> None:
    refused = client.post(
        f"{API}/webhooks", json={"url": url, "events": ["ticket.created"]}, headers=org.admin.headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "url" in refused.json()["detail"]


def test_webhooks_are_for_admins_of_their_own_org(
    client: TestClient[Any], org: Org, make_org: Callable[..., Org]
) -> None:
    webhook = client.post(
        f"{API}/webhooks", json={"url": PUBLIC_URL, "events": ["ticket.created"]}, headers=org.admin.headers
    ).json()
    other = make_org()
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/ping"),
        ("GET", "/deliveries"),
        ("POST", f"/deliveries/{webhook['id']}/redeliver"),
    ]:
        kwargs: dict[str, Any] = {"json": {"active": False}} if method == "PATCH" else {}
        answer = client.request(
            method, f"{API}/webhooks/{webhook['id']}{path}", headers=other.admin.headers, **kwargs
        )
        assert answer.status_code == 404, (method, path, answer.text)
    assert client.get(f"{API}/webhooks", headers=other.admin.headers).json() == []
    agent = org.add_member("agent")
    assert client.get(f"{API}/webhooks", headers=agent.headers).status_code == 403
    create = client.post(
        f"{API}/webhooks", json={"url": PUBLIC_URL, "events": ["ticket.created"]}, headers=agent.headers
    )
    assert create.status_code == 403
    unknown = client.post(
        f"{API}/webhooks", json={"url": PUBLIC_URL, "events": ["nope"]}, headers=org.admin.headers
    )
    assert unknown.status_code == 422


def test_an_events_read_token_opens_the_feed_and_nothing_else(
    client: TestClient[Any], org: Org, services: Services, clock: ManualClock
) -> None:
    """An integration's token: created by the operator for an admin, scoped, expiring, revocable."""
    org_id = UUID(org.admin.org_id)
    admin_email = f"admin@{org.slug}.test"
    token = services.directory.scoped_token(org_id, admin_email, ["events:read"], clock() + timedelta(days=1))
    h = {"Authorization": f"Bearer {token}"}
    client.post(f"{API}/tickets", json={"subject": "Fed"}, headers=org.admin.headers)
    settle(services)
    assert [e["type"] for e in client.get(f"{API}/events", headers=h).json()["items"]][-1] == "ticket.created"
    for path in ("/tickets", "/webhooks", "/users", "/org", "/tickets/1"):
        refused = client.get(f"{API}{path}", headers=h)
        assert refused.status_code == 403 and "events:read" in refused.json()["detail"], path
    assert client.post(f"{API}/tickets", json={"subject": "x"}, headers=h).status_code == 403
    # Only admins get one; only known scopes.
    agent = org.add_member("agent", email=f"agent@{org.slug}.test")
    assert agent
    with pytest.raises(ForbiddenError):
        services.directory.scoped_token(org_id, f"agent@{org.slug}.test", ["events:read"], None)
    with pytest.raises(InvalidValueError):
        services.directory.scoped_token(org_id, admin_email, ["tickets:write"], None)
    # It expires, and it can be revoked.
    clock.advance(days=2)
    assert client.get(f"{API}/events", headers=h).status_code == 401
    forever = services.directory.scoped_token(org_id, admin_email, ["events:read"], None)
    issued: ApiToken = services.app.repository.get(ApiToken.id_for(forever))
    issued.revoke(timestamp=clock())
    services.app.save(issued)
    assert client.get(f"{API}/events", headers={"Authorization": f"Bearer {forever}"}).status_code == 401
