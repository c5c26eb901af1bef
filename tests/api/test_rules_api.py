"""Trigger rules and team members over HTTP, with the rule engine run when a test asks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from projections.rule_triggers import RULE_TRIGGERS
from tests.conftest import Org
from tickets.bootstrap import Services, build_services, follower_of
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import MailSettings, Settings

API = "/api/v1"


def run_rules(services: Services) -> None:
    """Run the engine until the log has nothing new for it (chains of rules take several rounds)."""
    assert services.read_side is not None
    for _ in range(60):
        if not services.read_side.run_rules(services.rule_engine).advanced:
            return
    raise AssertionError("the rules did not settle")


def make_rule(client: TestClient[Any], org: Org, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "rule",
        "on": ["ticket.created"],
        "actions": [{"type": "set_priority", "value": "urgent"}],
    }
    created = client.post(f"{API}/rules", json={**body, **fields}, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    rule: dict[str, Any] = created.json()
    return rule


def new_ticket(client: TestClient[Any], org: Org, **fields: Any) -> dict[str, Any]:
    created = client.post(f"{API}/tickets", json={"subject": "Help", **fields}, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()
    return ticket


def ticket(client: TestClient[Any], org: Org, ticket_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"{API}/tickets/{ticket_id}", headers=org.admin.headers).json()
    return found


def activities(client: TestClient[Any], org: Org, ticket_id: str) -> list[dict[str, Any]]:
    page = client.get(
        f"{API}/tickets/{ticket_id}/activities", params={"limit": 200}, headers=org.admin.headers
    )
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def team_with_members(client: TestClient[Any], org: Org, count: int) -> tuple[str, list[str]]:
    h = org.admin.headers
    team_id = client.post(f"{API}/teams", json={"name": "Tier 1"}, headers=h).json()["id"]
    members = [org.add_member("agent", name=f"Agent {i}").user_id for i in range(count)]
    for user_id in members:
        assert client.put(f"{API}/teams/{team_id}/members/{user_id}", headers=h).status_code == 200
    return team_id, members


# ---------------------------------------------------------------------------- team members


def test_team_members_are_added_listed_and_removed_by_admins(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    team_id, (ann, bob) = team_with_members(client, org, 2)
    again = client.put(f"{API}/teams/{team_id}/members/{ann}", headers=h)
    assert again.status_code == 200 and "X-Event-Position" not in again.headers  # nothing changed
    agent = org.add_member("agent")
    listed = client.get(f"{API}/teams/{team_id}/members", headers=agent.headers)
    assert listed.status_code == 200 and {m["id"] for m in listed.json()["items"]} == {ann, bob}
    assert (
        client.put(f"{API}/teams/{team_id}/members/{agent.user_id}", headers=agent.headers).status_code == 403
    )
    assert client.delete(f"{API}/teams/{team_id}/members/{bob}", headers=h).status_code == 204
    assert client.delete(f"{API}/teams/{team_id}/members/{bob}", headers=h).status_code == 404
    stranger = "00000000-0000-4000-8000-000000000000"
    assert client.put(f"{API}/teams/{team_id}/members/{stranger}", headers=h).status_code == 404
    assert [m["id"] for m in client.get(f"{API}/teams/{team_id}/members", headers=h).json()["items"]] == [ann]


# ---------------------------------------------------------------------------- CRUD and validation


def test_rule_crud_in_position_order(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    second = make_rule(client, org, name="Second", position=20)
    first = make_rule(client, org, name="First", position=10, active=False)
    assert first["conditions"] == {"all": [], "any": []} and first["activeSince"]
    listed = client.get(f"{API}/rules", headers=h).json()["items"]
    assert [r["name"] for r in listed] == ["First", "Second"]
    patched = client.patch(f"{API}/rules/{second['id']}", json={"position": 1, "active": False}, headers=h)
    assert patched.status_code == 200 and patched.json()["position"] == 1
    assert patched.json()["actions"] == [{"type": "set_priority", "value": "urgent"}]
    assert client.get(f"{API}/rules/{second['id']}", headers=h).json()["position"] == 1
    assert client.delete(f"{API}/rules/{second['id']}", headers=h).status_code == 204
    assert client.get(f"{API}/rules/{second['id']}", headers=h).status_code == 404


def test_rule_names_are_unique(client: TestClient[Any], org: Org) -> None:
    make_rule(client, org, name="VIP routing")
    body = {"name": "vip ROUTING", "on": ["ticket.created"], "actions": [{"type": "add_note", "text": "x"}]}
    clash = client.post(f"{API}/rules", json=body, headers=org.admin.headers)
    assert clash.status_code == 409


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"on": ["ticket.exploded"]}, "on[0]: unknown event 'ticket.exploded'"),
        ({"conditions": {"all": [{"field": "colour", "op": "is", "value": "x"}]}}, "unknown field 'colour'"),
        (
            {"conditions": {"all": [{"field": "status", "op": "contains", "value": "o"}]}},
            "status takes no op",
        ),
        (
            {"conditions": {"any": [{"field": "priority", "op": "is", "value": "huge"}]}},
            "'huge' is no priority",
        ),
        ({"conditions": {"all": [{"field": "teamId", "op": "is", "value": "x"}]}}, "is not an id"),
        (
            {"conditions": {"all": [{"field": "subject", "op": "matches", "value": "(("}]}},
            "not a regular expression",
        ),
        ({"conditions": {"all": [{"field": "priority", "op": "changed"}]}}, "add ticket.updated to on"),
        (
            {"conditions": {"all": [{"field": "content", "op": "contains", "value": "x"}]}},
            "add message.added",
        ),
        ({"conditions": {"all": [{"field": "subject", "op": "in", "value": "x"}]}}, "takes a list"),
        ({"actions": [{"type": "explode"}]}, "unknown action type 'explode'"),
        ({"actions": [{"type": "set_priority", "value": "urgent", "tagId": None, "text": "x"}]}, "not text"),
        ({"actions": [{"type": "set_status", "value": "nope"}]}, "'nope' is no status"),
        ({"actions": [{"type": "assign_round_robin"}]}, "needs teamId"),
        (
            {"actions": [{"type": "set_team", "teamId": "00000000-0000-4000-8000-000000000000"}]},
            "is not a team of this org",
        ),
    ],
)
def test_bad_rules_are_422_saying_what_is_wrong(
    client: TestClient[Any], org: Org, change: dict[str, Any], message: str
) -> None:
    body = {"name": "bad", "on": ["ticket.created"], "actions": [{"type": "add_note", "text": "x"}], **change}
    answer = client.post(f"{API}/rules", json=body, headers=org.admin.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert message in answer.json()["detail"]


def test_rules_are_for_admins_of_their_own_org(
    client: TestClient[Any], org: Org, make_org: Callable[..., Org]
) -> None:
    rule = make_rule(client, org)
    agent = org.add_member("agent")
    assert client.get(f"{API}/rules", headers=agent.headers).status_code == 403
    assert client.post(f"{API}/rules", json={"name": "x"}, headers=agent.headers).status_code in (400, 403)
    body = {"name": "x", "on": ["ticket.created"], "actions": [{"type": "add_note", "text": "x"}]}
    assert client.post(f"{API}/rules", json=body, headers=agent.headers).status_code == 403
    other = make_org()
    assert client.get(f"{API}/rules/{rule['id']}", headers=other.admin.headers).status_code == 404
    assert client.delete(f"{API}/rules/{rule['id']}", headers=other.admin.headers).status_code == 404
    assert client.get(f"{API}/rules", headers=other.admin.headers).json()["items"] == []


# ---------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "subject", "op": "is", "value": "LOGIN broken"}, True),
        ({"field": "subject", "op": "is_not", "value": "login broken"}, False),
        ({"field": "priority", "op": "in", "value": ["high", "urgent"]}, True),
        ({"field": "priority", "op": "in", "value": ["low"]}, False),
        ({"field": "description", "op": "contains", "value": "PASSWORD"}, True),
        ({"field": "description", "op": "not_contains", "value": "password"}, False),
        ({"field": "subject", "op": "matches", "value": r"^Login\s+b"}, True),
        ({"field": "subject", "op": "matches", "value": r"(a+)+$"}, False),
        ({"field": "contactEmail", "op": "ends_with", "value": "@VIP.example"}, True),
        ({"field": "contactEmail", "op": "starts_with", "value": "ann@"}, True),
        ({"field": "source", "op": "is", "value": "api"}, True),
        ({"field": "status", "op": "is", "value": "open"}, True),
        ({"field": "category", "op": "is_not", "value": "bug"}, True),
        ({"field": "teamId", "op": "is", "value": None}, True),
        ({"field": "assigneeId", "op": "is_not", "value": None}, False),
    ],
)
def test_each_condition_op_on_a_new_ticket(
    client: TestClient[Any], services: Services, org: Org, condition: dict[str, Any], holds: bool
) -> None:
    make_rule(
        client, org, conditions={"all": [condition]}, actions=[{"type": "set_category", "value": "bug"}]
    )
    created = new_ticket(
        client,
        org,
        subject="Login broken",
        description="I forgot my password",
        priority="high",
        contactEmail="ann@vip.example",
    )
    run_rules(services)
    assert ticket(client, org, created["id"])["category"] == ("bug" if holds else "general")


def test_tags_changes_and_messages_in_conditions(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    h = org.admin.headers
    vip = client.post(f"{API}/ticket-tags", json={"name": "vip"}, headers=h).json()["id"]
    make_rule(
        client,
        org,
        name="escalate",
        on=["ticket.updated"],
        conditions={
            "all": [
                {"field": "priority", "op": "changed_to", "value": "urgent"},
                {"field": "tags", "op": "contains", "value": vip},
            ],
            "any": [{"field": "subject", "op": "changed"}, {"field": "status", "op": "is", "value": "open"}],
        },
        actions=[{"type": "add_note", "text": "escalated"}],
    )
    make_rule(
        client,
        org,
        name="refunds",
        on=["message.added"],
        conditions={"all": [{"field": "content", "op": "contains", "value": "refund"}]},
        actions=[{"type": "set_category", "value": "billing"}],
    )
    t = new_ticket(client, org, tagIds=[vip])
    client.patch(f"{API}/tickets/{t['id']}", json={"priority": "high"}, headers=h)
    client.post(f"{API}/tickets/{t['id']}/messages", json={"content": "no refund yet"}, headers=h)
    run_rules(services)
    assert ticket(client, org, t["id"])["category"] == "billing"
    notes = client.get(f"{API}/tickets/{t['id']}/messages", headers=h).json()["items"]
    assert [m["content"] for m in notes if m["isInternalNote"]] == []
    client.patch(f"{API}/tickets/{t['id']}", json={"priority": "urgent", "subject": "Now"}, headers=h)
    run_rules(services)
    notes = client.get(f"{API}/tickets/{t['id']}/messages", headers=h).json()["items"]
    assert [m["content"] for m in notes if m["isInternalNote"]] == ["escalated"]


# ---------------------------------------------------------------------------- actions


def test_each_action_is_recorded_by_the_rule(client: TestClient[Any], services: Services, org: Org) -> None:
    h = org.admin.headers
    admin = services.directory.authenticate(org.admin.token)
    assert admin is not None
    triage = services.directory.create_agent(
        admin, admin.org_id, "Triage", "triage-agent", behaviour="triage"
    )
    team_id, (ann,) = team_with_members(client, org, 1)
    old = client.post(f"{API}/ticket-tags", json={"name": "old"}, headers=h).json()["id"]
    vip = client.post(f"{API}/ticket-tags", json={"name": "vip"}, headers=h).json()["id"]
    canned = client.post(
        f"{API}/canned-responses",
        json={
            "title": "Hi",
            "body": "Hello {{contact.name}}, #{{ticket.number}} is with {{agent.name}}. {{nope}}",
        },
        headers=h,
    ).json()["id"]
    rule = make_rule(
        client,
        org,
        name="VIP routing",
        actions=[
            {"type": "set_priority", "value": "high"},
            {"type": "set_category", "value": "account"},
            {"type": "set_team", "teamId": team_id},
            {"type": "assign", "userId": ann},
            {"type": "add_tag", "tagId": vip},
            {"type": "remove_tag", "tagId": old},
            {"type": "add_note", "text": "routed"},
            {"type": "reply", "cannedResponseId": canned},
            {"type": "set_status", "value": "pending"},
            {"type": "dispatch_agent", "agent": "@triage-agent", "text": "please categorize this"},
        ],
    )
    t = new_ticket(client, org, tagIds=[old], contactEmail="bo@vip.example", contactName="{{agent.name}} Bo")
    run_rules(services)
    after = ticket(client, org, t["id"])
    assert (after["priority"], after["category"], after["teamId"], after["assigneeId"], after["status"]) == (
        "high",
        "account",
        team_id,
        ann,
        "pending",
    )
    assert [tag["id"] for tag in after["tags"]] == [vip]
    thread = client.get(f"{API}/tickets/{t['id']}/messages", headers=h).json()["items"]
    assert [(m["content"], m["isInternalNote"], m["authorId"]) for m in thread] == [
        ("routed", True, rule["id"]),
        (
            f"Hello {{{{agent.name}}}} Bo, #{t['ticketNumber']} is with Agent 0. {{{{nope}}}}",
            False,
            rule["id"],
        ),
    ]
    entries = activities(client, org, t["id"])
    [dispatched] = [e for e in entries if e["type"] == "agent_dispatched"]
    assert dispatched["actor"] == {"type": "rule", "id": rule["id"]}
    assert dispatched["newValue"]["agentId"] == str(triage.value.agent.id)
    assert dispatched["newValue"]["source"] == "rule"
    # The event feed names the rule as the actor of its changes too.
    assert services.read_side is not None
    services.read_side.catch_up_all()
    # (The test server's own follower may hold the feed's lock on PostgreSQL: wait for its batch.)
    assert services.read_side.wait_for(services.app.head_position(), 10, names=["feed"])
    types = "ticket.updated,ticket.agent_dispatched"
    feed = client.get(f"{API}/events?types={types}&limit=1000", headers=h).json()["items"]
    by_rule = [e for e in feed if e["ticketId"] == t["id"] and e["actor"]["type"] == "rule"]
    assert {e["type"] for e in by_rule} == {"ticket.updated", "ticket.agent_dispatched"}
    by_rule = [e for e in entries if e["actor"] == {"type": "rule", "id": rule["id"]}]
    assert by_rule[0]["type"] == "rule_run" and by_rule[0]["summary"] == "rule 'VIP routing' applied"
    assert "priority medium → high by rule 'VIP routing'" in [e["summary"] for e in by_rule]
    creator = next(e for e in entries if e["type"] == "created")
    assert creator["actor"] == {"type": "member", "id": org.admin.user_id}


def test_a_failing_action_changes_nothing_and_says_why(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    h = org.admin.headers
    team_id = client.post(f"{API}/teams", json={"name": "Empty"}, headers=h).json()["id"]
    make_rule(
        client,
        org,
        name="Doomed",
        actions=[
            {"type": "set_priority", "value": "urgent"},
            {"type": "assign_round_robin", "teamId": team_id},
        ],
    )
    t = new_ticket(client, org)
    run_rules(services)
    assert ticket(client, org, t["id"])["priority"] == "medium"
    failed = [e["summary"] for e in activities(client, org, t["id"]) if e["type"] == "rule_run"]
    assert failed == ["rule 'Doomed' failed: team 'Empty' has no members to assign to"]


def test_round_robin_goes_round_across_restarts(
    client: TestClient[Any],
    services: Services,
    org: Org,
    database_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    team_id, members = team_with_members(client, org, 3)
    make_rule(client, org, actions=[{"type": "assign_round_robin", "teamId": team_id}])
    first = [new_ticket(client, org)["id"] for _ in range(2)]
    run_rules(services)
    restarted = build_services(
        Settings(database_url, mail=MailSettings(directory=tmp_path / "m")), clock=clock
    )
    try:
        later = [new_ticket(client, org)["id"] for _ in range(3)]
        run_rules(restarted)
    finally:
        restarted.close()
    assignees = [ticket(client, org, t)["assigneeId"] for t in first + later]
    assert assignees == [members[0], members[1], members[2], members[0], members[1]]


def test_least_busy_member_gets_the_ticket(client: TestClient[Any], services: Services, org: Org) -> None:
    h = org.admin.headers
    team_id, (ann, bob) = team_with_members(client, org, 2)
    for _ in range(2):
        new_ticket(client, org, assigneeId=ann)
    new_ticket(client, org, assigneeId=bob)
    assert services.read_side is not None
    services.read_side.catch_up()
    make_rule(client, org, actions=[{"type": "assign_least_busy", "teamId": team_id}])
    fresh = [new_ticket(client, org)["id"] for _ in range(2)]
    run_rules(services)
    # Bob had one, Ann two: Bob gets the first; then they are even, and Ann (first to join) the next.
    assert [ticket(client, org, t)["assigneeId"] for t in fresh] == [bob, ann]
    assert client.get(f"{API}/teams/{team_id}/members", headers=h).status_code == 200


# ---------------------------------------------------------------------------- once, chains, dry runs


def test_rules_do_not_trigger_on_their_own_changes_and_chains_stop_at_depth_3(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    # Each rule reacts to the other's notes: a loop only the depth limit ends.
    for name in ("ping", "pong"):
        make_rule(client, org, name=name, on=["note.added"], actions=[{"type": "add_note", "text": name}])
    t = new_ticket(client, org)
    client.post(
        f"{API}/tickets/{t['id']}/messages",
        json={"content": "start", "isInternalNote": True},
        headers=org.admin.headers,
    )
    run_rules(services)
    thread = client.get(f"{API}/tickets/{t['id']}/messages", headers=org.admin.headers).json()["items"]
    notes = [m["content"] for m in thread]
    # Depth 1: both react to "start"; depth 2 and 3: each to the other's note (never to its own);
    # then each would run at depth 4, and is stopped with a note instead.
    assert sorted(notes[1:7]) == ["ping"] * 3 + ["pong"] * 3
    assert [n.split(" was not run")[0] for n in notes[7:]] == ["Rule 'ping'", "Rule 'pong'"] or sorted(
        n.split(" was not run")[0] for n in notes[7:]
    ) == ["Rule 'ping'", "Rule 'pong'"]
    assert all("a chain of rules stops at depth 3" in n for n in notes[7:])
    run_rules(services)  # nothing more: every (rule, event) ran once
    assert len(
        client.get(f"{API}/tickets/{t['id']}/messages", headers=org.admin.headers).json()["items"]
    ) == len(notes)


def test_each_rule_runs_once_with_two_servers_and_a_crash(
    client: TestClient[Any],
    services: Services,
    org: Org,
    database_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    team_id, members = team_with_members(client, org, 2)
    make_rule(
        client,
        org,
        actions=[{"type": "assign_round_robin", "teamId": team_id}, {"type": "add_note", "text": "hi"}],
    )
    ids = [new_ticket(client, org)["id"] for _ in range(4)]
    other = build_services(Settings(database_url, mail=MailSettings(directory=tmp_path / "m")), clock=clock)
    try:
        assert other.read_side is not None and services.read_side is not None

        def crash(events: Any) -> int:
            other.rule_engine.run(events)
            raise RuntimeError("killed before recording the position")

        with pytest.raises(RuntimeError):
            other.read_side.run_rules(type("Crashing", (), {"run": staticmethod(crash)})())  # type: ignore[arg-type]
        run_rules(other)
        # A second server handed the same events (as if it had not seen the first's position) runs nothing.
        log = services.app.recorder.select_notifications(1, 100_000, topics=RULE_TRIGGERS.topics)
        assert services.rule_engine.run([services.app.mapper.to_domain_event(n) for n in log]) == 0
        run_rules(services)
    finally:
        other.close()
    h = org.admin.headers
    for ticket_id in ids:
        thread = client.get(f"{API}/tickets/{ticket_id}/messages", headers=h).json()["items"]
        assert [m["content"] for m in thread] == ["hi"]
        runs = [e for e in activities(client, org, ticket_id) if e["type"] == "rule_run"]
        assert len(runs) == 1
    assert [ticket(client, org, t)["assigneeId"] for t in ids] == [members[0], members[1]] * 2


def test_rules_react_only_to_events_after_they_were_written(
    client: TestClient[Any], services: Services, org: Org, clock: ManualClock
) -> None:
    old = new_ticket(client, org)
    clock.advance(seconds=1)
    make_rule(client, org)
    run_rules(services)
    assert ticket(client, org, old["id"])["priority"] == "medium"


def test_dry_run_shows_what_a_rule_would_do_and_changes_nothing(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    h = org.admin.headers
    rule = make_rule(
        client,
        org,
        conditions={"all": [{"field": "subject", "op": "contains", "value": "login"}]},
        actions=[{"type": "set_priority", "value": "urgent"}, {"type": "add_note", "text": "seen"}],
    )
    t = new_ticket(client, org, subject="Login broken")
    before = ticket(client, org, t["id"])
    head = services.app.head_position()
    answer = client.post(
        f"{API}/rules/{rule['id']}/dry-run", json={"ticketId": str(t["ticketNumber"])}, headers=h
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["matched"] is True and body["error"] is None
    assert body["conditions"] == [
        {"group": "all", "field": "subject", "op": "contains", "value": "login", "holds": True}
    ]
    assert [c["summary"] for c in body["changes"]] == [
        "priority medium → urgent by rule 'rule'",
        "internal note by rule 'rule'",
    ]
    assert services.app.head_position() == head and ticket(client, org, t["id"]) == before
    agent = org.add_member("agent")
    assert (
        client.post(
            f"{API}/rules/{rule['id']}/dry-run", json={"ticketId": t["id"]}, headers=agent.headers
        ).status_code
        == 403
    )
    missing = client.post(f"{API}/rules/{rule['id']}/dry-run", json={"ticketId": "999"}, headers=h)
    assert missing.status_code == 404


def test_a_rule_tells_the_contact_when_a_linked_issue_is_done(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    from projections.runner import Follower
    from tests.conftest import settle

    h = org.admin.headers
    canned = client.post(
        f"{API}/canned-responses",
        json={"title": "Fixed", "body": "Hello {{contact.name}}, a fix for #{{ticket.number}} shipped."},
        headers=h,
    ).json()["id"]
    make_rule(
        client,
        org,
        name="Fix shipped",
        on=["issue.done"],
        actions=[{"type": "reply", "cannedResponseId": canned}],
    )
    t = new_ticket(client, org, contactEmail="cara@example.com", contactName="Cara")
    client.post(f"{API}/tickets/{t['id']}/convert-to-issue", json={}, headers=h)
    run_rules(services)
    assert all(
        not m["content"].startswith("Hello")
        for m in client.get(f"{API}/tickets/{t['id']}/messages", headers=h).json()["items"]
    )
    client.patch(f"{API}/issues/1", json={"status": "done"}, headers=h)
    settle(services)
    assert services.read_side is not None
    Follower(services.read_side).run_policies()  # the ticket hears that its issue is done
    run_rules(services)
    run_rules(services)
    public = [
        m["content"]
        for m in client.get(f"{API}/tickets/{t['id']}/messages", headers=h).json()["items"]
        if not m["isInternalNote"]
    ]
    assert public == [f"Hello Cara, a fix for #{t['ticketNumber']} shipped."]


def test_the_deployed_follower_runs_rules_in_its_rounds(
    client: TestClient[Any], services: Services, org: Org
) -> None:
    """The server's (and `pfai projections run`'s) follower runs the rules, not only a test's call."""
    make_rule(client, org, conditions={"all": []}, actions=[{"type": "set_category", "value": "bug"}])
    created = new_ticket(client, org, subject="through the follower")
    services.run_rules = True  # as deployed (the fixture turns it off so tests choose when rules run)
    follower = follower_of(services)
    for _ in range(20):
        if not follower.run_once():
            break
    assert ticket(client, org, created["id"])["category"] == "bug"
