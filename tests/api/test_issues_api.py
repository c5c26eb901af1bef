"""Engineering issues over HTTP, on SQLite and PostgreSQL: converting a ticket, numbers, filters,
links, the issue's completion coming back to the ticket, and the denials."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from projections.runner import Follower
from tests.conftest import Org, settle
from tickets.bootstrap import Services

API = "/api/v1"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _follow(services: Services) -> None:
    """What the server's follower does: bring the read models up, then run the policies."""
    settle(services)
    assert services.read_side is not None
    Follower(services.read_side).run_policies()
    settle(services)


def test_a_ticket_converts_into_an_issue_whose_completion_comes_back(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    agent = org.add_member("agent", email="dev@acme.test", name="Dev")
    h = agent.headers
    ticket = _ok(
        client.post(
            f"{API}/tickets",
            json={"subject": "Export crashes", "description": "Stack **trace**", "priority": "high"},
            headers=h,
        ),
        201,
    )
    issue = _ok(client.post(f"{API}/tickets/1/convert-to-issue", json={}, headers=h), 201)
    assert (issue["issueNumber"], issue["title"], issue["description"]) == (
        1,
        "Export crashes",
        "Stack **trace**",
    )
    assert (issue["status"], issue["priority"]) == ("backlog", "high")
    assert issue["metadata"] == {"ticketId": ticket["id"], "ticketNumber": 1}
    assert issue["ticketIds"] == [ticket["id"]]
    assert _ok(client.get(f"{API}/tickets/1", headers=h))["linkedIssueIds"] == [issue["id"]]
    kinds = [a["type"] for a in _ok(client.get(f"{API}/tickets/1/activities", headers=h))["items"]]
    assert kinds[-1] == "issue_linked"

    # A second ticket links to the same issue; linking again changes nothing.
    _ok(client.post(f"{API}/tickets", json={"subject": "Export fails too"}, headers=h), 201)
    linked = _ok(client.post(f"{API}/issues/1/links", json={"ticketId": "2"}, headers=h), 201)
    assert len(linked["ticketIds"]) == 2
    again = client.post(f"{API}/issues/1/links", json={"ticketId": "#2"}, headers=h)
    assert again.status_code == 201 and "x-event-position" not in again.headers

    _ok(
        client.patch(
            f"{API}/issues/1", json={"status": "in_progress", "assigneeId": agent.user_id}, headers=h
        )
    )
    _ok(client.patch(f"{API}/issues/1", json={"status": "done"}, headers=h))
    _follow(services)
    _follow(services)  # a second round (or server) tells nobody twice
    for number in ("1", "2"):
        notes = [
            m
            for m in _ok(client.get(f"{API}/tickets/{number}/messages", headers=h))["items"]
            if m["isInternalNote"]
        ]
        assert [n["content"] for n in notes] == ["Linked issue #1 (Export crashes) is done."]
        assert notes[0]["authorId"] == agent.user_id
    timeline = _ok(client.get(f"{API}/issues/1/activities", headers=h))["items"]
    assert [a["type"] for a in timeline] == [
        "created",
        "ticket_linked",
        "ticket_linked",
        "assigned",  # a change's status goes last, as a ticket's
        "status_changed",
        "status_changed",
    ]
    assert timeline[3]["summary"] == "assignee - → @dev"


def test_numbers_filters_pages_and_deletion(client: TestClient[Any], org: Org, services: Services) -> None:
    h = org.admin.headers
    for title in ("one", "two", "three"):
        _ok(client.post(f"{API}/issues", json={"title": title}, headers=h), 201)
    _ok(client.patch(f"{API}/issues/2", json={"status": "todo", "assigneeId": org.admin.user_id}, headers=h))
    first = _ok(client.get(f"{API}/issues?limit=2", headers=h))
    assert [i["issueNumber"] for i in first["items"]] == [3, 2]
    rest = _ok(client.get(f"{API}/issues?limit=2&cursor={first['nextCursor']}", headers=h))
    assert [i["issueNumber"] for i in rest["items"]] == [1] and rest["nextCursor"] is None
    assert [i["title"] for i in _ok(client.get(f"{API}/issues?status=todo", headers=h))["items"]] == ["two"]
    mine = _ok(client.get(f"{API}/issues?assigneeId={org.admin.user_id}", headers=h))["items"]
    assert [i["issueNumber"] for i in mine] == [2]
    unassigned = _ok(client.get(f"{API}/issues?assigneeId=none", headers=h))["items"]
    assert [i["issueNumber"] for i in unassigned] == [3, 1]
    _ok(client.delete(f"{API}/issues/3", headers=h), 204)
    assert client.get(f"{API}/issues/3", headers=h).status_code == 404
    assert [i["issueNumber"] for i in _ok(client.get(f"{API}/issues", headers=h))["items"]] == [2, 1]
    # Numbers stay gap-free and never reused.
    assert _ok(client.post(f"{API}/issues", json={"title": "four"}, headers=h), 201)["issueNumber"] == 4


def test_issue_denials_and_bad_input(client: TestClient[Any], make_org: Any) -> None:
    acme: Org = make_org()
    other: Org = make_org()
    viewer = acme.add_member("viewer")
    h = acme.admin.headers
    _ok(client.post(f"{API}/tickets", json={"subject": "Ours"}, headers=h), 201)
    _ok(client.post(f"{API}/issues", json={"title": "Ours"}, headers=h), 201)
    assert client.post(f"{API}/issues", json={"title": "x"}, headers=viewer.headers).status_code == 403
    assert (
        client.post(f"{API}/tickets/1/convert-to-issue", json={}, headers=viewer.headers).status_code == 403
    )
    assert _ok(client.get(f"{API}/issues/1", headers=viewer.headers))["title"] == "Ours"
    # Another org's issue and ticket are as missing.
    assert client.get(f"{API}/issues/1", headers=other.admin.headers).status_code == 404
    issue_id = _ok(client.get(f"{API}/issues/1", headers=h))["id"]
    assert client.get(f"{API}/issues/{issue_id}", headers=other.admin.headers).status_code == 404
    assert (
        client.patch(f"{API}/issues/{issue_id}", json={"title": "x"}, headers=other.admin.headers).status_code
        == 404
    )
    _ok(client.post(f"{API}/tickets", json={"subject": "Theirs"}, headers=other.admin.headers), 201)
    theirs = _ok(client.get(f"{API}/tickets/1", headers=other.admin.headers))["id"]
    assert client.post(f"{API}/issues/1/links", json={"ticketId": theirs}, headers=h).status_code == 404
    assert client.post(f"{API}/tickets/{theirs}/convert-to-issue", json={}, headers=h).status_code == 404
    # Bad input is a 4xx that says what is wrong.
    assert client.patch(f"{API}/issues/1", json={"status": "open"}, headers=h).status_code == 400
    stranger = client.patch(f"{API}/issues/1", json={"assigneeId": other.admin.user_id}, headers=h)
    assert stranger.status_code == 422 and "not a member" in stranger.json()["detail"]
    huge = client.patch(f"{API}/issues/1", json={"metadata": {"x": "y" * 20_000}}, headers=h)
    assert huge.status_code == 422 and "metadata" in huge.json()["detail"]
    assert client.get(f"{API}/issues?assigneeId=someone", headers=h).status_code == 400
