"""A private team's tickets are seen by its members and admins only: in the list, the stats and
every read or write of one ticket, as if they did not exist for anyone else (404)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org

API = "/api/v1"


def test_a_private_teams_tickets_are_invisible_to_everyone_else(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    alice = org.add_member("agent", email=f"alice@{org.slug}.test")
    bob = org.add_member("agent", email=f"bob@{org.slug}.test")
    team = client.post(f"{API}/teams", json={"name": "Security", "private": True}, headers=h).json()
    assert team["private"] is True
    client.put(f"{API}/teams/{team['id']}/members/{alice.user_id}", headers=h)
    secret = client.post(
        f"{API}/tickets", json={"subject": "Breach", "teamId": team["id"], "priority": "urgent"}, headers=h
    ).json()
    client.post(f"{API}/tickets", json={"subject": "Printer"}, headers=h)

    def listed(member: Any) -> list[str]:
        return [t["subject"] for t in client.get(f"{API}/tickets", headers=member.headers).json()["items"]]

    assert sorted(listed(org.admin)) == sorted(listed(alice)) == ["Breach", "Printer"]
    assert listed(bob) == ["Printer"]
    assert client.get(f"{API}/tickets?teamId={team['id']}", headers=bob.headers).json()["items"] == []
    for method, path, body in (
        ("GET", f"/tickets/{secret['id']}", None),
        ("GET", "/tickets/1", None),
        ("GET", "/tickets/1/messages", None),
        ("GET", "/tickets/1/activities", None),
        ("PATCH", "/tickets/1", {"priority": "low"}),
        ("POST", "/tickets/1/messages", {"content": "peek"}),
        ("POST", "/tickets/1/convert-to-issue", {}),
    ):
        response = client.request(method, f"{API}{path}", json=body, headers=bob.headers)
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get(f"{API}/tickets/1", headers=alice.headers).status_code == 200
    # Its files too: found by their own id, they are as missing as the ticket.
    uploaded = client.post(
        f"{API}/tickets/1/attachments", files={"file": ("log.txt", b"secret log", "text/plain")}, headers=h
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()[0]["id"]
    assert client.get(f"{API}/attachments/{attachment_id}", headers=bob.headers).status_code == 404
    assert client.get(f"{API}/attachments/{attachment_id}", headers=alice.headers).status_code == 200

    stats = client.get(f"{API}/tickets/stats", headers=bob.headers).json()
    assert (stats["total"], stats["byPriority"].get("urgent", 0)) == (1, 0)
    assert client.get(f"{API}/tickets/stats", headers=alice.headers).json()["total"] == 2
    assert client.get(f"{API}/tickets/stats?teamId={team['id']}", headers=bob.headers).json()["total"] == 0

    # No longer private: everyone sees it.
    client.patch(f"{API}/teams/{team['id']}", json={"private": False}, headers=h)
    assert sorted(listed(bob)) == ["Breach", "Printer"]
    assert client.get(f"{API}/tickets/1", headers=bob.headers).status_code == 200
