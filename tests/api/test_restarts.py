"""The API across server restarts: a ticket reloaded from its snapshot keeps taking every change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org
from tickets.api.app import create_app
from tickets.bootstrap import build_services
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


def test_writes_keep_working_across_restarts_past_the_snapshot_interval(
    make_org: Callable[..., Org], database_url: str, clock: ManualClock
) -> None:
    org = make_org()
    auth = org.admin.headers

    def server() -> TestClient[Any]:
        """A new server process on the same store: nothing cached, snapshots and events remain."""
        return TestClient(create_app(build_services(Settings(database_url), clock=clock)))

    with server() as api:
        ticket = api.post("/api/v1/tickets", json={"subject": "x"}, headers=auth).json()
        for i in range(49):
            assert (
                api.post("/api/v1/tickets/1/messages", json={"content": f"m{i}"}, headers=auth).status_code
                == 201
            )
    for change in ({"status": "resolved"}, {"priority": "urgent"}, {"category": "bug"}, {"status": "closed"}):
        with server() as api:
            answer = api.patch("/api/v1/tickets/1", json=change, headers=auth)
            assert answer.status_code == 200, answer.text
            assert {k: answer.json()[k] for k in change} == change
    with server() as api:
        follow_up = api.post("/api/v1/tickets/1/follow-up", headers=auth)
        assert follow_up.status_code == 201, follow_up.text
        assert follow_up.json()["priority"] == "urgent"
        assert api.get(f"/api/v1/tickets/{ticket['id']}", headers=auth).json()["version"] == 55
