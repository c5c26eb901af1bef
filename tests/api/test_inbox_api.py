"""The inbox over HTTP, on SQLite and PostgreSQL: who is told of what, never of their own actions,
reading, preferences, the live stream, and an inbox rebuilt from the log exactly as it was."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from litestar.testing import TestClient

from projections.runner import Follower
from tests.conftest import Org, settle
from tests.live_server import serving
from tickets.api.app import create_app
from tickets.bootstrap import Services
from tickets.infrastructure.clock import ManualClock

API = "/api/v1"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _items(client: TestClient[Any], headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _ok(client.get(f"{API}/inbox{query}", headers=headers))["items"]
    return items


def test_members_are_told_what_concerns_them_and_never_their_own_actions(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    bob = org.add_member("agent", email="bob@acme.test", name="Bob")
    h = org.admin.headers
    _ok(
        client.post(f"{API}/tickets", json={"subject": "Printer", "contactEmail": "c@x.test"}, headers=h), 201
    )
    _ok(client.post(f"{API}/tickets/1/assign", json={"assigneeId": alice.user_id}, headers=h))
    _ok(
        client.post(
            f"{API}/tickets/1/messages",
            json={"content": "@bob @alice look", "isInternalNote": True},
            headers=h,
        ),
        201,
    )
    # Alice mentions herself and Bob: Bob is told, Alice is not (her own action).
    _ok(
        client.post(
            f"{API}/tickets/1/messages",
            json={"content": "@alice @bob on it", "isInternalNote": True},
            headers=alice.headers,
        ),
        201,
    )
    # Alice assigns the ticket to herself: nothing (her own action).
    _ok(
        client.post(
            f"{API}/tickets", json={"subject": "Mine", "assigneeId": alice.user_id}, headers=alice.headers
        ),
        201,
    )

    assert [i["summary"] for i in _items(client, alice.headers)] == [
        "@admin mentioned you on #1 Printer",
        "@admin assigned you #1 Printer",
    ]
    assert [i["summary"] for i in _items(client, bob.headers)] == [
        "@alice mentioned you on #1 Printer",
        "@admin mentioned you on #1 Printer",
    ]
    assert _items(client, org.admin.headers) == []
    assert _ok(client.get(f"{API}/inbox/count", headers=alice.headers)) == {"unread": 2}

    # Reading one, then all.
    newest = _items(client, alice.headers)[0]
    _ok(client.post(f"{API}/inbox/{newest['id']}/read", headers=alice.headers), 204)
    assert [i["read"] for i in _items(client, alice.headers)] == [True, False]
    assert len(_items(client, alice.headers, "?unread=true")) == 1
    _ok(client.post(f"{API}/inbox/read-all", headers=alice.headers), 204)
    assert _ok(client.get(f"{API}/inbox/count", headers=alice.headers)) == {"unread": 0}
    # Someone else's notification is as missing.
    assert client.post(f"{API}/inbox/{newest['id']}/read", headers=bob.headers).status_code == 404

    # Rebuilt from the log, every inbox is exactly as it was, read flags included.
    assert services.read_side is not None
    before = {m.token: _items(client, m.headers) for m in (alice, bob)}
    services.read_side.rebuild_all(["inbox"])
    assert {m.token: _items(client, m.headers) for m in (alice, bob)} == before


def test_the_contact_a_breach_and_a_done_issue_reach_the_assignee_and_preferences_hold(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    from tickets.application.inbound import InboundMail

    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    h = org.admin.headers
    route = services.mail.route(f"{org.slug}@tickets.localhost")
    assert route is not None
    services.mail.receive(route, InboundMail("m1@x.test", "cara@x.test", "Cara", "Help", "Help"))
    _ok(client.post(f"{API}/tickets/1/assign", json={"assigneeId": alice.user_id}, headers=h))
    services.mail.receive(route, InboundMail("m2@x.test", "cara@x.test", "Cara", "Re: [#1] Help", "More"))
    _ok(client.post(f"{API}/tickets/1/convert-to-issue", json={}, headers=h), 201)
    _ok(client.patch(f"{API}/issues/1", json={"status": "done"}, headers=h))
    settle(services)
    assert services.read_side is not None
    Follower(services.read_side).run_policies()
    settle(services)
    assert [i["kind"] for i in _items(client, alice.headers)] == ["issue_done", "contact_replied", "assigned"]

    # Alice turns mentions off: from then on, none.
    me = _ok(client.patch(f"{API}/me", json={"notify": {"mentioned": False}}, headers=alice.headers))
    assert me["notify"]["mentioned"] is False and me["notify"]["assigned"] is True
    _ok(
        client.post(
            f"{API}/tickets/1/messages", json={"content": "@alice ping", "isInternalNote": True}, headers=h
        ),
        201,
    )
    assert "mentioned" not in [i["kind"] for i in _items(client, alice.headers)]
    bad = client.patch(f"{API}/me", json={"notify": {"carrier_pigeon": True}}, headers=alice.headers)
    assert bad.status_code == 422 and "carrier_pigeon" in bad.json()["detail"]


def test_the_stream_sends_new_notifications_and_resumes(services: Services, org: Org) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    services.send_mail = False
    with serving(create_app(services)) as url, httpx.Client(base_url=url, timeout=20) as http:
        h = org.admin.headers
        received: list[dict[str, Any]] = []
        ids: list[str] = []
        opened = threading.Event()

        def listen() -> None:
            with http.stream("GET", f"{API}/inbox/stream", headers=alice.headers) as response:
                assert response.status_code == 200
                opened.set()
                for line in response.iter_lines():
                    if line.startswith("id:"):
                        ids.append(line[3:].strip())
                    if line.startswith("data:"):
                        received.append(json.loads(line[5:]))
                        if len(received) == 2:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(10)
        _ok(http.post(f"{API}/tickets", json={"subject": "One", "assigneeId": alice.user_id}, headers=h), 201)
        _ok(http.post(f"{API}/tickets", json={"subject": "Two", "assigneeId": alice.user_id}, headers=h), 201)
        listener.join(20)
        assert [r["subject"] for r in received] == ["One", "Two"]
        # Resuming after the first sends the second again, and only it.
        headers = {**alice.headers, "Last-Event-ID": ids[0]}
        with http.stream("GET", f"{API}/inbox/stream", headers=headers) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    assert json.loads(line[5:])["subject"] == "Two"
                    break


def test_whoever_dispatched_an_agent_hears_how_it_ended(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    admin = services.directory.authenticate(org.admin.token)
    assert admin is not None
    services.directory.create_agent(admin, admin.org_id, "Triage", "triage-agent", behaviour="triage")
    _ok(client.post(f"{API}/tickets", json={"subject": "Printer"}, headers=org.admin.headers), 201)
    note = {"content": "@triage-agent please categorize this", "isInternalNote": True}
    _ok(client.post(f"{API}/tickets/1/messages", json=note, headers=alice.headers), 201)
    settle(services)
    assert services.read_side is not None
    Follower(services.read_side, agent_dispatcher=services.agent_dispatcher).run_agents()
    settle(services)
    [item] = _items(client, alice.headers)
    assert item["kind"] == "agent_completed" and item["summary"].startswith("@triage-agent finished on #1")
    # The event feed names the agent as an agent, and Alice as the member who dispatched it.
    feed = _ok(
        client.get(
            f"{API}/events?types=ticket.agent_dispatched,ticket.agent_completed", headers=org.admin.headers
        )
    )
    actors = [(e["type"], e["actor"]["type"]) for e in feed["items"]]
    assert actors[0] == ("ticket.agent_dispatched", "member")
    assert actors[-1] == ("ticket.agent_completed", "agent")


def test_admins_hear_that_a_webhook_disabled_itself(
    client: TestClient[Any], org: Org, services: Services
) -> None:
    from uuid import UUID

    from tickets.domain.webhook import Webhook

    agent = org.add_member("agent", email=f"agent@{org.slug}.test")
    second_admin = org.add_member("admin", email=f"admin2@{org.slug}.test")
    hook = _ok(
        client.post(
            f"{API}/webhooks",
            json={"url": "https://93.184.215.14/hooks", "events": ["ticket.created"]},
            headers=org.admin.headers,
        ),
        201,
    )
    # A day of failures gives up and disables it (tests/integration/test_webhooks.py); here, the outcome.
    webhook: Webhook = services.app.repository.get(UUID(hook["id"]))
    webhook.disable("failing for 24 hours: 503 Service Unavailable", services.clock())
    services.app.save(webhook)
    settle(services)
    for admin in (org.admin, second_admin):
        [item] = _items(client, admin.headers)
        assert item["kind"] == "webhook_disabled" and item["ticketId"] is None
        assert (
            item["summary"]
            == "webhook disabled: https://93.184.215.14/hooks: failing for 24 hours: 503 Service Unavailable"
        )
    assert _items(client, agent.headers) == []


def test_the_count_says_which_position_it_read(client: TestClient[Any], org: Org) -> None:
    counted = client.get(f"{API}/inbox/count", headers=org.admin.headers)
    assert counted.status_code == 200 and counted.headers["x-projection-position"].isdigit()


def test_a_read_position_header_is_a_whole_number_not_null(client: TestClient[Any], org: Org) -> None:
    h = org.admin.headers
    for path in ("/inbox/count", "/tickets", "/tickets/stats"):
        assert client.get(f"{API}{path}", headers={**h, "X-Min-Position": "null"}).status_code == 400
        assert client.get(f"{API}{path}", headers={**h, "X-Min-Position": "-3"}).status_code == 400
        assert client.get(f"{API}{path}", headers={**h, "X-Min-Position": "0"}).status_code == 200


def _warn_and_breach(services: Services) -> None:
    """What the deployed follower's time-driven round does (the fixture leaves it to the test)."""
    settle(services)
    assert services.read_side is not None
    Follower(services.read_side).run_policies()
    settle(services)


def test_an_sla_about_to_breach_warns_the_assignee_once_at_the_orgs_share(
    client: TestClient[Any], org: Org, services: Services, clock: ManualClock
) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    h = org.admin.headers
    policy = {"priority": "urgent", "firstResponseMinutes": 100, "resolutionMinutes": 1000}
    _ok(client.post(f"{API}/sla-policies", json=policy, headers=h), 201)
    assert _ok(client.get(f"{API}/org", headers=h))["slaWarningPercent"] == 80
    body = {"subject": "Down", "priority": "urgent", "assigneeId": alice.user_id}
    ticket = _ok(client.post(f"{API}/tickets", json=body, headers=h), 201)
    kinds = lambda: [i["kind"] for i in _items(client, alice.headers)]  # noqa: E731

    clock.advance(minutes=79)  # 79% of the first-response target: not yet
    _warn_and_breach(services)
    assert kinds() == ["assigned"]
    clock.advance(minutes=2)  # 81%: warned, once, however often the policy runs
    _warn_and_breach(services)
    _warn_and_breach(services)
    assert kinds() == ["sla_warning", "assigned"]
    newest = _items(client, alice.headers)[0]
    assert newest["summary"] == "SLA deadline approaching on #1 Down"
    timeline = _ok(client.get(f"{API}/tickets/{ticket['id']}/activities", headers=h))["items"]
    assert [a["summary"] for a in timeline if a["type"] == "sla_warning"] == [
        "SLA deadline approaching (80% of the time gone; due 2026-01-05T10:40:00Z)"
    ]
    clock.advance(minutes=20)  # past the deadline: the breach, not another warning
    _warn_and_breach(services)
    assert kinds() == ["sla_breached", "sla_warning", "assigned"]

    # A 50% share: the next deadline (resolution, 1000 min) warns at 500 min; null turns warnings off.
    reply = {"content": "On it"}
    _ok(client.post(f"{API}/tickets/{ticket['id']}/messages", json=reply, headers=alice.headers), 201)
    _ok(client.patch(f"{API}/org", json={"slaWarningPercent": 50}, headers=h))
    clock.advance(minutes=500 - 101 - 2)
    _warn_and_breach(services)
    assert kinds()[0] == "sla_breached"
    clock.advance(minutes=3)
    _warn_and_breach(services)
    assert kinds()[0] == "sla_warning"
    second = _ok(client.post(f"{API}/tickets", json=body, headers=h), 201)
    assert (
        _ok(client.patch(f"{API}/org", json={"slaWarningPercent": None}, headers=h))["slaWarningPercent"]
        is None
    )
    clock.advance(minutes=99)
    _warn_and_breach(services)
    about_second = [i for i in _items(client, alice.headers) if i["ticketId"] == second["id"]]
    assert [i["kind"] for i in about_second] == ["assigned"]
    for bad in (0, 100, "80", 12.5):
        answer = client.patch(f"{API}/org", json={"slaWarningPercent": bad}, headers=h)
        assert answer.status_code == 400, (bad, answer.text)


def test_a_hold_moves_the_warning_with_the_deadline(
    client: TestClient[Any], org: Org, services: Services, clock: ManualClock
) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    h = org.admin.headers
    policy = {"priority": "urgent", "firstResponseMinutes": 100, "resolutionMinutes": 1000}
    _ok(client.post(f"{API}/sla-policies", json=policy, headers=h), 201)
    body = {"subject": "Held", "priority": "urgent", "assigneeId": alice.user_id}
    ticket = _ok(client.post(f"{API}/tickets", json=body, headers=h), 201)
    clock.advance(minutes=10)
    _ok(client.patch(f"{API}/tickets/{ticket['id']}", json={"status": "on_hold"}, headers=h))
    clock.advance(minutes=60)
    _warn_and_breach(services)  # on hold, the clock is paused: no warning
    _ok(client.patch(f"{API}/tickets/{ticket['id']}", json={"status": "open"}, headers=h))
    clock.advance(minutes=65)  # 75 of 100 running minutes: not yet, though 135 since creation
    _warn_and_breach(services)
    assert [i["kind"] for i in _items(client, alice.headers)] == ["assigned"]
    # The read model counts the window as the ticket does: it does not ask for the ticket early
    # (which, for many tickets back from a hold, would crowd out those that are due).
    assert services.read_side is not None
    assert services.read_side.due_sla_warnings(clock(), lambda org_id: 80, 10) == []
    clock.advance(minutes=6)
    assert services.read_side.due_sla_warnings(clock(), lambda org_id: 80, 10) == [ticket["id"]]
    _warn_and_breach(services)
    assert [i["kind"] for i in _items(client, alice.headers)] == ["sla_warning", "assigned"]


def test_the_email_digest_is_a_preference_of_off_hourly_or_daily(client: TestClient[Any], org: Org) -> None:
    alice = org.add_member("agent", email="alice@acme.test", name="Alice")
    me = _ok(client.get(f"{API}/me", headers=alice.headers))
    assert me["notify"]["emailDigest"] == "off" and me["notify"]["mentioned"] is True
    changed = _ok(
        client.patch(
            f"{API}/me", json={"notify": {"emailDigest": "daily", "mentioned": False}}, headers=alice.headers
        )
    )
    assert changed["notify"]["emailDigest"] == "daily" and changed["notify"]["mentioned"] is False
    assert _ok(client.get(f"{API}/me", headers=alice.headers))["notify"]["emailDigest"] == "daily"
    # Turning a kind on again keeps the digest as it is.
    kept = _ok(client.patch(f"{API}/me", json={"notify": {"mentioned": True}}, headers=alice.headers))
    assert kept["notify"]["emailDigest"] == "daily"

    for wrong in (
        {"emailDigest": "weekly"},
        {"emailDigest": True},
        {"emailDigest": None},
        {"mentioned": "daily"},
    ):
        refused = client.patch(f"{API}/me", json={"notify": wrong}, headers=alice.headers)
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert f"notify.{next(iter(wrong))}" in refused.json()["detail"]
    assert _ok(client.get(f"{API}/me", headers=alice.headers))["notify"]["emailDigest"] == "daily"


def test_the_description_says_which_notify_key_takes_which_values(client: TestClient[Any]) -> None:
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
    notify = schemas["MeUpdate"]["properties"]["notify"]
    assert notify["properties"] == {"emailDigest": {"enum": ["off", "hourly", "daily"]}}
    assert notify["additionalProperties"] == {"type": "boolean"}
