"""Input no client should send still gets a 4xx problem that says what is wrong, and writes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.api.dependencies import Services

API = "/api/v1"
Client = TestClient[Any]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"subject": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "the JSON body is nested too deeply"),
        (b'{"subject": "\xff\xfe"}', "the request body is not valid UTF-8"),
    ],
)
def test_undecodable_bodies_are_400_and_write_nothing(
    client: Client, org: Org, services: Services, body: bytes, detail: str
) -> None:
    head = services.app.head_position()
    for method, path in (("POST", "/tickets"), ("POST", "/teams"), ("PATCH", "/users/" + org.admin.user_id)):
        response = client.request(
            method,
            API + path,
            content=body,
            headers={**org.admin.headers, "Content-Type": "application/json"},
        )
        assert problem(response)["detail"] == detail
    assert services.app.head_position() == head


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/tickets", b64(json.dumps(["-createdAt", 10**30, 1]).encode())),
        ("/tickets", b64(json.dumps(["-createdAt", 1, -(10**30)]).encode())),
        ("/tickets?sort=priority", b64(json.dumps(["priority", 2**63, 1]).encode())),
        ("/tickets/1/activities", b64(b"v:" + b"9" * 40)),
        ("/tickets/1/activities", b64(b"v:" + str(2**63).encode())),
        ("/tickets/1/messages", b64(b"m:" + b"9" * 40)),
    ],
)
def test_cursors_with_numbers_too_big_to_store_are_400(
    client: Client, org: Org, path: str, cursor: str
) -> None:
    assert client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers).status_code == 201
    separator = "&" if "?" in path else "?"
    response = client.get(f"{API}{path}{separator}cursor={cursor}", headers=org.admin.headers)
    assert problem(response)["detail"].startswith("cursor: not a cursor from this list")
