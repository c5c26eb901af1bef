"""Work one server at a time does, tried again later when it fails: a mail to send, a webhook
delivery, an agent's dispatch. Each is an aggregate whose id the work derives, claimed by saving
an attempt with a lease (the store lets one server save it); this is the rule for when the next
attempt may start, in one place."""

from __future__ import annotations

from datetime import datetime


def attempt_due(
    state: str, working: str, lease_until: datetime, retry_at: datetime | None, now: datetime
) -> bool:
    """Whether another attempt may start at `now`: not while a server holds the work (state
    `working`, its lease running), and not before the retry time of a failed attempt (`retrying`).
    A lease that ran out means its server died: the work is free again."""
    if state == working and now < lease_until:
        return False
    return not (state == "retrying" and retry_at is not None and now < retry_at)


__all__ = ["attempt_due"]
