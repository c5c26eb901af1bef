"""Every list endpoint pages the same way: `limit`, `cursor`, `{"items": [...], "nextCursor": ...}`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.infrastructure.clock import ManualClock

API = "/api/v1"
Client = TestClient[Any]
PRIORITIES = ["low", "medium", "high", "urgent"]


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def fill(client: Client, org: Org, path: str, count: int) -> None:
    """`count` items at `path` beside what the org starts with."""
    h = org.admin.headers
    for n in range(count):
        if path == "/users":
            org.add_member("viewer", email=f"user{n}@{org.slug}.test", name=f"User {n}")
        elif path == "/teams":
            created(client.post(f"{API}/teams", json={"name": f"Team {n}"}, headers=h))
        elif path == "/ticket-tags":
            created(client.post(f"{API}/ticket-tags", json={"name": f"tag-{n}"}, headers=h))
        elif path == "/canned-responses":
            created(
                client.post(f"{API}/canned-responses", json={"title": f"Reply {n}", "body": "b"}, headers=h)
            )
        elif path == "/sla-policies":
            team = (
                {}
                if n < len(PRIORITIES)
                else {"teamId": created(client.post(f"{API}/teams", json={"name": f"T{n}"}, headers=h))["id"]}
            )
            policy = {
                "priority": PRIORITIES[n % len(PRIORITIES)],
                "firstResponseMinutes": 5,
                "resolutionMinutes": 60,
            }
            created(client.post(f"{API}/sla-policies", json={**policy, **team}, headers=h))


def every_page(
    client: Client, org: Org, path: str, limit: int, between: Callable[[], None] = lambda: None
) -> list[list[str]]:
    pages: list[list[str]] = []
    query: dict[str, Any] = {"limit": limit}
    while True:
        response = client.get(API + path, params=query, headers=org.admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "nextCursor"}
        pages.append([item["id"] for item in body["items"]])
        if body["nextCursor"] is None:
            return pages
        query["cursor"] = body["nextCursor"]
        between()


LISTS = ["/users", "/teams", "/ticket-tags", "/canned-responses", "/sla-policies"]


@pytest.mark.parametrize("path", LISTS)
def test_list_endpoints_are_paged_like_tickets(client: Client, org: Org, path: str) -> None:
    fill(client, org, path, 5)
    whole = client.get(API + path, params={"limit": 200}, headers=org.admin.headers).json()
    assert whole["nextCursor"] is None
    everything = [item["id"] for item in whole["items"]]
    assert len(everything) >= 5

    pages = every_page(client, org, path, limit=2)
    assert all(len(page) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 2
    assert [i for page in pages for i in page] == everything  # same order, nothing twice, nothing left out


@pytest.mark.parametrize("path", ["/teams", "/ticket-tags", "/canned-responses"])
def test_a_delete_between_pages_skips_nothing_else(client: Client, org: Org, path: str) -> None:
    fill(client, org, path, 6)
    everything = [i["id"] for i in client.get(API + path, headers=org.admin.headers).json()["items"]]
    deleted: list[str] = []

    def delete_first() -> None:
        if not deleted:
            deleted.append(everything[0])
            assert client.delete(f"{API}{path}/{everything[0]}", headers=org.admin.headers).status_code == 204

    seen = [i for page in every_page(client, org, path, limit=2, between=delete_first) for i in page]
    assert seen == everything


@pytest.mark.parametrize("path", LISTS)
def test_list_endpoints_check_limit_and_cursor(client: Client, org: Org, path: str) -> None:
    h = org.admin.headers
    assert (
        client.get(API + path, params={"limit": 0}, headers=h).json()["detail"]
        == "limit: must be between 1 and 200"
    )
    bad = client.get(API + path, params={"cursor": "bm9wZQ"}, headers=h)
    assert bad.status_code == 400 and bad.json()["detail"] == "cursor: not a cursor from this list"
    other = client.get(f"{API}/teams", params={"limit": 1}, headers=h).json()["nextCursor"]
    if path != "/teams" and other:
        assert client.get(API + path, params={"cursor": other}, headers=h).status_code == 400


def test_ticket_list_takes_updated_since_for_incremental_sync(
    client: Client, org: Org, clock: ManualClock
) -> None:
    h = org.admin.headers
    start = clock()
    created(client.post(f"{API}/tickets", json={"subject": "old"}, headers=h))
    clock.advance(hours=1)
    created(client.post(f"{API}/tickets", json={"subject": "new"}, headers=h))

    def since(moment: Any) -> list[str]:
        response = client.get(f"{API}/tickets", params={"updatedSince": moment.isoformat()}, headers=h)
        assert response.status_code == 200, response.text
        return [i["subject"] for i in response.json()["items"]]

    assert since(start) == ["new", "old"]
    assert since(start + timedelta(minutes=30)) == ["new"]
    clock.advance(hours=1)
    assert client.patch(f"{API}/tickets/1", json={"priority": "high"}, headers=h).status_code == 200
    assert since(start + timedelta(minutes=90)) == ["old"]

    naive = client.get(f"{API}/tickets", params={"updatedSince": "2026-01-05T09:00:00"}, headers=h)
    assert naive.status_code == 400
    assert (
        naive.json()["detail"] == "updatedSince: an RFC 3339 time needs an offset, e.g. 2026-01-05T09:00:00Z"
    )
