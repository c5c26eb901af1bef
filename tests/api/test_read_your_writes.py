"""Waiting for the read side (X-Min-Position) holds no worker thread and delays no other request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.conftest import Org
from tests.live_server import serving
from tickets.api.app import create_app
from tickets.bootstrap import Services

API = "/api/v1"
pytestmark = pytest.mark.anyio

# More waiting requests than the worker threads of the server (anyio's default is 40).
WAITING_REQUESTS = 100
UNLIMITED = httpx.Limits(max_connections=None, max_keepalive_connections=None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stalled(services: Services) -> Services:
    """A server whose read side does not follow the log on its own: it moves when the test says so."""
    services.embedded_projections = False
    services.read_your_writes_timeout = 600.0  # the test, not the timeout, ends every wait
    return services


async def until(condition: Callable[[], bool], step: Callable[[], Awaitable[object]]) -> None:
    while not condition():
        await step()


async def test_requests_waiting_for_the_read_side_do_not_delay_others(stalled: Services, org: Org) -> None:
    with serving(create_app(stalled)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=UNLIMITED) as client:
            created = await client.post(
                f"{API}/tickets", json={"subject": "Fresh"}, headers=org.admin.headers
            )
            position = created.headers["X-Event-Position"]
            headers = {**org.admin.headers, "X-Min-Position": position}
            waiting = [
                asyncio.create_task(client.get(f"{API}/tickets", headers=headers))
                for _ in range(WAITING_REQUESTS)
            ]
            stats = asyncio.create_task(client.get(f"{API}/tickets/stats", headers=headers))
            read_side = stalled.read_side
            assert read_side is not None
            # Every one of them is parked on the event loop, waiting for the read side to move.
            await asyncio.wait_for(
                until(
                    lambda: read_side.progress.waiting >= WAITING_REQUESTS + 1, lambda: asyncio.sleep(0.01)
                ),
                60,
            )

            me = await asyncio.wait_for(client.get(f"{API}/me", headers=org.admin.headers), 60)
            assert me.status_code == 200, me.text
            assert not any(task.done() for task in [*waiting, stats])

            await asyncio.to_thread(read_side.catch_up)
            answers = await asyncio.wait_for(asyncio.gather(*waiting, stats), 60)
            for answer in answers[:-1]:
                assert answer.status_code == 200, answer.text
                assert [item["subject"] for item in answer.json()["items"]] == ["Fresh"]
                assert int(answer.headers["X-Projection-Position"]) >= int(position)
            assert answers[-1].json()["total"] == 1


async def test_a_position_beyond_the_head_is_refused_at_once(stalled: Services, org: Org) -> None:
    with serving(create_app(stalled)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=UNLIMITED) as client:
            head = stalled.app.head_position()
            for path in ("/tickets", "/tickets/stats"):
                response = await asyncio.wait_for(
                    client.get(API + path, headers={**org.admin.headers, "X-Min-Position": "999999999"}), 60
                )
                assert response.status_code == 400, response.text
                assert response.json()["detail"] == (
                    f"X-Min-Position: 999999999 is beyond the newest position in the log ({head})"
                )
