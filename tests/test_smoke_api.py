from typing import Any

from litestar.testing import TestClient

from tests.conftest import Org


def test_create_and_read_ticket(client: TestClient[Any], org: Org) -> None:
    created = client.post("/api/v1/tickets", json={"subject": "Login broken"}, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["ticketNumber"] == 1
    fetched = client.get("/api/v1/tickets/1", headers=org.admin.headers)
    assert fetched.json()["id"] == body["id"]
