"""Agents end to end, on SQLite and PostgreSQL: an @-mention in a note dispatches to a real HTTP receiver
that verifies the Standard Webhooks signature and acts back through the API with its ticket-scoped
token; each dispatch runs once across two servers and a restart; the contact sees none of it; the
built-in triage agent acts above its threshold, notes below it, and says when history is too short.

The PostgreSQL database is shared by every test of a run: each test looks at its own org only.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from benchmarks.triage_history import generate
from projections.runner import Follower
from tests.conftest import settle
from tickets.api.app import create_app
from tickets.application.actors import Actor
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import InvalidValueError
from tickets.domain.values import Category, Priority, Role, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import AgentSettings, MailSettings, Settings
from tickets.infrastructure.ssrf import check_public_url

from ..live_server import serving


@pytest.fixture
def clock() -> ManualClock:
    # Signatures carry the clock's time and receivers check it against theirs (5 minutes either way):
    # start a little before now, so that the minutes the tests move forward stay within that.
    return ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4))


@pytest.fixture(autouse=True)
def allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_WEBHOOKS_ALLOW_PRIVATE", "true")


# ---------------------------------------------------------------------------- the test receiver


@dataclass
class Receiver:
    """An external agent: verifies each dispatch, then acts as `act` says with the dispatch's token."""

    secret: str = ""
    api: str = ""
    answer: int = 200
    act: Callable[[Receiver, dict[str, Any]], None] | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    webhook_ids: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)

    def call(self, method: str, path: str, token: str, body: Any = None) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, self.api + path, headers=headers, json=body, timeout=10).status_code


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                Webhook(receiver.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
            except WebhookVerificationError as error:
                receiver.refused.append(str(error))
                self.send_response(400)
                self.end_headers()
                return
            payload = json.loads(body)
            receiver.webhook_ids.append(self.headers["webhook-id"])
            receiver.received.append(payload)
            if receiver.answer < 300 and receiver.act is not None:
                receiver.act(receiver, payload)
            self.send_response(receiver.answer)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/dispatch"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------- helpers


def _settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url,
        mail=MailSettings(directory=tmp_path / "mail"),
        agents=AgentSettings(model_directory=tmp_path / "models"),
    )


def _server(database_url: str, clock: ManualClock, tmp_path: Path) -> Services:
    built = build_services(_settings(database_url, tmp_path), clock=clock)
    built.record_sla_breaches = built.send_mail = built.run_agents = False
    return built


def _org(services: Services) -> tuple[str, Actor]:
    slug = f"agents-{secrets.token_hex(3)}"
    created = services.directory.create_org(slug, "Agents Inc", f"ada@{slug}.test", "Ada")
    admin = services.directory.authenticate(created.token)
    assert admin is not None
    return slug, admin


@contextmanager
def _api(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[str]:
    """The HTTP API agents call back, served by a server of its own over the same store and clock
    (its shutdown closes its services)."""
    with serving(create_app(_server(database_url, clock, tmp_path))) as url:
        yield url


def _run_agents(services: Services) -> int:
    """What the server's follower does each round: catch up, then run the dispatches due. (The API
    server's own follower may hold the read models' locks: `settle` waits for its batch.)"""
    assert services.read_side is not None
    settle(services)
    return Follower(services.read_side, agent_dispatcher=services.agent_dispatcher).run_agents()


def _types(services: Services, admin: Actor, ref: str) -> list[str]:
    return [entry.type for entry in services.tickets.timeline(admin, ref)]


def _ticket(services: Services, admin: Actor, subject: str = "Printer on fire") -> str:
    saved = services.tickets.create(
        admin, NewTicket(subject=subject, description="It smokes.", contact_email="cara@example.com")
    )
    return str(saved.value.ticket_number)


def _scoped_agent(receiver: Receiver, payload: dict[str, Any]) -> None:
    """Uses its token: a note on its ticket, a priority, another ticket, the list, and reports."""
    token, ticket = payload["token"], payload["ticket"]["id"]
    other = receiver.results["other_ticket"]
    receiver.results.update(
        note=receiver.call(
            "POST", f"/api/v1/tickets/{ticket}/messages", token, {"content": "On it.", "isInternalNote": True}
        ),
        priority=receiver.call("PATCH", f"/api/v1/tickets/{ticket}", token, {"priority": "high"}),
        read_other=receiver.call("GET", f"/api/v1/tickets/{other}", token),
        write_other=receiver.call("PATCH", f"/api/v1/tickets/{other}", token, {"priority": "low"}),
        note_other=receiver.call(
            "POST", f"/api/v1/tickets/{other}/messages", token, {"content": "x", "isInternalNote": True}
        ),
        list=receiver.call("GET", "/api/v1/tickets", token),
        members=receiver.call("GET", "/api/v1/users", token),
        complete=receiver.call(
            "POST",
            f"/api/v1/tickets/{ticket}/agent-dispatches/{payload['dispatchId']}/complete",
            token,
            {"status": "completed", "summary": "Noted and raised the priority."},
        ),
        after_complete=receiver.call("GET", f"/api/v1/tickets/{ticket}", token),
    )


# ---------------------------------------------------------------------------- external agents


def test_a_mention_in_a_note_dispatches_to_the_agent_with_a_token_for_that_ticket_only(
    services: Services,
    receiver: tuple[Receiver, str],
    database_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    state, url = receiver
    _, admin = _org(services)
    created = services.directory.create_agent(admin, admin.org_id, "Helper", "helper-bot", dispatch_url=url)
    assert created.value.secret is not None and created.value.secret.startswith("whsec_")
    state.secret = created.value.secret
    number = _ticket(services, admin)
    other = services.tickets.resolve_id(admin, _ticket(services, admin, "Another one"))
    state.results["other_ticket"] = other  # type: ignore[assignment]
    state.act = _scoped_agent

    with _api(database_url, clock, tmp_path) as api:
        state.api = api
        services.tickets.add_message(admin, number, "@helper-bot please look at this", is_internal_note=True)
        # (On PostgreSQL the database holds other tests' dispatches: what counts is what reached this receiver.)
        _run_agents(services)

    [payload] = state.received
    assert state.refused == []
    assert payload["instruction"] == "@helper-bot please look at this"
    assert payload["ticket"]["number"] == int(number) and payload["source"] == "mention"
    assert state.webhook_ids == [f"dispatch_{payload['dispatchId']}"]
    results = dict(state.results)
    results.pop("other_ticket")
    assert results == {
        "note": 201,
        "priority": 200,
        "read_other": 404,  # as if it did not exist
        "write_other": 404,
        "note_other": 404,
        "list": 403,  # nothing org-wide
        "members": 403,
        "complete": 204,
        "after_complete": 401,  # revoked by the report
    }
    ticket = services.tickets.get(admin, number)
    assert ticket.priority == Priority.HIGH
    assert services.tickets.get(admin, str(other)).priority == Priority.MEDIUM
    types = _types(services, admin, number)
    assert types.count("agent_dispatched") == 1 and types.count("agent_completed") == 1
    agent_note = [m for m in ticket.visible_messages() if m.content == "On it."]
    assert [m.author_id for m in agent_note] == [created.value.agent.id]
    # Nothing more is due: the run ended.
    _run_agents(services)
    assert len(state.received) == 1


def test_timeouts_and_5xx_are_retried_then_the_dispatch_fails(
    services: Services, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    state, url = receiver
    _, admin = _org(services)
    state.secret = str(
        services.directory.create_agent(admin, admin.org_id, "Flaky", "flaky", dispatch_url=url).value.secret
    )
    state.answer = 503
    number = _ticket(services, admin)
    services.tickets.add_message(admin, number, "@flaky go", is_internal_note=True)
    _run_agents(services)
    assert len(state.received) == 1
    _run_agents(services)  # not due again yet
    assert len(state.received) == 1
    clock.advance(minutes=1)
    _run_agents(services)
    clock.advance(minutes=2)
    _run_agents(services)
    assert len(state.received) == 3
    assert len(set(state.webhook_ids)) == 1  # the same webhook-id on every attempt
    timeline = services.tickets.timeline(admin, number)
    [failed] = [entry for entry in timeline if entry.type == "agent_failed"]
    assert "503" in failed.new_value["summary"]
    clock.advance(minutes=10)
    _run_agents(services)
    assert len(state.received) == 3


def test_an_agent_that_never_reports_fails_when_its_token_expires(
    services: Services, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    state, url = receiver
    _, admin = _org(services)
    state.secret = str(
        services.directory.create_agent(admin, admin.org_id, "Mute", "mute", dispatch_url=url).value.secret
    )
    number = _ticket(services, admin)
    services.tickets.add_message(admin, number, "@mute hello", is_internal_note=True)
    _run_agents(services)
    [payload] = state.received
    assert services.directory.authenticate(payload["token"]) is not None
    clock.advance(minutes=16)
    assert services.directory.authenticate(payload["token"]) is None  # expired: 401
    _run_agents(services)
    assert "agent_failed" in _types(services, admin, number)
    assert len(state.received) == 1


def test_each_dispatch_runs_once_across_two_servers_and_a_restart(
    database_url: str, clock: ManualClock, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    first = _server(database_url, clock, tmp_path)
    _, admin = _org(first)
    created = first.directory.create_agent(admin, admin.org_id, "Once", "once", dispatch_url=url)
    state.secret = str(created.value.secret)
    number = _ticket(first, admin)
    first.tickets.add_message(admin, number, "@once one", is_internal_note=True)
    first.tickets.add_message(admin, number, "@once two", is_internal_note=False)
    first.close()  # gone before its follower ran anything

    def report(receiver: Receiver, payload: dict[str, Any]) -> None:
        path = f"/api/v1/tickets/{payload['ticket']['id']}/agent-dispatches/{payload['dispatchId']}/complete"
        receiver.results[payload["instruction"]] = receiver.call(
            "POST", path, payload["token"], {"status": "completed", "summary": "done"}
        )

    state.act = report
    second, third = _server(database_url, clock, tmp_path), _server(database_url, clock, tmp_path)
    try:
        with _api(database_url, clock, tmp_path) as api:
            state.api = api
            # A server claims the first dispatch and dies before posting it.
            assert second.read_side is not None
            second.read_side.catch_up_all()
            # The API server's own follower may hold the queue's lock (PostgreSQL): wait for its batch.
            assert second.read_side.wait_for(second.app.head_position(), 10, names=["agent_queue"])
            due = [d for d in second.read_side.dispatches_due(clock(), 1000) if d.instruction == "@once one"]
            assert second.agent_dispatcher._claim(
                due[0], None, *_org_and_agent(second, admin, created), clock()
            )
            _run_agents(third)
            _run_agents(second)
            assert [p["instruction"] for p in state.received] == ["@once two"]  # the claim holds
            clock.advance(minutes=6)
            _run_agents(third)
            _run_agents(second)
            _run_agents(third)
    finally:
        second.close()
        third.close()
    assert sorted(p["instruction"] for p in state.received) == ["@once one", "@once two"]
    assert state.results == {"@once one": 204, "@once two": 204}
    check = _server(database_url, clock, tmp_path)
    try:
        types = _types(check, admin, number)
        assert types.count("agent_dispatched") == 2 and types.count("agent_completed") == 2
    finally:
        check.close()


def _org_and_agent(services: Services, admin: Actor, created: Any) -> tuple[Any, Any]:
    org = services.directory.org(admin.org_id)
    return org, org.members[str(created.value.agent.id)]


def test_the_contact_sees_no_dispatch_in_the_portal_or_by_mail(
    services: Services,
    receiver: tuple[Receiver, str],
    database_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    state, url = receiver
    _, admin = _org(services)
    state.secret = str(
        services.directory.create_agent(admin, admin.org_id, "Quiet", "quiet", dispatch_url=url).value.secret
    )

    def report(receiver: Receiver, payload: dict[str, Any]) -> None:
        path = f"/api/v1/tickets/{payload['ticket']['id']}/agent-dispatches/{payload['dispatchId']}/complete"
        receiver.call("POST", path, payload["token"], {"status": "completed", "summary": "SECRET-SUMMARY"})

    state.act = report
    number = _ticket(services, admin)
    with _api(database_url, clock, tmp_path) as api:
        state.api = api
        services.tickets.add_message(admin, number, "@quiet SECRET-INSTRUCTION", is_internal_note=True)
        _run_agents(services)
    types = _types(services, admin, number)
    assert {"agent_dispatched", "agent_completed"} <= set(types)
    assert "email_queued" not in types  # a dispatch mails nobody
    assert services.read_side is not None
    services.read_side.catch_up_all()
    ticket_id = str(services.tickets.resolve_id(admin, number))
    portal = services.read_side.dump("portal")
    assert any(ticket_id in str(row) for row in portal["tickets"])
    assert "SECRET" not in str(portal)
    assert not [m for m in services.read_side.dump("outbox")["mail"] if ticket_id in str(m)]


def test_agents_are_not_assignable_and_have_no_token_of_their_own(services: Services) -> None:
    _, admin = _org(services)
    agent = services.directory.create_agent(admin, admin.org_id, "Triage", "triage-agent", behaviour="triage")
    assert agent.value.secret is None
    number = _ticket(services, admin)
    with pytest.raises(InvalidValueError, match="is an agent"):
        services.tickets.assign(admin, number, agent.value.agent.id)
    [member] = [m for m in services.directory.members(admin) if m.id == agent.value.agent.id]
    assert member.kind == "agent" and member.role == Role.AGENT and member.email == ""


def test_dispatch_urls_must_be_public_hosts(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_WEBHOOKS_ALLOW_PRIVATE", "false")
    _, admin = _org(services)
    for url in (
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "ftp://example.com/x",
    ):
        with pytest.raises(InvalidValueError):
            services.directory.create_agent(
                admin, admin.org_id, "Bad", f"bad-{secrets.token_hex(2)}", dispatch_url=url
            )
    check_public_url("http://127.0.0.1/x", allow_private=True)


# ---------------------------------------------------------------------------- the built-in triage agent


def _history(services: Services, admin: Actor, count: int, seed: int = 3) -> None:
    """`count` finished tickets of a synthetic history (known categories and priorities), with product tags."""
    tags = {}
    for ticket in generate(count, seed=seed):
        for name in ticket.tags:
            if name not in tags:
                tags[name] = services.directory.create_tag(admin, name, "#336699", None).value.id
        saved = services.tickets.create(
            admin,
            NewTicket(
                subject=ticket.subject,
                description=ticket.description,
                category=Category(ticket.category),
                priority=Priority(ticket.priority),
                tag_ids=[tags[name] for name in ticket.tags],
            ),
        )
        services.tickets.update(admin, str(saved.value.ticket_number), TicketChanges(status=Status.RESOLVED))


def _triage_note(services: Services, admin: Actor, number: str) -> str:
    notes = [m.content for m in services.tickets.get(admin, number).visible_messages() if m.is_internal_note]
    return notes[-1]


def test_triage_sets_what_it_is_sure_of_and_notes_the_rest(services: Services) -> None:
    _, admin = _org(services)
    agent = services.directory.create_agent(admin, admin.org_id, "Triage", "triage-agent", behaviour="triage")
    _history(services, admin, 120)
    saved = services.tickets.create(
        admin,
        NewTicket(
            subject="Charged twice invoice",
            description="We were charged twice on the invoice, please refund the payment of our subscription.",
        ),
    )
    number = str(saved.value.ticket_number)
    services.tickets.add_message(admin, number, "@triage-agent please categorize this", is_internal_note=True)
    _run_agents(services)
    ticket = services.tickets.get(admin, number)
    assert _types(services, admin, number).count("agent_completed") == 1
    assert ticket.category == Category.BILLING
    note = _triage_note(services, admin, number)
    assert "category: set to **billing**" in note
    activity = services.tickets.timeline(admin, number)
    [changed] = [a for a in activity if a.type == "category_changed"]
    assert changed.actor_id == agent.value.agent.id
    [completed] = [a for a in activity if a.type == "agent_completed"]
    assert "category → billing" in completed.new_value["summary"]

    # Below the threshold, it changes nothing and leaves its guesses.
    services.triage.settings = AgentSettings(triage_confidence=1.0)
    second = str(
        services.tickets.create(
            admin, NewTicket(subject="Login broken", description="cannot sign in, password reset link fails")
        ).value.ticket_number
    )
    services.tickets.add_message(admin, second, "@triage-agent", is_internal_note=True)
    _run_agents(services)
    assert services.tickets.get(admin, second).category == Category.GENERAL
    assert "my guess is" in _triage_note(services, admin, second)
    assert "agent_completed" in _types(services, admin, second)


def test_triage_with_too_little_history_says_so(services: Services) -> None:
    _, admin = _org(services)
    services.directory.create_agent(admin, admin.org_id, "Triage", "triage-agent", behaviour="triage")
    _history(services, admin, 5)
    number = _ticket(services, admin)
    services.tickets.add_message(admin, number, "@triage-agent please categorize this", is_internal_note=True)
    _run_agents(services)
    note = _triage_note(services, admin, number)
    assert "too little history" in note and "5 finished ticket(s)" in note
    assert services.tickets.get(admin, number).category == Category.GENERAL
    report = services.triage.train(admin.org_id)
    assert not report.usable and report.examples == 5


def test_a_rule_dispatches_through_the_service_seam(services: Services) -> None:
    _, admin = _org(services)
    services.directory.create_agent(admin, admin.org_id, "Triage", "triage-agent", behaviour="triage")
    number = _ticket(services, admin)
    dispatch_id = services.tickets.dispatch_agent(admin, number, "@triage-agent", "categorize", source="rule")
    assert isinstance(dispatch_id.value, UUID)
    [entry] = [a for a in services.tickets.timeline(admin, number) if a.type == "agent_dispatched"]
    assert entry.new_value["source"] == "rule" and entry.new_value["dispatch_id"] == dispatch_id.value
    _run_agents(services)  # leaves nothing due for the next test on the shared PostgreSQL database
    assert "agent_completed" in _types(services, admin, number)
