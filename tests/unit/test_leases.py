"""When the next attempt of leased work may start (mail, webhook deliveries, agents' dispatches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tickets.domain.leases import attempt_due

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_held_lease_and_a_retry_not_yet_due_wait_and_a_dead_servers_lease_frees_the_work() -> None:
    lease = T0 + timedelta(minutes=5)
    assert not attempt_due("sending", "sending", lease, None, T0)
    assert attempt_due("sending", "sending", lease, None, lease)  # its server died: free again
    assert not attempt_due("retrying", "sending", lease, T0 + timedelta(minutes=1), T0)
    assert attempt_due("retrying", "sending", lease, T0 + timedelta(minutes=1), T0 + timedelta(minutes=1))
    assert attempt_due("pending", "sending", T0, None, T0)


@given(st.integers(-600, 600), st.integers(-600, 600))
def test_never_while_held_never_before_the_retry(lease_s: int, retry_s: int) -> None:
    lease_until, retry_at = T0 + timedelta(seconds=lease_s), T0 + timedelta(seconds=retry_s)
    assert attempt_due("sending", "sending", lease_until, None, T0) == (lease_until <= T0)
    assert attempt_due("retrying", "sending", lease_until, retry_at, T0) == (retry_at <= T0)
