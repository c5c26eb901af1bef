"""The e-mail digest of unread notifications, on SQLite and PostgreSQL, with real SMTP (an aiosmtpd
sink) and the injected clock: one mail per period to a member who asked for it, with what they have
not read and may still see, nothing otherwise, and exactly once across restarts and two servers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import pytest

from projections.runner import Follower
from tickets.application.actors import Actor
from tickets.application.digest import Unread, queue_digest
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket
from tickets.domain.inbox import Inbox
from tickets.domain.values import Role
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import MailSettings, Settings

from .mail_helpers import SinkHandler, smtp_sink

DOMAIN = "tickets.localhost"
PUBLIC_URL = "https://help.acme.test"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 9, 10, tzinfo=UTC))


@pytest.fixture
def sink() -> Iterator[tuple[SinkHandler, int]]:
    with smtp_sink() as started:
        yield started


def _server(database_url: str, clock: ManualClock, sink_port: int, tmp_path: Path) -> Services:
    mail = MailSettings(
        domain=DOMAIN,
        smtp_url=f"smtp://127.0.0.1:{sink_port}",
        directory=tmp_path / "unused",
        public_url=PUBLIC_URL,
    )
    return build_services(Settings(database_url, mail=mail), clock=clock)


@pytest.fixture
def server(
    database_url: str, clock: ManualClock, sink: tuple[SinkHandler, int], tmp_path: Path
) -> Iterator[Services]:
    services = _server(database_url, clock, sink[1], tmp_path)
    try:
        yield services
    finally:
        services.close()


@dataclass
class Team:
    admin: Actor
    alice: Actor
    bob: Actor
    email: dict[str, str]


def _team(services: Services) -> Team:
    """An org (unique per test: the PostgreSQL database is shared) with an admin and two agents."""
    slug = f"acme-{secrets.token_hex(3)}"
    created = services.directory.create_org(slug, "Acme Support", f"ada@{slug}.test", "Ada")
    admin = services.directory.authenticate(created.token)
    assert admin is not None
    actors, email = [], {}
    for name in ("alice", "bob"):
        address = f"{name}@{slug}.test"
        user = services.directory.create_user(admin.org_id, address, name.title(), Role.AGENT)
        actor = services.directory.authenticate(user.token)
        assert actor is not None
        actors.append(actor)
        email[name] = address
    return Team(admin, actors[0], actors[1], email)


def _assign(services: Services, team: Team, member: Actor, subject: str, team_id: UUID | None = None) -> int:
    """A ticket assigned to `member` by the admin: one notification for them; its number."""
    new = NewTicket(subject=subject, assignee_id=member.user_id, team_id=team_id)
    return services.tickets.create(team.admin, new).value.ticket_number


def _round(services: Services) -> None:
    """What the server's follower does: catch up, run the time-driven policies, catch up, send mail."""
    assert services.read_side is not None
    services.read_side.catch_up_all()
    follower = Follower(services.read_side, mail_sender=services.mail_sender)
    follower.run_policies()
    services.read_side.catch_up_all()
    follower.send_mail()


def _to(sink: tuple[SinkHandler, int], address: str) -> list[EmailMessage]:
    return [m for m in sink[0].received if str(m["To"]) == address]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_an_opted_in_member_gets_one_digest_per_period_of_what_is_unread(
    server: Services, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    team = _team(server)
    server.inbox.set_preferences(team.alice, {}, "hourly")
    _assign(server, team, team.alice, "Printer on fire")
    read_one = _assign(server, team, team.alice, "Already read")
    _assign(server, team, team.alice, "Coffee machine")
    # A private team Alice was in when it was assigned to her, and is not any more.
    secret = server.directory.create_team(team.admin, "Security", "", private=True).value
    server.directory.add_team_member(team.admin, secret.id, team.alice.user_id)
    _assign(server, team, team.alice, "Breach at HQ", team_id=secret.id)
    server.directory.remove_team_member(team.admin, secret.id, team.alice.user_id)
    assert server.read_side is not None
    server.read_side.catch_up_all()
    [item] = [
        i
        for i in server.read_side.inbox(str(team.alice.org_id), str(team.alice.user_id), True, None, 50)[0]
        if i.ticket_number == read_one
    ]
    server.inbox.read(team.alice, [item.item_id])

    _round(server)  # 09:10: the hour has not ended
    assert _to(sink, team.email["alice"]) == []

    clock.current = datetime(2026, 1, 5, 10, 0, 20, tzinfo=UTC)
    _round(server)
    _round(server)  # the next round finds the period done
    [digest] = _to(sink, team.email["alice"])
    text = _text(digest)
    assert str(digest["Subject"]) == "Acme Support: 2 unread notifications"
    assert str(digest["Auto-Submitted"]) == "auto-replied"
    assert "2026-01-05 09:00-10:00 UTC" in text
    assert "@ada assigned you #1 Printer on fire" in text
    assert f"{PUBLIC_URL}/api/v1/tickets/1" in text
    assert "@ada assigned you #3 Coffee machine" in text
    assert "Already read" not in text and "Breach" not in text
    assert _to(sink, team.email["bob"]) == []

    # An hour with nothing new: nothing. Then one new notification: the next digest lists it alone.
    clock.advance(hours=1)
    _round(server)
    assert len(_to(sink, team.email["alice"])) == 1
    _assign(server, team, team.alice, "Paper jam")
    clock.advance(hours=1)
    _round(server)
    first, second = _to(sink, team.email["alice"])
    assert str(second["Subject"]) == "Acme Support: 1 unread notification"
    assert "#5 Paper jam" in _text(second) and "Printer" not in _text(second)
    assert first["Message-ID"] != second["Message-ID"]


def test_a_daily_digest_goes_once_after_the_utc_day(
    server: Services, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    team = _team(server)
    server.inbox.set_preferences(team.bob, {}, "daily")
    _assign(server, team, team.bob, "Printer on fire")
    clock.current = datetime(2026, 1, 5, 23, 59, tzinfo=UTC)
    _round(server)
    assert _to(sink, team.email["bob"]) == []
    clock.current = datetime(2026, 1, 6, 0, 0, 5, tzinfo=UTC)
    _round(server)
    clock.current = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
    _round(server)
    [digest] = _to(sink, team.email["bob"])
    assert "2026-01-05 (UTC)" in _text(digest) and "#1 Printer on fire" in _text(digest)


def test_nothing_is_mailed_to_whoever_opted_out_or_read_everything(
    server: Services, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    team = _team(server)
    server.inbox.set_preferences(team.alice, {}, "hourly")
    server.inbox.set_preferences(team.alice, {}, "off")  # changed her mind
    server.inbox.set_preferences(team.bob, {}, "hourly")
    _assign(server, team, team.alice, "For Alice")
    _assign(server, team, team.bob, "For Bob")
    assert server.read_side is not None
    server.read_side.catch_up_all()
    server.inbox.read_all(team.bob)
    clock.advance(hours=1)
    _round(server)
    clock.advance(hours=1)
    _round(server)
    assert _to(sink, team.email["alice"]) == [] and _to(sink, team.email["bob"]) == []


def test_a_digest_is_queued_and_sent_once_across_restarts_and_two_servers(
    database_url: str, clock: ManualClock, sink: tuple[SinkHandler, int], tmp_path: Path
) -> None:
    first = _server(database_url, clock, sink[1], tmp_path)
    team = _team(first)
    first.inbox.set_preferences(team.alice, {}, "hourly")
    _assign(first, team, team.alice, "Printer on fire")
    first.close()  # gone before the hour ended

    clock.advance(hours=1)
    second, third = (_server(database_url, clock, sink[1], tmp_path) for _ in range(2))
    try:
        assert second.read_side is not None and third.read_side is not None
        second.read_side.catch_up_all()
        third.read_side.catch_up_all()
        inbox_id = Inbox.create_id(team.alice.org_id, team.alice.user_id)

        # Both queue the same period at the same moment: while the third server reads what is
        # unread (its inbox loaded), the second queues and saves; the third's save clashes on the
        # inbox's version, and its retry finds the period done.
        def racing(org_id: str, member_id: str, after: int, limit: int) -> tuple[Sequence[Unread], int]:
            assert second.read_side is not None and third.read_side is not None
            queue_digest(second.app, inbox_id, second.read_side.unread_after, clock())
            return third.read_side.unread_after(org_id, member_id, after, limit)

        assert queue_digest(third.app, inbox_id, racing, clock()) is False
        queued = [e for e in third.app.events.get(inbox_id) if isinstance(e, Inbox.DigestQueued)]
        assert len(queued) == 1

        _round(second)
        _round(third)
        _round(second)
        # Rebuilt, the inbox read model and the outbox ask for nothing again.
        third.read_side.rebuild_all(["inbox", "outbox"])
        _round(third)
        [digest] = _to(sink, team.email["alice"])
        assert "#1 Printer on fire" in _text(digest)
    finally:
        second.close()
        third.close()
