"""Property: whatever the interleaving of mail in (with redeliveries) and replies out, the ticket's
thread is in the order of arrival, nothing is duplicated, and each reply is mailed once."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.runner import Follower
from tickets.application.inbound import InboundMail
from tickets.bootstrap import build_services
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.mailer import MemoryTransport
from tickets.infrastructure.settings import MailSettings, Settings

# ("in", k): the customer's k-th mail arrives (again, if it came before); ("out", k): an agent
# replies; ("send",): the follower runs a round; ("tick",): time passes.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("in"), st.integers(0, 5)),
        st.tuples(st.just("out"), st.integers(0, 5)),
        st.just(("send",)),
        st.just(("tick",)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_thread_order_is_arrival_order_and_nothing_is_duplicated(plan: list[tuple[object, ...]]) -> None:
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as tmp:
        mail_settings = MailSettings(directory=Path(tmp) / "mail")
        services = build_services(Settings(f"sqlite:///{tmp}/t.db", mail=mail_settings), clock=clock)
        services.record_sla_breaches = False
        transport = MemoryTransport()
        services.mail_sender.transport = transport
        try:
            created = services.directory.create_org("acme", "Acme", "ada@acme.test", "Ada")
            admin = services.directory.authenticate(created.token)
            assert admin is not None
            route = services.mail.route(f"acme@{mail_settings.domain}")
            assert route is not None
            services.mail.receive(
                route, InboundMail("start@example.com", "cara@example.com", "Cara", "Help", "Help")
            )
            assert services.read_side is not None
            follower = Follower(services.read_side, mail_sender=services.mail_sender)
            arrived: list[str] = []
            replies: list[str] = []
            for step in plan:
                if step[0] == "in":
                    mail_id = f"in-{step[1]}@example.com"
                    services.mail.receive(
                        route,
                        InboundMail(
                            mail_id, "cara@example.com", "Cara", "Re: [#1] Help", f"customer {step[1]}"
                        ),
                    )
                    if f"customer {step[1]}" not in arrived:
                        arrived.append(f"customer {step[1]}")
                elif step[0] == "out":
                    text = f"agent {len(replies)}"
                    services.tickets.add_message(admin, "1", text, is_internal_note=False)
                    replies.append(text)
                elif step[0] == "send":
                    services.read_side.catch_up_all()
                    follower.send_mail()
                else:
                    clock.advance(minutes=1)
            services.read_side.catch_up_all()
            follower.send_mail()

            ticket = services.tickets.get(admin, "1")
            thread = [m.content for m in sorted(ticket.messages.values(), key=lambda m: m.created_at)]
            in_order = [m.content for m in ticket.messages.values()]  # insertion order = event order
            assert [c for c in in_order if c.startswith("customer")] == arrived
            assert [c for c in in_order if c.startswith("agent")] == replies
            assert sorted(thread) == sorted(in_order)
            sent_replies = [m for m in transport.sent if m["Auto-Submitted"] is None]
            assert len(sent_replies) == len(replies)
            assert len({str(m["Message-ID"]) for m in transport.sent}) == len(transport.sent)
        finally:
            services.close()
