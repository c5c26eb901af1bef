"""Webhooks end to end on SQLite and PostgreSQL, with a real HTTP receiver: signed deliveries in log
order, at least once across a crash and two servers (exactly once for a receiver that deduplicates
by webhook-id), retries with backoff and Retry-After, giving up, disabling, rotation, SSRF at
delivery time. Time is a ManualClock; nothing sleeps."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from projections.runner import Follower
from tickets.application.actors import Actor
from tickets.application.webhooks import WebhookChanges
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.values import Status
from tickets.domain.webhook import Webhook
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import MailSettings, Settings, WebhookSettings
from tickets.infrastructure.webhook_http import Answer, HttpTransport

from .webhook_helpers import Receiver, receiver

TYPES = ["ticket.created", "ticket.status_changed", "ticket.message_added"]


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as started:
        yield started


@pytest.fixture
def now_clock() -> ManualClock:
    # Signatures are checked with `Webhook.verify`, which wants a timestamp near the real time.
    return ManualClock(datetime.now(UTC))


def _server(database_url: str, clock: ManualClock, tmp_path: Path) -> Services:
    settings = Settings(
        database_url,
        mail=MailSettings(directory=tmp_path / "mail"),
        webhooks=WebhookSettings(allow_private=True),  # the receiver is on loopback
    )
    services = build_services(settings, clock=clock)
    services.record_sla_breaches = False
    return services


@pytest.fixture
def server(database_url: str, now_clock: ManualClock, tmp_path: Path) -> Iterator[Services]:
    services = _server(database_url, now_clock, tmp_path)
    try:
        yield services
    finally:
        services.close()


def _org(services: Services) -> Actor:
    slug = f"hooks-{secrets.token_hex(3)}"
    created = services.directory.create_org(slug, "Hooks Inc", f"ada@{slug}.test", "Ada")
    admin = services.directory.authenticate(created.token)
    assert admin is not None
    return admin


def _deliver(services: Services) -> int:
    """What the server's follower does each round: catch up, then deliver what is due (and, for the
    test to read, catch up with the deliveries' outcomes)."""
    assert services.read_side is not None
    services.read_side.catch_up_all()
    delivered = Follower(services.read_side, webhook_sender=services.webhook_sender).send_webhooks()
    services.read_side.catch_up_all()
    return delivered


def _work(services: Services, admin: Actor, tickets: int = 3) -> None:
    for n in range(tickets):
        ticket = services.tickets.create(admin, NewTicket(subject=f"Ticket {n}")).value
        services.tickets.update(admin, str(ticket.id), TicketChanges(status=Status.PENDING))
        services.tickets.add_message(admin, str(ticket.id), "internal", is_internal_note=True)


def _positions(received: list[object]) -> list[int]:
    return [r.event["position"] for r in received]  # type: ignore[attr-defined]


def test_deliveries_are_signed_in_log_order_and_carry_the_feed_event(
    server: Services, hooks: Receiver
) -> None:
    admin = _org(server)
    webhook = server.webhooks.create(admin, hooks.url, TYPES).value
    _work(server, admin)
    _deliver(server)
    got = hooks.of_org(str(admin.org_id))
    assert [r.event["type"] for r in got] == ["ticket.created", "ticket.status_changed"] * 3  # no notes
    assert _positions(got) == sorted(_positions(got))
    assert all(hooks.verified_by(webhook.secret, r, strict_time=True) for r in got)
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in got)
    assert len({r.message_id for r in got}) == len(got)
    # The body is the feed event, as GET /api/v1/events has it.
    assert server.read_side is not None
    rows, _ = server.read_side.feed_page(str(admin.org_id), 0, [], 100)
    assert [r.body for r in rows if r.type != "ticket.note_added"] == [r.body for r in got]
    _deliver(server)
    assert len(hooks.of_org(str(admin.org_id))) == 6  # delivered once
    rows_after = server.read_side.webhook_deliveries(str(webhook.id), None, 100)
    assert {r.state for r in rows_after} == {"delivered"} and all(r.status_code == 200 for r in rows_after)
    assert all(r.response_body is not None and len(r.response_body) <= 1024 for r in rows_after)


class CrashError(Exception):
    """The server dies right after its request reached the receiver (before recording the outcome)."""


class CrashAfterSending:
    def __init__(self, transport: HttpTransport, after: int) -> None:
        self.transport, self.after, self.sent = transport, after, 0

    def post(self, url: str, headers: dict[str, str], body: str) -> Answer:
        answer = self.transport.post(url, headers, body)
        self.sent += 1
        if self.sent == self.after:
            raise CrashError
        return answer


def test_a_server_killed_mid_delivery_and_a_second_server_deliver_each_event_at_least_once_in_order(
    database_url: str, hooks: Receiver, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC))
    first = _server(database_url, clock, tmp_path)
    admin = _org(first)
    first.webhooks.create(admin, hooks.url, TYPES)
    _work(first, admin, tickets=4)
    first.webhook_sender.transport = CrashAfterSending(HttpTransport(allow_private=True), after=3)
    with pytest.raises(CrashError):
        _deliver(first)
    first.close()  # gone: its third delivery reached the receiver, its outcome was never recorded

    second, third = _server(database_url, clock, tmp_path), _server(database_url, clock, tmp_path)
    try:
        _deliver(second)  # the crashed claim holds for its lease: nothing more goes out
        assert len(hooks.of_org(str(admin.org_id))) == 3
        clock.advance(seconds=61)
        # Two servers at once: each attempt is claimed by one of them.
        rounds = [threading.Thread(target=_deliver, args=(s,)) for s in (second, third)]
        for t in rounds:
            t.start()
        for t in rounds:
            t.join()
        _deliver(third)
        got = hooks.of_org(str(admin.org_id))
        unique = [r for r in hooks.unique() if r in got]
        assert len(unique) == 8 and len(got) == 9  # the third event twice (same webhook-id), no other
        assert _positions(unique) == sorted(_positions(unique))
        assert _positions(got) == sorted(_positions(got))  # in order, the repeat right after itself
    finally:
        second.close()
        third.close()


def test_failures_are_retried_with_backoff_and_retry_after_and_a_4xx_is_given_up(
    database_url: str, hooks: Receiver, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC))
    services = _server(database_url, clock, tmp_path)
    try:
        admin = _org(services)
        webhook = services.webhooks.create(admin, hooks.url, ["ticket.created"]).value
        services.tickets.create(admin, NewTicket(subject="One"))
        services.tickets.create(admin, NewTicket(subject="Two"))
        ours = lambda: hooks.of_org(str(admin.org_id))  # noqa: E731
        assert services.read_side is not None
        state = lambda: {  # noqa: E731
            r.position: r
            for r in services.read_side.webhook_deliveries(str(webhook.id), None, 10)  # type: ignore[union-attr]
        }

        hooks.answer = lambda r: (503, {})
        _deliver(services)
        assert len(ours()) == 1  # the second event waits behind the first
        first, second = sorted(state().values(), key=lambda r: r.position or 0)
        assert (first.state, first.status_code, second.state) == ("retrying", 503, "pending")
        assert first.due_at is not None and timedelta(seconds=15) <= first.due_at - clock() <= timedelta(
            seconds=30
        )
        _deliver(services)
        assert len(ours()) == 1  # not due yet

        clock.advance(seconds=31)
        hooks.answer = lambda r: (429, {"Retry-After": "120"})
        _deliver(services)
        assert len(ours()) == 2
        first = state()[first.position]
        assert first.due_at is not None and first.due_at - clock() >= timedelta(seconds=120)
        clock.advance(seconds=100)
        _deliver(services)
        assert len(ours()) == 2  # Retry-After is honoured

        clock.advance(seconds=21)
        hooks.answer = lambda r: (200, {}) if r.event["data"]["subject"] == "One" else (410, {})
        _deliver(services)
        got = ours()
        assert [r.event["data"]["subject"] for r in got] == ["One", "One", "One", "Two"]
        assert len({r.message_id for r in got[:3]}) == 1  # one webhook-id for every attempt
        rows = state()
        assert [
            (r.state, r.attempts, r.status_code) for r in sorted(rows.values(), key=lambda r: r.position or 0)
        ] == [
            ("delivered", 3, 200),
            ("failed", 1, 410),  # another 4xx: not retried
        ]
        assert services.webhooks.get(admin, webhook.id).active  # a 4xx does not disable the webhook
    finally:
        services.close()


def test_a_day_of_failures_gives_up_and_disables_the_webhook(
    database_url: str, hooks: Receiver, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC))
    services = _server(database_url, clock, tmp_path)
    try:
        admin = _org(services)
        webhook = services.webhooks.create(admin, hooks.url, ["ticket.created"]).value
        services.tickets.create(admin, NewTicket(subject="One"))
        hooks.answer = lambda r: (500, {})
        start = clock()
        assert services.read_side is not None
        for _ in range(100):
            _deliver(services)
            [row] = services.read_side.webhook_deliveries(str(webhook.id), None, 10)
            if row.state == "failed":
                break
            assert row.due_at is not None and row.due_at - clock() <= timedelta(hours=1)
            clock.current = row.due_at
        assert row.state == "failed" and clock() - start <= timedelta(hours=24)
        attempts = len(hooks.of_org(str(admin.org_id)))
        assert 20 < attempts < 60 and row.attempts == attempts
        disabled = services.webhooks.get(admin, webhook.id)
        assert not disabled.active and disabled.disabled_reason and "24 hours" in disabled.disabled_reason
        assert any(type(e) is Webhook.Disabled for e in services.app.repository.event_store.get(webhook.id))
        # Off: new events are not queued for it; on again: they are.
        services.tickets.create(admin, NewTicket(subject="Two"))
        hooks.answer = lambda r: (200, {})
        _deliver(services)
        assert len(hooks.of_org(str(admin.org_id))) == attempts
        services.webhooks.update(admin, webhook.id, WebhookChanges(active=True))
        assert services.webhooks.get(admin, webhook.id).disabled_reason is None
        services.tickets.create(admin, NewTicket(subject="Three"))
        _deliver(services)
        assert hooks.of_org(str(admin.org_id))[-1].event["data"]["subject"] == "Three"
    finally:
        services.close()


def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(
    database_url: str, hooks: Receiver, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC))
    services = _server(database_url, clock, tmp_path)
    try:
        admin = _org(services)
        old = services.webhooks.create(admin, hooks.url, ["ticket.created"]).value
        old_secret = old.secret
        new_secret = services.webhooks.rotate_secret(admin, old.id).value.secret
        assert new_secret != old_secret
        services.tickets.create(admin, NewTicket(subject="During"))
        _deliver(services)
        [during] = hooks.of_org(str(admin.org_id))
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert hooks.verified_by(old_secret, during, strict_time=True)
        assert hooks.verified_by(new_secret, during, strict_time=True)
        clock.advance(hours=24, seconds=1)
        services.tickets.create(admin, NewTicket(subject="After"))
        _deliver(services)
        after = hooks.of_org(str(admin.org_id))[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert hooks.verified_by(new_secret, after, strict_time=False)
        assert not hooks.verified_by(old_secret, after, strict_time=False)
    finally:
        services.close()


def test_an_address_is_checked_again_at_delivery_time(server: Services, hooks: Receiver) -> None:
    admin = _org(server)
    # Registered while private addresses were allowed; the server now refuses them (as if DNS moved).
    webhook = server.webhooks.create(admin, f"http://localhost:{hooks.port}/hooks", ["ticket.created"]).value
    server.webhook_sender.transport = HttpTransport(allow_private=False)
    server.tickets.create(admin, NewTicket(subject="Nope"))
    _deliver(server)
    assert hooks.of_org(str(admin.org_id)) == []
    assert server.read_side is not None
    [row] = server.read_side.webhook_deliveries(str(webhook.id), None, 10)
    assert row.state == "retrying" and row.error is not None and "loopback" in row.error


def test_ping_and_redelivery(server: Services, hooks: Receiver) -> None:
    admin = _org(server)
    webhook = server.webhooks.create(admin, hooks.url, ["ticket.created"]).value
    ping = server.webhooks.ping(admin, webhook.id)
    assert (ping.state, ping.status_code) == ("delivered", 200)
    assert hooks.received[-1].event["type"] == "webhook.ping"
    assert hooks.verified_by(webhook.secret, hooks.received[-1], strict_time=True)
    server.tickets.create(admin, NewTicket(subject="Again"))
    _deliver(server)
    [first] = hooks.of_org(str(admin.org_id))
    assert server.read_side is not None
    delivered = [r for r in server.read_side.webhook_deliveries(str(webhook.id), None, 10) if r.position]
    server.webhooks.redeliver(admin, webhook.id, UUID(delivered[0].delivery_id))
    _deliver(server)
    again = hooks.of_org(str(admin.org_id))
    assert len(again) == 2 and again[1].message_id == first.message_id and again[1].body == first.body
