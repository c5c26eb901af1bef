"""The digest's periods and the Inbox aggregate's rule: each period's digest once, from opting in on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from tickets.domain.inbox import Inbox, digest_period

AT = datetime(2026, 1, 5, 9, 10, tzinfo=UTC)


def test_a_period_is_the_latest_utc_hour_or_day_that_has_ended() -> None:
    assert digest_period("hourly", AT) == "2026-01-05T08:00Z"
    assert digest_period("hourly", datetime(2026, 1, 5, 0, 0, tzinfo=UTC)) == "2026-01-04T23:00Z"
    assert digest_period("daily", AT) == "2026-01-04"
    # A time in another zone is the same instant: 01:30 at UTC+2 is 23:30 UTC the day before.
    assert (
        digest_period("daily", datetime(2026, 1, 6, 1, 30, tzinfo=timezone(timedelta(hours=2))))
        == "2026-01-04"
    )
    assert digest_period("off", AT) is None


def test_an_inbox_queues_each_period_once_and_starts_from_opting_in() -> None:
    inbox = Inbox(org_id=uuid4(), user_id=uuid4(), timestamp=AT)
    assert inbox.digest_due(AT + timedelta(days=2)) is None  # off by default
    assert inbox.choose_digest("hourly", head=40, at=AT)
    assert not inbox.choose_digest("hourly", head=90, at=AT)  # no change, no event
    assert inbox.digest_after == 40
    # The hour it was chosen in (09:00-10:00) is the first; the one that ended before is not.
    assert inbox.digest_due(AT) is None
    at_ten = AT.replace(hour=10, minute=0)
    assert inbox.digest_due(at_ten) == "2026-01-05T09:00Z"
    item = {"item_id": "i", "kind": "assigned", "ticket_id": None, "actor_id": None, "subject": "x"}
    assert not inbox.queue_digest("2026-01-05T08:00Z", [item], 0, 55, at_ten)  # not the due period
    assert inbox.queue_digest("2026-01-05T09:00Z", [item], 0, 55, at_ten)
    assert not inbox.queue_digest("2026-01-05T09:00Z", [item], 0, 60, at_ten)  # once
    assert (inbox.digest_after, inbox.digest_due(at_ten)) == (55, None)
    # Nothing to tell in the next hour: skipped, and the one after starts later still.
    assert inbox.queue_digest("2026-01-05T10:00Z", [], 0, 70, at_ten + timedelta(hours=1))
    assert inbox.digest_after == 70
    # Daily from hourly keeps what is not yet mailed; off and on again starts from the head.
    assert inbox.choose_digest("daily", head=99, at=at_ten) and inbox.digest_after == 70
    inbox.choose_digest("off", head=99, at=at_ten)
    inbox.choose_digest("daily", head=120, at=at_ten)
    assert inbox.digest_after == 120 and inbox.digest_due(at_ten + timedelta(days=1)) == "2026-01-05"
    events = [type(e).__name__ for e in inbox.collect_events()]
    assert events.count("DigestQueued") == 1 and events.count("DigestSkipped") == 1
