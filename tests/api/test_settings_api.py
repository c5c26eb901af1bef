"""Teams, tags, SLA policies and canned responses over HTTP."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org

API = "/api/v1"


def test_team_crud(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    team = client.post(f"{API}/teams", json={"name": "Support", "description": "Tier 1"}, headers=h)
    assert team.status_code == 201
    team_id = team.json()["id"]
    assert client.post(f"{API}/teams", json={"name": "support"}, headers=h).status_code == 409
    patched = client.patch(f"{API}/teams/{team_id}", json={"name": "Support EU"}, headers=h).json()
    assert patched["name"] == "Support EU"
    assert [t["name"] for t in client.get(f"{API}/teams", headers=h).json()["items"]] == ["Support EU"]
    client.post(f"{API}/ticket-tags", json={"name": "x", "color": "#000000", "teamId": team_id}, headers=h)
    in_use = client.delete(f"{API}/teams/{team_id}", headers=h)
    assert in_use.status_code == 409 and "tag" in in_use.json()["detail"]


def test_tags_are_unique_per_team_scope_and_colours_are_checked(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    team_id = client.post(f"{API}/teams", json={"name": "Support"}, headers=h).json()["id"]
    org_wide = client.post(f"{API}/ticket-tags", json={"name": "regression", "color": "#EF4444"}, headers=h)
    assert org_wide.status_code == 201 and org_wide.json()["color"] == "#ef4444"
    duplicate = client.post(f"{API}/ticket-tags", json={"name": "Regression", "color": "#000000"}, headers=h)
    assert duplicate.status_code == 409
    in_team = client.post(
        f"{API}/ticket-tags", json={"name": "regression", "color": "#000000", "teamId": team_id}, headers=h
    )
    assert in_team.status_code == 201
    for color in ("red", "#fff", "#12345g", "ef4444"):
        bad = client.post(f"{API}/ticket-tags", json={"name": f"c{color}", "color": color}, headers=h)
        assert bad.status_code == 422, color
    tag_id = org_wide.json()["id"]
    assert client.patch(f"{API}/ticket-tags/{tag_id}", json={"color": "blue"}, headers=h).status_code == 422
    renamed = client.patch(f"{API}/ticket-tags/{tag_id}", json={"name": "regressed"}, headers=h).json()
    assert renamed["name"] == "regressed"
    only_team = client.get(f"{API}/ticket-tags", params={"teamId": team_id}, headers=h).json()["items"]
    assert [t["teamId"] for t in only_team] == [team_id]
    assert client.delete(f"{API}/ticket-tags/{tag_id}", headers=h).status_code == 204
    assert client.get(f"{API}/ticket-tags/{tag_id}", headers=h).status_code == 404


def test_sla_policies_one_per_priority_and_team(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    body = {"priority": "high", "firstResponseMinutes": 60, "resolutionMinutes": 480}
    created = client.post(f"{API}/sla-policies", json=body, headers=h)
    assert created.status_code == 201
    assert client.post(f"{API}/sla-policies", json=body, headers=h).status_code == 409
    for minutes in (0, -5, 1.5, None, "ten"):
        bad = client.post(
            f"{API}/sla-policies",
            json={**body, "priority": "low", "firstResponseMinutes": minutes},
            headers=h,
        )
        assert bad.status_code == 400, minutes
    policy_id = created.json()["id"]
    patched = client.patch(
        f"{API}/sla-policies/{policy_id}", json={"resolutionMinutes": 240}, headers=h
    ).json()
    assert patched["resolutionMinutes"] == 240
    ticket = client.post(f"{API}/tickets", json={"subject": "s", "priority": "high"}, headers=h).json()
    assert ticket["firstResponseDueAt"] is not None and ticket["slaDeadline"] == ticket["firstResponseDueAt"]
    assert client.delete(f"{API}/sla-policies/{policy_id}", headers=h).status_code == 204
    assert client.get(f"{API}/sla-policies", headers=h).json()["items"] == []


def test_canned_responses_crud(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    team_id = client.post(f"{API}/teams", json={"name": "Support"}, headers=h).json()["id"]
    org_wide = client.post(
        f"{API}/canned-responses", json={"title": "Thanks", "body": "Thank you!"}, headers=h
    )
    scoped = client.post(
        f"{API}/canned-responses",
        json={"title": "Refund", "body": "We refunded", "teamId": team_id},
        headers=h,
    )
    assert org_wide.status_code == scoped.status_code == 201
    titles = [
        c["title"]
        for c in client.get(f"{API}/canned-responses", params={"teamId": team_id}, headers=h).json()["items"]
    ]
    assert titles == ["Refund", "Thanks"]
    canned_id = scoped.json()["id"]
    updated = client.patch(
        f"{API}/canned-responses/{canned_id}", json={"body": "Refunded."}, headers=h
    ).json()
    assert updated["body"] == "Refunded."
    assert (
        client.post(f"{API}/canned-responses", json={"title": "x", "body": ""}, headers=h).status_code == 400
    )
    assert client.delete(f"{API}/canned-responses/{canned_id}", headers=h).status_code == 204


def test_admin_adds_members_with_handles(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    created = client.post(f"{API}/users", json={"email": "Bob@Acme.test", "name": "Bob"}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert body["user"]["handle"] == "bob" and body["user"]["role"] == "agent" and body["token"]
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200
    clash = client.post(f"{API}/users", json={"email": "bob@other.test", "name": "Bob 2"}, headers=h)
    assert clash.status_code == 409 and "handle" in clash.json()["detail"]
    custom = client.post(
        f"{API}/users", json={"email": "bob@other.test", "name": "Bob 2", "handle": "bob2"}, headers=h
    )
    assert custom.json()["user"]["handle"] == "bob2"
    last_admin = client.patch(f"{API}/users/{org.admin.user_id}", json={"role": "agent"}, headers=h)
    assert last_admin.status_code == 409


def test_what_is_scoped_to_a_team_is_changed_by_its_members_and_admins(client: Any, org: Any) -> None:
    member = org.add_member("agent", email=f"in@{org.slug}.test")
    outsider = org.add_member("agent", email=f"out@{org.slug}.test")
    h = org.admin.headers
    team = client.post("/api/v1/teams", json={"name": "Billing"}, headers=h).json()
    assert client.put(f"/api/v1/teams/{team['id']}/members/{member.user_id}", headers=h).status_code in (
        200,
        204,
    )
    tag = {"name": "refund", "teamId": team["id"]}
    refused = client.post("/api/v1/ticket-tags", json=tag, headers=outsider.headers)
    assert refused.status_code == 403 and "Billing" in refused.json()["detail"]
    created = client.post("/api/v1/ticket-tags", json=tag, headers=member.headers)
    assert created.status_code == 201
    tag_id = created.json()["id"]
    assert (
        client.patch(
            f"/api/v1/ticket-tags/{tag_id}", json={"name": "x"}, headers=outsider.headers
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/ticket-tags/{tag_id}", headers=outsider.headers).status_code == 403
    canned = {"title": "Refunds", "body": "We refund within 5 days.", "teamId": team["id"]}
    assert client.post("/api/v1/canned-responses", json=canned, headers=outsider.headers).status_code == 403
    assert client.post("/api/v1/canned-responses", json=canned, headers=member.headers).status_code == 201
    # Admins change anything; org-wide tags stay any agent's.
    assert (
        client.patch(f"/api/v1/ticket-tags/{tag_id}", json={"name": "refunds"}, headers=h).status_code == 200
    )
    assert (
        client.post("/api/v1/ticket-tags", json={"name": "general"}, headers=outsider.headers).status_code
        == 201
    )
    # SLA policies: a team's by its members (and admins); an org-wide one, or moving one out of a
    # team to the whole org, by admins only.
    policy = {"priority": "high", "firstResponseMinutes": 30, "resolutionMinutes": 240, "teamId": team["id"]}
    refused = client.post("/api/v1/sla-policies", json=policy, headers=outsider.headers)
    assert refused.status_code == 403 and "Billing" in refused.json()["detail"]
    made = client.post("/api/v1/sla-policies", json=policy, headers=member.headers)
    assert made.status_code == 201, made.text
    policy_url = f"/api/v1/sla-policies/{made.json()['id']}"
    assert (
        client.patch(policy_url, json={"resolutionMinutes": 120}, headers=outsider.headers).status_code == 403
    )
    assert (
        client.patch(policy_url, json={"resolutionMinutes": 120}, headers=member.headers).status_code == 200
    )
    assert client.patch(policy_url, json={"teamId": None}, headers=member.headers).status_code == 403
    org_wide = {**policy, "teamId": None}
    assert client.post("/api/v1/sla-policies", json=org_wide, headers=member.headers).status_code == 403
    assert client.delete(policy_url, headers=outsider.headers).status_code == 403
    assert client.delete(policy_url, headers=member.headers).status_code == 204


def test_an_assignee_outside_the_tickets_team_is_allowed_and_shown(client: Any, org: Any) -> None:
    member = org.add_member("agent", email=f"m@{org.slug}.test")
    outsider = org.add_member("agent", email=f"o@{org.slug}.test")
    h = org.admin.headers
    team = client.post("/api/v1/teams", json={"name": "Tier 1"}, headers=h).json()
    ticket = client.post(
        "/api/v1/tickets",
        json={"subject": "x", "teamId": team["id"], "assigneeId": outsider.user_id},
        headers=h,
    ).json()
    assert ticket["assigneeOutsideTeam"] is False  # the team has no members yet: nobody is outside it
    client.put(f"/api/v1/teams/{team['id']}/members/{member.user_id}", headers=h)
    assert client.get("/api/v1/tickets/1", headers=h).json()["assigneeOutsideTeam"] is True
    client.post("/api/v1/tickets/1/assign", json={"assigneeId": member.user_id}, headers=h)
    assert client.get("/api/v1/tickets/1", headers=h).json()["assigneeOutsideTeam"] is False
