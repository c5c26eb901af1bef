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


# Every route that names one ticket, with a body it takes: each answers a non-member 404.
TICKET_ROUTES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/tickets/{ticket_ref}"): None,
    ("PATCH", "/tickets/{ticket_ref}"): {"priority": "low"},
    ("DELETE", "/tickets/{ticket_ref}"): None,
    ("GET", "/tickets/{ticket_ref}/messages"): None,
    ("POST", "/tickets/{ticket_ref}/messages"): {"content": "peek"},
    ("PATCH", "/tickets/{ticket_ref}/messages/{message_id}"): {"content": "changed"},
    ("DELETE", "/tickets/{ticket_ref}/messages/{message_id}"): None,
    ("POST", "/tickets/{ticket_ref}/assign"): {"assigneeId": None},
    ("GET", "/tickets/{ticket_ref}/events"): None,
    ("GET", "/tickets/{ticket_ref}/activities"): None,
    ("POST", "/tickets/{ticket_ref}/follow-up"): {},
    ("POST", "/tickets/{ticket_ref}/convert-to-issue"): {},
    ("POST", "/tickets/{ticket_ref}/attachments"): None,  # multipart, below
    ("POST", "/tickets/{ticket_ref}/agent-dispatches/{dispatch_id}/complete"): {"status": "completed"},
}


def test_every_route_of_a_private_teams_ticket_is_404_to_a_non_member_and_counts_leave_it_out(
    client: TestClient[Any], org: Org, services: Any
) -> None:
    h = org.admin.headers
    alice = org.add_member("agent", email=f"alice@{org.slug}.test")
    bob = org.add_member("agent", email=f"bob@{org.slug}.test")
    viewer = org.add_member("viewer", email=f"vera@{org.slug}.test")
    team = client.post(f"{API}/teams", json={"name": "Security", "private": True}, headers=h).json()
    client.put(f"{API}/teams/{team['id']}/members/{alice.user_id}", headers=h)
    body = {"subject": "Breach", "teamId": team["id"], "assigneeId": bob.user_id, "contactEmail": "c@x.test"}
    secret = client.post(f"{API}/tickets", json=body, headers=h).json()
    open_ticket = client.post(
        f"{API}/tickets", json={"subject": "Printer", "assigneeId": bob.user_id}, headers=h
    ).json()
    note = {"content": "@bob @vera see", "isInternalNote": True}
    message = client.post(f"{API}/tickets/{secret['id']}/messages", json=note, headers=h).json()
    client.post(f"{API}/tickets/{open_ticket['id']}/messages", json=note, headers=h)

    # The routes the OpenAPI document lists for one ticket are exactly those tried here.
    paths = client.get("/schema/openapi.json").json()["paths"]
    listed = {
        (method.upper(), path.removeprefix(API))
        for path, operations in paths.items()
        if path.startswith(f"{API}/tickets/{{ticket_ref}}")
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert listed == set(TICKET_ROUTES)
    for ref in (secret["id"], str(secret["ticketNumber"])):
        for (method, route), payload in TICKET_ROUTES.items():
            path = route.format(
                ticket_ref=ref, message_id=message["id"], dispatch_id="00000000-0000-4000-8000-000000000000"
            )
            for member in (bob, viewer):
                if route.endswith("/attachments"):
                    files = {"file": ("a.txt", b"x", "text/plain")}
                    answer = client.post(f"{API}{path}", files=files, headers=member.headers)
                else:
                    answer = client.request(method, f"{API}{path}", json=payload, headers=member.headers)
                # A route the caller's role may not use on any ticket (a viewer's writes, an agent
                # reading stored events) is 403 for every ticket alike: that tells nothing either.
                refused_for_role = answer.status_code == 403 and "role" in answer.json()["detail"]
                assert answer.status_code == 404 or refused_for_role, (method, path, answer.text)
    # Nothing was written by any of them.
    assert (
        client.get(f"{API}/tickets/{secret['id']}", headers=alice.headers).json()["version"]
        == secret["version"] + 1
    )  # the admin's note only

    # Lists, counts and notifications leave it out: the contact's tickets, the assignee's own stats
    # (bob is its assignee but not in the team), the inbox and its count.
    contact_id = secret["contactId"]
    numbers = lambda m: [  # noqa: E731
        t["ticketNumber"]
        for t in client.get(f"{API}/contacts/{contact_id}/tickets", headers=m.headers).json()["items"]
    ]
    assert numbers(bob) == [] and numbers(alice) == [secret["ticketNumber"]]
    mine = client.get(f"{API}/tickets/stats?assigneeId={bob.user_id}", headers=bob.headers).json()
    assert mine["total"] == 1
    theirs = client.get(f"{API}/tickets/stats?assigneeId={bob.user_id}", headers=alice.headers).json()
    assert theirs["total"] == 2
    both = f"{API}/tickets/stats?assigneeId={bob.user_id}&teamId={team['id']}"
    assert client.get(both, headers=alice.headers).json()["total"] == 1
    assert client.get(both, headers=bob.headers).json()["total"] == 0
    inbox = client.get(f"{API}/inbox", headers=bob.headers).json()["items"]
    assert [i["subject"] for i in inbox] == ["Printer", "Printer"]  # mentioned and assigned; not "Breach"
    assert client.get(f"{API}/inbox/count", headers=bob.headers).json()["unread"] == 2
    linked = client.post(f"{API}/issues", json={"title": "Fix"}, headers=h).json()
    link = client.post(
        f"{API}/issues/{linked['id']}/links", json={"ticketId": secret["id"]}, headers=bob.headers
    )
    assert link.status_code == 404, link.text
    # When the team is no longer private, all of it shows again.
    client.patch(f"{API}/teams/{team['id']}", json={"private": False}, headers=h)
    assert len(client.get(f"{API}/inbox", headers=bob.headers).json()["items"]) == 4
