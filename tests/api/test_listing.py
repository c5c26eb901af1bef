"""GET /api/v1/tickets and /api/v1/tickets/stats, served from the read models, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org
from tickets.bootstrap import Services
from tickets.infrastructure.clock import ManualClock

Client = TestClient[Any]


def create(client: Client, org: Org, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tickets", json={"subject": "Ticket", **fields}, headers=org.admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def numbers(client: Client, org: Org, query: str = "") -> list[int]:
    response = client.get(f"/api/v1/tickets?{query}", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    return [item["ticketNumber"] for item in response.json()["items"]]


def test_a_client_sees_its_write_in_the_list_at_once(client: Client, org: Org) -> None:
    create(client, org, subject="Login broken")
    listed = client.get("/api/v1/tickets", headers=org.admin.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["subject"] == "Login broken"
    assert item["status"] == "open"
    assert listed.json()["nextCursor"] is None


def test_stats_path_is_not_taken_for_a_ticket_reference(client: Client, org: Org) -> None:
    create(client, org)
    stats = client.get("/api/v1/tickets/stats", headers=org.admin.headers)
    assert stats.status_code == 200, stats.text
    assert stats.json()["total"] == 1


def test_min_position_header_waits_for_that_write(client: Client, org: Org) -> None:
    created = client.post("/api/v1/tickets", json={"subject": "A"}, headers=org.admin.headers)
    position = created.headers["X-Event-Position"]
    listed = client.get("/api/v1/tickets", headers={**org.admin.headers, "X-Min-Position": position})
    assert [i["subject"] for i in listed.json()["items"]] == ["A"]
    assert int(listed.headers["X-Projection-Position"]) >= int(position)


def test_filters_combine_and_repeat(client: Client, org: Org) -> None:
    agent = org.add_member("agent")
    team = client.post("/api/v1/teams", json={"name": "Support"}, headers=org.admin.headers).json()
    tag = client.post("/api/v1/ticket-tags", json={"name": "Regression"}, headers=org.admin.headers).json()
    create(client, org, subject="Login broken", priority="high", category="bug", source="email")
    create(
        client,
        org,
        subject="Invoice wrong",
        description="The billing total is off",
        category="billing",
        teamId=team["id"],
        assigneeId=agent.user_id,
        tagIds=[tag["id"]],
        contactEmail="Cara@Example.com",
    )
    third = create(client, org, subject="Cannot log in", priority="urgent", source="web")
    client.patch(f"/api/v1/tickets/{third['id']}", json={"status": "pending"}, headers=org.admin.headers)

    assert numbers(client, org) == [3, 2, 1]
    assert numbers(client, org, "status=open") == [2, 1]
    assert numbers(client, org, "status=open&status=pending") == [3, 2, 1]
    assert numbers(client, org, "priority=high&priority=urgent") == [3, 1]
    assert numbers(client, org, "category=billing") == [2]
    assert numbers(client, org, "source=email") == [1]
    assert numbers(client, org, f"assigneeId={agent.user_id}") == [2]
    assigned = client.get(f"/api/v1/tickets?assigneeId={agent.user_id}", headers=org.admin.headers).json()
    assert assigned["items"][0]["assignee"]["id"] == agent.user_id
    assert [
        i["assignee"]
        for i in client.get("/api/v1/tickets?assigneeId=none", headers=org.admin.headers).json()["items"]
    ] == [None, None]
    assert numbers(client, org, "assigneeId=none") == [3, 1]
    assert numbers(client, org, f"assigneeId=none&assigneeId={agent.user_id}") == [3, 2, 1]
    assert numbers(client, org, f"teamId={team['id']}") == [2]
    assert numbers(client, org, "tag=regression") == [2]
    assert numbers(client, org, f"tag={tag['id']}") == [2]
    assert numbers(client, org, "tag=no-such-tag") == []
    assert numbers(client, org, "contactEmail=cara@example.com") == [2]
    assert numbers(client, org, "q=BILLING+total") == [2]
    assert numbers(client, org, "q=login") == [1]
    assert numbers(client, org, "q=log") == [3]
    assert numbers(client, org, "status=open&priority=high") == [1]


def test_sort_orders_and_keyset_pages(client: Client, org: Org, clock: ManualClock) -> None:
    for priority in ("low", "urgent", "medium", "high", "medium"):
        create(client, org, priority=priority)
        clock.advance(minutes=1)
    client.patch("/api/v1/tickets/1", json={"subject": "Touched"}, headers=org.admin.headers)

    assert numbers(client, org, "sort=createdAt") == [1, 2, 3, 4, 5]
    assert numbers(client, org, "sort=-updatedAt") == [1, 5, 4, 3, 2]
    assert numbers(client, org, "sort=-priority") == [2, 4, 5, 3, 1]

    seen: list[int] = []
    cursor: str | None = None
    while True:
        query = "sort=-priority&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/tickets?{query}", headers=org.admin.headers).json()
        assert len(page["items"]) <= 2
        seen += [i["ticketNumber"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [2, 4, 5, 3, 1]

    first = client.get("/api/v1/tickets?limit=2", headers=org.admin.headers).json()
    other_sort = client.get(
        f"/api/v1/tickets?sort=createdAt&cursor={first['nextCursor']}", headers=org.admin.headers
    )
    assert other_sort.status_code == 400
    assert "cursor" in other_sort.json()["detail"]


def test_limit_is_bounded(client: Client, org: Org) -> None:
    assert client.get("/api/v1/tickets?limit=201", headers=org.admin.headers).status_code == 400
    assert client.get("/api/v1/tickets?limit=0", headers=org.admin.headers).status_code == 400
    assert client.get("/api/v1/tickets?sort=subject", headers=org.admin.headers).status_code == 400


def test_stats_count_by_status_priority_category_and_narrow(client: Client, org: Org) -> None:
    agent = org.add_member("agent")
    team = client.post("/api/v1/teams", json={"name": "Billing"}, headers=org.admin.headers).json()
    create(client, org, priority="high", category="bug")
    create(client, org, category="billing", teamId=team["id"], assigneeId=agent.user_id)
    third = create(client, org, priority="urgent")
    client.patch(f"/api/v1/tickets/{third['id']}", json={"status": "resolved"}, headers=org.admin.headers)

    stats = client.get("/api/v1/tickets/stats", headers=org.admin.headers).json()
    assert stats == {
        "total": 3,
        "byStatus": {"open": 2, "pending": 0, "on_hold": 0, "resolved": 1, "closed": 0},
        "byPriority": {"low": 0, "medium": 1, "high": 1, "urgent": 1},
        "byCategory": {"general": 1, "bug": 1, "feature": 0, "billing": 1, "account": 0, "technical": 0},
        "slaBreached": 0,
        "slaBreachedTotal": 0,
    }
    by_team = client.get(f"/api/v1/tickets/stats?teamId={team['id']}", headers=org.admin.headers).json()
    assert by_team["total"] == 1
    assert by_team["byCategory"]["billing"] == 1
    by_agent = client.get(f"/api/v1/tickets/stats?assigneeId={agent.user_id}", headers=org.admin.headers)
    assert by_agent.json()["total"] == 1
    # Both: the agent's tickets in that team; another member's in it: none.
    both = client.get(
        f"/api/v1/tickets/stats?teamId={team['id']}&assigneeId={agent.user_id}", headers=org.admin.headers
    )
    assert (both.json()["total"], both.json()["byCategory"]["billing"]) == (1, 1)
    other = client.get(
        f"/api/v1/tickets/stats?teamId={team['id']}&assigneeId={org.admin.user_id}", headers=org.admin.headers
    )
    assert other.json()["total"] == 0


def test_deleted_tickets_leave_the_list_and_the_counts(client: Client, org: Org) -> None:
    create(client, org)
    second = create(client, org)
    assert client.delete(f"/api/v1/tickets/{second['id']}", headers=org.admin.headers).status_code == 204
    assert numbers(client, org) == [1]
    assert client.get("/api/v1/tickets/stats", headers=org.admin.headers).json()["total"] == 1


def test_nothing_of_one_org_shows_in_another(client: Client, make_org: Any) -> None:
    acme, globex = make_org(), make_org()
    create(client, acme, subject="Acme secret")
    assert numbers(client, globex) == []
    assert numbers(client, globex, "q=secret") == []
    stats = client.get("/api/v1/tickets/stats", headers=globex.admin.headers).json()
    assert stats["total"] == 0
    assert sum(stats["byStatus"].values()) == 0


def test_sla_breach_by_the_clock_shows_in_filter_and_stats(
    client: Client, org: Org, clock: ManualClock
) -> None:
    policy = {"priority": "high", "firstResponseMinutes": 30, "resolutionMinutes": 240}
    assert client.post("/api/v1/sla-policies", json=policy, headers=org.admin.headers).status_code == 201
    late = create(client, org, priority="high")
    held = create(client, org, priority="high")
    create(client, org, priority="low")  # no policy: no deadline
    client.patch(f"/api/v1/tickets/{held['id']}", json={"status": "on_hold"}, headers=org.admin.headers)

    assert numbers(client, org, "breached=true") == []
    clock.advance(minutes=31)
    assert numbers(client, org, "breached=true") == [int(late["ticketNumber"])]
    listed = {
        i["ticketNumber"]: i for i in client.get("/api/v1/tickets", headers=org.admin.headers).json()["items"]
    }
    assert listed[late["ticketNumber"]]["slaBreached"] is True
    assert listed[held["ticketNumber"]]["slaBreached"] is False  # on hold pauses the SLA clock
    assert numbers(client, org, "sort=slaDeadline") == [1, 2, 3]
    stats = client.get("/api/v1/tickets/stats", headers=org.admin.headers).json()
    assert stats["slaBreached"] == 1

    client.patch(f"/api/v1/tickets/{late['id']}", json={"status": "resolved"}, headers=org.admin.headers)
    assert numbers(client, org, "breached=true") == []
    assert client.get("/api/v1/tickets/stats", headers=org.admin.headers).json()["slaBreached"] == 0


def test_breach_recorder_records_each_breach_once_in_the_timeline(
    client: Client, services: Services, org: Org, clock: ManualClock
) -> None:
    from tickets.application.sla_breaches import record_due_breaches

    policy = {"priority": "urgent", "firstResponseMinutes": 10, "resolutionMinutes": 60}
    client.post("/api/v1/sla-policies", json=policy, headers=org.admin.headers)
    ticket = create(client, org, priority="urgent")
    clock.advance(minutes=11)
    read_side = services.read_side
    assert read_side is not None
    read_side.wait_for(read_side.head(), timeout=10)

    # The server's own follower may record it first: either way the breach is recorded once.
    record_due_breaches(services.app, read_side.unrecorded_breaches, clock())
    read_side.wait_for(read_side.head(), timeout=10)
    assert record_due_breaches(services.app, read_side.unrecorded_breaches, clock()) == 0
    assert read_side.unrecorded_breaches(clock(), limit=10) == []

    timeline = client.get(f"/api/v1/tickets/{ticket['id']}/activities", headers=org.admin.headers).json()
    assert [a["type"] for a in timeline["items"]].count("sla_breached") == 1
