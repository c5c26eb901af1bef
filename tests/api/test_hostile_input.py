"""Input no client should send still gets a 4xx problem that says what is wrong, and writes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.bootstrap import Services
from tickets.domain.commands import NewTicket

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
        ("/tickets/1/activities", b64(json.dumps(["activities", 10**30]).encode())),
        ("/tickets/1/messages", b64(json.dumps(["messages", 2**63]).encode())),
        ("/users", b64(json.dumps(["users", 10**30]).encode())),
    ],
)
def test_cursors_with_numbers_too_big_to_store_are_400(
    client: Client, org: Org, path: str, cursor: str
) -> None:
    assert client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers).status_code == 201
    separator = "&" if "?" in path else "?"
    response = client.get(f"{API}{path}{separator}cursor={cursor}", headers=org.admin.headers)
    assert problem(response)["detail"].startswith("cursor: not a cursor from this list")


@pytest.mark.parametrize(
    ("path", "unknown", "accepted"),
    [
        ("/tickets?stauts=open", "stauts", "assigneeId, breached, category, contactEmail, cursor, limit"),
        ("/tickets/stats?team=x", "team", "assigneeId, teamId"),
        ("/users?limt=5", "limt", "cursor, limit"),
        ("/me?verbose=1", "verbose", "none"),
        ("/tickets/1?versoin=1", "versoin", "asOf, includeDeleted, version"),
    ],
)
def test_unknown_query_parameters_are_400_naming_them_and_the_accepted_ones(
    client: Client, org: Org, path: str, unknown: str, accepted: str
) -> None:
    client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers)
    detail = problem(client.get(API + path, headers=org.admin.headers))["detail"]
    assert detail.startswith(f"{unknown}: unknown query parameter; accepted: {accepted}")


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        ("POST", "/tickets", {"subject": "  "}, "subject: must not be blank"),
        ("POST", "/tickets", {"subject": ""}, "subject: must not be empty"),
        ("POST", "/tickets", {"subject": "x" * 501}, "subject: must have at most 500 characters"),
        ("POST", "/tickets", {"subject": 3}, "subject: must be a string, not an integer"),
        ("POST", "/tickets", {}, "subject: is required"),
        ("POST", "/tickets", {"subject": "x", "colour": 1}, "colour: is not a field of this body"),
        (
            "POST",
            "/tickets",
            {"subject": "x", "priority": "asap"},
            "priority: 'asap' is not one of: low, medium, high, urgent",
        ),
        ("POST", "/tickets", {"subject": "x", "tagIds": ["nope"]}, "tagIds[0]: must be a UUID"),
        (
            "POST",
            "/tickets",
            {"subject": "x", "contactEmail": "x@y"},
            "contactEmail: must be an e-mail address, e.g. ann@example.com",
        ),
        (
            "POST",
            "/sla-policies",
            {"priority": "low", "firstResponseMinutes": 0, "resolutionMinutes": 1},
            "firstResponseMinutes: must be between 1 and 525600",
        ),
        ("GET", "/tickets?limit=0", None, "limit: must be between 1 and 200"),
        ("GET", "/tickets?limit=many", None, "limit: must be an integer, not a string"),
        (
            "GET",
            "/tickets?status=bogus",
            None,
            "status: 'bogus' is not one of: open, pending, on_hold, resolved, closed",
        ),
        ("GET", "/tickets?teamId=x", None, "teamId: must be a UUID"),
        ("GET", "/tickets?breached=maybe", None, "breached: must be true or false, not a string"),
        ("GET", "/tickets/1?version=0", None, "version: must be at least 1"),
    ],
)
def test_validation_errors_are_plain_words(
    client: Client, org: Org, services: Services, method: str, path: str, body: Any, detail: str
) -> None:
    client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers)
    head = services.app.head_position()
    response = client.request(method, API + path, json=body, headers=org.admin.headers)
    found = problem(response)
    assert found["detail"] == detail
    assert [f"{e['key']}: {e['message']}" for e in found["errors"]] == [detail]
    assert services.app.head_position() == head


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/tickets", "0.5"),
        ("/tickets", "1767600000"),
        ("/tickets", "2026-01-05"),
        ("/tickets/1", "2026-01-05T09:00:00"),
        ("/tickets/1/messages", "yesterday"),
    ],
)
def test_times_in_the_query_are_rfc_3339_with_an_offset(
    client: Client, org: Org, path: str, value: str
) -> None:
    client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers)
    name = "updatedSince" if path == "/tickets" else "asOf"
    answer = client.get(API + path, params={name: value}, headers=org.admin.headers)
    assert answer.status_code == 400, answer.text
    assert problem(answer)["detail"].startswith(f"{name}: an RFC 3339 time needs an offset")


def test_nul_characters_are_text_like_any_other_and_never_a_5xx(client: Client, org: Org) -> None:
    """JSON allows \\u0000 in a string; PostgreSQL refuses it in text columns and query parameters."""
    created = client.post(
        f"{API}/tickets",
        json={"subject": "a\u0000b", "contactEmail": "x\u0000@y.test"},
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == "a\u0000b"
    listed = client.get(
        f"{API}/tickets", params={"contactEmail": "x\u0000@y.test"}, headers=org.admin.headers
    )
    assert listed.status_code == 200, listed.text
    assert [item["ticketNumber"] for item in listed.json()["items"]] == [1]


def test_a_nul_already_in_the_log_does_not_stop_the_read_side(
    client: Client, org: Org, services: Services
) -> None:
    """An event written before the API refused NULs (or by another path) is folded, not retried forever."""
    actor = services.directory.authenticate(org.admin.token)
    assert actor is not None
    services.tickets.create(actor, NewTicket(subject="a\u0000b", contact_email="x\u0000@y.test"))
    assert services.read_side is not None
    services.read_side.catch_up()
    listed = client.get(f"{API}/tickets", headers=org.admin.headers)
    assert [item["ticketNumber"] for item in listed.json()["items"]] == [1]
