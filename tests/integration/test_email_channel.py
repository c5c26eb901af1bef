"""The email channel end to end with real SMTP, on SQLite and PostgreSQL: mail in through the intake
(smtplib to aiosmtpd), mail out to a sink server, threads that stay threads, exactly once across
restarts and two servers."""

from __future__ import annotations

import io
import secrets
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from projections.runner import Follower
from tickets.application.actors import Actor
from tickets.application.attachments import IncomingFile
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import TicketChanges
from tickets.domain.values import Source, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import AttachmentLimits, MailSettings, Settings
from tickets.mail.server import SmtpIntake

from .mail_helpers import SinkHandler, free_port, mail, send, smtp_sink, strip_brackets

DOMAIN = "tickets.localhost"


@pytest.fixture
def sink() -> Iterator[tuple[SinkHandler, int]]:
    with smtp_sink() as started:
        yield started


# Small enough that a test can send a part the limits refuse.
LIMITS = AttachmentLimits(max_file_bytes=10_000, max_files=3)


def _server(database_url: str, clock: ManualClock, sink_port: int, tmp_path: Path) -> Services:
    settings = Settings(
        database_url,
        attachment_limits=LIMITS,
        mail=MailSettings(
            domain=DOMAIN, smtp_url=f"smtp://127.0.0.1:{sink_port}", directory=tmp_path / "unused"
        ),
    )
    services = build_services(settings, clock=clock)
    services.record_sla_breaches = False
    return services


@pytest.fixture
def server(
    database_url: str, clock: ManualClock, sink: tuple[SinkHandler, int], tmp_path: Path
) -> Iterator[Services]:
    services = _server(database_url, clock, sink[1], tmp_path)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def intake(server: Services) -> Iterator[int]:
    started = SmtpIntake(server.mail, "127.0.0.1", free_port()).start()
    try:
        yield started.port
    finally:
        started.stop()


def _org(services: Services) -> tuple[str, Actor]:
    slug = f"acme-{secrets.token_hex(3)}"
    created = services.directory.create_org(slug, "Acme Support", f"ada@{slug}.test", "Ada")
    admin = services.directory.authenticate(created.token)
    assert admin is not None
    return slug, admin


def _send_due(services: Services) -> None:
    """What the server's follower does each round: catch up, then send what is due."""
    assert services.read_side is not None
    services.read_side.catch_up_all()
    Follower(services.read_side, mail_sender=services.mail_sender).send_mail()


def _ours(sink: tuple[SinkHandler, int], slug: str) -> list[EmailMessage]:
    """The mails the sink got from this org (the PostgreSQL test database holds other tests' orgs)."""
    return [m for m in sink[0].received if str(m["Reply-To"]) == f"{slug}@{DOMAIN}"]


def test_a_new_mail_becomes_a_ticket_with_its_attachments_and_a_threaded_receipt(
    server: Services, intake: int, sink: tuple[SinkHandler, int]
) -> None:
    slug, admin = _org(server)
    pdf = b"%PDF-1.4 invoice"
    send(
        intake,
        mail(
            "Cara Customer <cara@example.com>",
            f"{slug}@{DOMAIN}",
            "Printer on fire",
            "It is on fire.\n\nCara",
            "first@example.com",
            files=[("invoice.pdf", "application/pdf", pdf)],
        ),
    )
    ticket = server.tickets.get(admin, "1")
    assert ticket.source == Source.EMAIL
    assert ticket.subject == "Printer on fire"
    assert ticket.contact_email == "cara@example.com"
    assert ticket.contact_name == "Cara Customer"
    assert "It is on fire." in ticket.description
    [file] = list(ticket.attachments.values())
    assert (file.filename, file.size) == ("invoice.pdf", len(pdf))

    _send_due(server)
    [receipt] = _ours(sink, slug)
    assert receipt["To"] == "cara@example.com"
    assert receipt["Subject"] == f"[#{ticket.ticket_number}] Printer on fire"
    assert strip_brackets(receipt["In-Reply-To"]) == "first@example.com"
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert f"{slug}@{DOMAIN}" in str(receipt["Reply-To"])
    _send_due(server)
    assert len(_ours(sink, slug)) == 1  # sent once


def test_mail_to_an_unknown_address_is_refused_at_rcpt(server: Services, intake: int) -> None:
    _org(server)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(intake, mail("cara@example.com", f"nobody@{DOMAIN}", "Hi", "Hello", "x@example.com"))
    assert refused.value.recipients[f"nobody@{DOMAIN}"][0] == 550


def test_a_reply_thread_goes_out_and_comes_back_to_the_same_ticket(
    server: Services, intake: int, sink: tuple[SinkHandler, int]
) -> None:
    slug, admin = _org(server)
    server.directory.update_org_settings(admin, None, acknowledge_new_tickets=False)
    send(
        intake,
        mail("cara@example.com", f"{slug}@{DOMAIN}", "Login broken", "I cannot log in", "m1@example.com"),
    )
    ticket = server.tickets.get(admin, "1")
    server.tickets.add_message(admin, "1", "Secret: **VIP** customer", is_internal_note=True)
    reply = server.tickets.add_message(
        admin, "1", "Try **resetting** your password.", is_internal_note=False
    ).value
    _send_due(server)

    [out] = _ours(sink, slug)  # the note never left
    assert "VIP" not in out.as_string()
    assert out["Subject"] == f"[#{ticket.ticket_number}] Login broken"
    assert strip_brackets(out["In-Reply-To"]) == "m1@example.com"
    assert "m1@example.com" in str(out["References"])
    html = out.get_body(("html",))
    assert html is not None and "<strong>resetting</strong>" in html.get_content()
    delivered = server.tickets.get(admin, "1").messages[str(reply.id)].delivery
    assert delivered is not None and (delivered.status, delivered.attempts) == ("sent", 1)

    # The customer answers the mail they got: it lands on the same ticket, as the contact's message.
    answer = mail(
        "cara@example.com",
        strip_brackets(out["Reply-To"]),
        f"Re: {out['Subject']}",
        "That worked, thanks!\n\nOn Monday, Acme wrote:\n> Try resetting your password.",
        "m2@example.com",
        in_reply_to=strip_brackets(out["Message-ID"]),
    )
    send(intake, answer)
    after = server.tickets.get(admin, "1")
    contact_messages = [m for m in after.messages.values() if m.author_type == "contact"]
    assert [m.content.strip() for m in contact_messages][-1].startswith("That worked, thanks!")
    kinds = [a.type for a in server.tickets.timeline(admin, "1")]
    assert kinds.count("email_received") == 2 and kinds.count("email_sent") == 1


def test_duplicates_and_automatic_mail_create_nothing(server: Services, intake: int) -> None:
    slug, admin = _org(server)
    address = f"{slug}@{DOMAIN}"
    first = mail("cara@example.com", address, "Help", "Please help", "same@example.com")
    send(intake, first)
    send(intake, first)  # delivered twice (a retrying relay)
    send(
        intake,
        mail(
            "cara@example.com",
            address,
            "Out of office",
            "Away",
            "ooo@example.com",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    send(
        intake,
        mail(
            "news@example.com",
            address,
            "Newsletter",
            "Buy",
            "bulk@example.com",
            headers={"Precedence": "bulk"},
        ),
    )
    send(intake, mail("MAILER-DAEMON@example.com", address, "Undeliverable", "Bounce", "bounce@example.com"))
    send(intake, mail(f"support@{DOMAIN}", address, "[#1] Help", "Loop", "loop@example.com"))
    with pytest.raises(Exception, match="not found"):
        server.tickets.get(admin, "2")
    ticket = server.tickets.get(admin, "1")
    assert ticket.message_count == 0
    assert sum(server.mail.ignored.values()) == 4


def test_a_reply_by_subject_token_needs_the_tickets_own_contact(server: Services, intake: int) -> None:
    slug, admin = _org(server)
    address = f"{slug}@{DOMAIN}"
    send(intake, mail("cara@example.com", address, "VPN down", "Down", "v1@example.com"))
    send(intake, mail("cara@example.com", address, "Re: [#1] VPN down", "Still down", "v2@example.com"))
    send(intake, mail("mallory@example.com", address, "Re: [#1] VPN down", "I am in", "v3@example.com"))
    first = server.tickets.get(admin, "1")
    assert [m.content for m in first.messages.values()] == ["Still down"]
    intruder = server.tickets.get(admin, "2")  # its own ticket, not a message in Cara's
    assert intruder.contact_email == "mallory@example.com"


def test_replies_to_resolved_and_closed_tickets(server: Services, intake: int, clock: ManualClock) -> None:
    slug, admin = _org(server)
    address = f"{slug}@{DOMAIN}"
    send(intake, mail("cara@example.com", address, "Broken", "Broken", "r1@example.com"))
    server.tickets.update(admin, "1", TicketChanges(status=Status.RESOLVED))
    send(intake, mail("cara@example.com", address, "Re: [#1] Broken", "Still broken", "r2@example.com"))
    assert server.tickets.get(admin, "1").status == Status.OPEN  # pushed back
    server.tickets.update(admin, "1", TicketChanges(status=Status.CLOSED))
    send(intake, mail("cara@example.com", address, "Re: [#1] Broken", "Again", "r3@example.com"))
    follow_up = server.tickets.get(admin, "2")
    assert follow_up.follow_up_of == server.tickets.get(admin, "1").id
    assert follow_up.source == Source.EMAIL


def test_a_server_killed_before_sending_sends_once_after_restart(
    database_url: str, clock: ManualClock, sink: tuple[SinkHandler, int], tmp_path: Path
) -> None:
    first = _server(database_url, clock, sink[1], tmp_path)
    slug, admin = _org(first)
    intake = SmtpIntake(first.mail, "127.0.0.1", free_port()).start()
    send(intake.port, mail("cara@example.com", f"{slug}@{DOMAIN}", "Help", "Help", "k1@example.com"))
    intake.stop()
    first.directory.update_org_settings(admin, None, acknowledge_new_tickets=False)
    first.tickets.add_message(admin, "1", "On it", is_internal_note=False)
    first.close()  # gone before its follower sent anything

    second, third = (
        _server(database_url, clock, sink[1], tmp_path),
        _server(database_url, clock, sink[1], tmp_path),
    )
    try:
        _send_due(second)
        _send_due(third)
        _send_due(second)
        # The receipt and the reply, once each, although two servers followed the same outbox.
        assert sorted(str(m["Subject"]) for m in _ours(sink, slug)) == ["[#1] Help", "[#1] Help"]
        assert len({str(m["Message-ID"]) for m in _ours(sink, slug)}) == 2
    finally:
        second.close()
        third.close()


def test_a_claim_left_by_a_crash_is_retried_after_its_lease(
    server: Services, intake: int, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    slug, admin = _org(server)
    send(intake, mail("cara@example.com", f"{slug}@{DOMAIN}", "Help", "Help", "c1@example.com"))
    assert server.read_side is not None
    server.read_side.catch_up_all()
    ticket_id = str(server.tickets.resolve_id(admin, "1"))
    [due] = [m for m in server.read_side.mail_due(clock(), 1000) if m.ticket_id == ticket_id]
    # A server claims the mail and dies before handing it over.
    assert server.mail_sender._claim(due, clock()) is not None
    _send_due(server)
    assert _ours(sink, slug) == []  # another server leaves it alone while the lease holds
    clock.advance(minutes=6)
    _send_due(server)
    assert len(_ours(sink, slug)) == 1


def test_failures_are_retried_with_backoff_then_given_up(
    server: Services, intake: int, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    slug, admin = _org(server)
    server.directory.update_org_settings(admin, None, acknowledge_new_tickets=False)
    send(intake, mail("cara@example.com", f"{slug}@{DOMAIN}", "Help", "Help", "f1@example.com"))
    reply = server.tickets.add_message(admin, "1", "Answer", is_internal_note=False).value
    sink[0].refuse = "451 4.3.0 try later"
    _send_due(server)
    delivery = server.tickets.get(admin, "1").messages[str(reply.id)].delivery
    assert delivery is not None and (delivery.status, delivery.attempts) == ("queued", 1)
    assert delivery.last_error is not None and "451" in delivery.last_error
    _send_due(server)  # not due again yet
    assert server.tickets.get(admin, "1").messages[str(reply.id)].delivery == delivery
    clock.advance(minutes=1, seconds=1)
    sink[0].refuse = "550 5.1.1 no such user"
    _send_due(server)
    delivery = server.tickets.get(admin, "1").messages[str(reply.id)].delivery
    assert delivery is not None and (delivery.status, delivery.attempts) == ("failed", 2)
    clock.advance(hours=2)
    sink[0].refuse = None
    _send_due(server)
    assert _ours(sink, slug) == []
    kinds = [a.type for a in server.tickets.timeline(admin, "1")]
    assert kinds.count("email_failed") == 2


def test_a_sign_in_request_mails_a_working_link_once(
    server: Services, intake: int, sink: tuple[SinkHandler, int], clock: ManualClock
) -> None:
    slug, admin = _org(server)
    send(intake, mail("cara@example.com", f"{slug}@{DOMAIN}", "Help", "Help", "s1@example.com"))
    server.contacts.request_link(admin.org_id, "Cara@Example.com")
    server.contacts.request_link(admin.org_id, "stranger@example.com")  # unknown: nothing is sent
    _send_due(server)
    _send_due(server)
    [sign_in] = [m for m in _ours(sink, slug) if str(m["Subject"]).startswith("Sign in")]
    assert sign_in["To"] == "cara@example.com"
    body = sign_in.get_body(("plain",))
    assert body is not None
    url = next(line for line in body.get_content().splitlines() if "/portal/sign-in/" in line).strip()
    session = server.contacts.redeem_link(url.rsplit("/", 1)[1])
    assert session.contact_id == server.tickets.get(admin, "1").contact_id

    # A request older than a link's lifetime (a server that was down for hours) sends no stale link.
    server.contacts.request_link(admin.org_id, "cara@example.com")
    clock.advance(hours=1)
    _send_due(server)
    assert len([m for m in _ours(sink, slug) if str(m["Subject"]).startswith("Sign in")]) == 1


def test_a_part_the_limits_refuse_is_dropped_and_noted_for_members_only(
    server: Services, intake: int
) -> None:
    slug, admin = _org(server)
    files = [
        ("huge.bin", "application/octet-stream", b"x" * 20_000),
        ("run.exe", "application/octet-stream", b"MZ" + b"0" * 10),
        ("ok.txt", "text/plain", b"fine"),
    ]
    send(
        intake,
        mail("cara@example.com", f"{slug}@{DOMAIN}", "Logs", "Attached", "big@example.com", files=files),
    )
    ticket = server.tickets.get(admin, "1")
    assert [a.filename for a in ticket.attachments.values()] == ["ok.txt"]
    [received] = [a for a in server.tickets.timeline(admin, "1") if a.type == "email_received"]
    dropped = {d["filename"]: d["reason"] for d in received.new_value["dropped"]}
    assert set(dropped) == {"huge.bin", "run.exe"} and "10000 bytes" in dropped["huge.bin"]
    assert server.read_side is not None
    server.read_side.catch_up_all()
    contact_id = str(ticket.contact_id)
    [portal] = server.read_side.portal_tickets(str(admin.org_id), contact_id, None, 10)[0]
    assert "dropped" not in portal.description


def test_a_reply_carries_its_public_files_and_a_resolve_notice_names_the_window(
    server: Services, intake: int, sink: tuple[SinkHandler, int]
) -> None:
    slug, admin = _org(server)
    server.directory.update_org_settings(admin, 3, acknowledge_new_tickets=False)
    send(intake, mail("cara@example.com", f"{slug}@{DOMAIN}", "Invoice", "Wrong total", "i1@example.com"))
    [attachment] = server.attachments.upload(
        admin, "1", [IncomingFile("fixed.pdf", "application/pdf", io.BytesIO(b"%PDF-1.4 fixed"))]
    ).value
    server.tickets.add_message(admin, "1", "Here is the fixed invoice.", False, [attachment.id])
    server.tickets.update(admin, "1", TicketChanges(status=Status.RESOLVED))
    _send_due(server)
    reply, notice = _ours(sink, slug)
    [part] = list(reply.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("fixed.pdf", b"%PDF-1.4 fixed")
    notice_text = notice.get_body(("plain",))
    assert notice_text is not None and "within 3 days" in notice_text.get_content()
    assert notice["Auto-Submitted"] == "auto-replied" and reply["Auto-Submitted"] is None


def test_a_very_long_mail_is_cut_to_what_a_message_may_hold(server: Services, intake: int) -> None:
    slug, admin = _org(server)
    body = "word " * 20_000  # 100,000 characters
    send(
        intake, mail(f"{'N' * 300} <cara@example.com>", f"{slug}@{DOMAIN}", "Long", body, "long@example.com")
    )
    ticket = server.tickets.get(admin, "1")
    assert len(ticket.description) <= 65_536 and ticket.description.endswith("longer than 65,536 characters]")
    assert ticket.contact_name is not None and len(ticket.contact_name) == 200


def test_the_outbox_rebuilt_from_the_log_is_the_same_and_sends_nothing_again(
    server: Services, intake: int, sink: tuple[SinkHandler, int]
) -> None:
    slug, admin = _org(server)
    send(intake, mail("cara@example.com", f"{slug}@{DOMAIN}", "Help", "Help", "rb1@example.com"))
    server.tickets.add_message(admin, "1", "Answer", is_internal_note=False)
    _send_due(server)
    assert server.read_side is not None
    server.read_side.catch_up_all()
    before = server.read_side.dump("outbox")
    assert {
        row[-1] for row in before["mail"] if row[1].startswith(f"ticket:{server.tickets.get(admin, '1').id}")
    } == {"sent"}
    server.read_side.rebuild_all(["outbox"])
    assert server.read_side.dump("outbox") == before
    _send_due(server)
    assert len(_ours(sink, slug)) == 2  # the receipt and the reply, still once each
