"""Attachments over HTTP, on SQLite and PostgreSQL: upload, download (ETag, ranges), limits, messages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.api.app import create_app
from tickets.bootstrap import Services, build_services
from tickets.infrastructure.blobs import FileBlobStore
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import AttachmentLimits, Settings

API = "/api/v1"
Client = TestClient[Any]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40))


def upload(client: Client, headers: dict[str, str], *files: tuple[str, bytes, str], ticket: str = "1") -> Any:
    return client.post(
        f"{API}/tickets/{ticket}/attachments",
        files=[("file", (name, data, media_type)) for name, data, media_type in files],
        headers=headers,
    )


def uploaded(client: Client, headers: dict[str, str], *files: tuple[str, bytes, str]) -> list[dict[str, Any]]:
    response = upload(client, headers, *files)
    assert response.status_code == 201, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail: str = response.json()["detail"]
    return detail


@pytest.fixture
def ticket(client: Client, org: Org) -> dict[str, Any]:
    created = client.post(f"{API}/tickets", json={"subject": "Printer on fire"}, headers=org.admin.headers)
    assert created.status_code == 201
    body: dict[str, Any] = created.json()
    return body


def test_an_upload_answers_each_file_and_a_download_gives_it_back(
    client: Client, org: Org, ticket: dict[str, Any]
) -> None:
    response = upload(
        client,
        org.admin.headers,
        ("Übersicht März.txt", b"hello world", "text/plain"),
        ("p.png", PNG, "image/png"),
    )
    assert response.status_code == 201, response.text
    assert int(response.headers["x-event-position"]) > 0
    text, image = response.json()
    assert {k: text[k] for k in ("filename", "contentType", "size", "sha256")} == {
        "filename": "Übersicht März.txt",
        "contentType": "text/plain",
        "size": 11,
        "sha256": hashlib.sha256(b"hello world").hexdigest(),
    }
    assert (image["contentType"], image["size"]) == ("image/png", len(PNG))

    viewer = org.add_member("viewer")
    download = client.get(f"{API}/attachments/{text['id']}", headers=viewer.headers)
    assert download.status_code == 200 and download.content == b"hello world"
    assert download.headers["content-type"] == "text/plain"
    assert download.headers["content-length"] == "11"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["etag"] == f'"{text["sha256"]}"'
    assert download.headers["accept-ranges"] == "bytes"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Ubersicht Marz.txt\"; filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.txt"
    )
    png = client.get(f"{API}/attachments/{image['id']}", headers=viewer.headers)
    assert png.content == PNG and png.headers["content-disposition"] == 'attachment; filename="p.png"'


def test_if_none_match_and_ranges(client: Client, org: Org, ticket: dict[str, Any]) -> None:
    (attachment,) = uploaded(client, org.admin.headers, ("a.txt", b"0123456789", "text/plain"))
    url, auth = f"{API}/attachments/{attachment['id']}", org.admin.headers
    tag = f'"{attachment["sha256"]}"'

    def get(**headers: str) -> Any:
        return client.get(url, headers={**auth, **headers})

    for matching in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        not_modified = get(**{"If-None-Match": matching})
        assert (not_modified.status_code, not_modified.content) == (304, b""), matching
        assert not_modified.headers["etag"] == tag
    assert get(**{"If-None-Match": '"other"'}).status_code == 200

    for asked, status, body, content_range in (
        ("bytes=2-4", 206, b"234", "bytes 2-4/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-3", 206, b"789", "bytes 7-9/10"),
        ("bytes=8-100", 206, b"89", "bytes 8-9/10"),
        ("bytes=-100", 206, b"0123456789", "bytes 0-9/10"),
        ("bytes=0-1,4-5", 200, b"0123456789", None),  # several ranges: the whole file
        ("bytes=5-2", 200, b"0123456789", None),  # invalid: ignored
        ("items=0-1", 200, b"0123456789", None),
    ):
        answer = get(Range=asked)
        assert (answer.status_code, answer.content) == (status, body), asked
        assert answer.headers.get("content-range") == content_range, asked
        assert answer.headers["content-length"] == str(len(body))
    for outside in ("bytes=10-", "bytes=99-100", "bytes=-0"):
        problem(get(Range=outside), 416)
        assert get(Range=outside).headers["content-range"] == "bytes */10"
    assert get(Range="bytes=0-0", **{"If-Range": tag}).status_code == 206
    assert get(Range="bytes=0-0", **{"If-Range": '"an older copy"'}).status_code == 200


def test_the_same_bytes_are_stored_once(
    client: Client, org: Org, ticket: dict[str, Any], services: Services, database_url: str
) -> None:
    data = b"shared bytes " + uuid4().bytes
    first = uploaded(client, org.admin.headers, ("a.txt", data, "text/plain"))[0]
    second = uploaded(client, org.admin.headers, ("b.txt", data, "text/plain"))[0]
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    blobs = services.attachments.blobs
    if isinstance(blobs, FileBlobStore):
        assert [p.name for p in blobs.root.rglob("*") if p.is_file() and p.name != ".lock"] == [
            first["sha256"][2:]
        ]
    else:
        with psycopg.connect(database_url) as db:
            row = db.execute(
                "SELECT count(*) FROM tickets_attachment_blobs WHERE sha256 = %s", (first["sha256"],)
            ).fetchone()
        assert row == (1,)
    for attachment in (first, second):
        assert client.get(f"{API}/attachments/{attachment['id']}", headers=org.admin.headers).content == data


def test_another_org_sees_no_attachment(
    client: Client, org: Org, make_org: Any, ticket: dict[str, Any]
) -> None:
    (attachment,) = uploaded(client, org.admin.headers, ("a.txt", b"secret", "text/plain"))
    other = make_org()
    missing = problem(client.get(f"{API}/attachments/{uuid4()}", headers=other.admin.headers), 404)
    theirs = problem(client.get(f"{API}/attachments/{attachment['id']}", headers=other.admin.headers), 404)
    assert theirs == missing.replace(missing.split()[1], attachment["id"])
    problem(upload(client, other.admin.headers, ("x.txt", b"x", "text/plain"), ticket=ticket["id"]), 404)


def test_only_agents_and_admins_upload(client: Client, org: Org, ticket: dict[str, Any]) -> None:
    viewer = org.add_member("viewer")
    assert "viewer" in problem(upload(client, viewer.headers, ("a.txt", b"a", "text/plain")), 403)
    problem(upload(client, {}, ("a.txt", b"a", "text/plain")), 401)
    agent = org.add_member("agent")
    assert upload(client, agent.headers, ("a.txt", b"a", "text/plain")).status_code == 201


@pytest.fixture
def small(database_url: str, clock: ManualClock, make_org: Any) -> Iterator[tuple[Client, Org, Services]]:
    """A server whose limits are 16 bytes per file and 2 files."""
    services = build_services(Settings(database_url, AttachmentLimits(max_file_bytes=16, max_files=2)), clock)
    services.record_sla_breaches = False
    org = make_org()
    with TestClient(create_app(services)) as client:
        client.post(f"{API}/tickets", json={"subject": "s"}, headers=org.admin.headers)
        yield client, org, services


def test_the_limits_are_the_servers_settings(small: tuple[Client, Org, Services]) -> None:
    client, org, services = small
    head = services.app.head_position()
    auth = org.admin.headers
    assert "larger than 16 bytes" in problem(upload(client, auth, ("a.txt", b"x" * 17, "text/plain")), 413)
    files = [(f"{n}.txt", b"x", "text/plain") for n in range(3)]
    assert "at most 2 files" in problem(upload(client, auth, *files), 413)
    # Far beyond what the limits allow: refused as the body is read.
    assert "request body is larger" in problem(
        upload(client, auth, ("a.txt", b"x" * 300_000, "text/plain")), 413
    )
    ids = [str(uuid4()) for _ in range(3)]
    message = {"content": "x", "attachmentIds": ids}
    assert "at most 2 attachments" in problem(
        client.post(f"{API}/tickets/1/messages", json=message, headers=auth), 413
    )
    assert services.app.head_position() == head
    assert len(uploaded(client, auth, ("a.txt", b"x" * 16, "text/plain"), ("b.txt", b"y", "text/plain"))) == 2


@pytest.mark.parametrize(
    ("name", "data", "media_type", "status"),
    [
        ("setup.exe", b"hello", "application/octet-stream", 415),
        ("photo.png", b"MZ\x90\x00\x03\x00\x00\x00", "image/png", 415),
        ("notes.txt", b"#!/bin/sh\necho", "text/plain", 415),
        ("notes.txt", b"  <html><body>hi", "text/plain", 415),
        ("notes.txt", b"x <script>alert(1)</script>", "text/plain", 415),
        ("pic.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", 415),
        ("page.html", b"hello", "text/plain", 415),
        ("notes.txt", b"hello", "text/html", 415),
        ("empty.txt", b"", "text/plain", 422),
    ],
)
def test_programs_html_and_empty_files_are_refused(
    client: Client,
    org: Org,
    ticket: dict[str, Any],
    services: Services,
    name: str,
    data: bytes,
    media_type: str,
    status: int,
) -> None:
    head = services.app.head_position()
    good = ("fine.txt", b"fine", "text/plain")
    problem(upload(client, org.admin.headers, good, (name, data, media_type)), status)
    assert services.app.head_position() == head  # not even the good file


def test_file_names_are_sanitized(client: Client, org: Org, ticket: dict[str, Any]) -> None:
    # Written by hand: HTTP clients escape control characters in names, a hostile one need not.
    boundary = "b0undary"
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in (
            ("../../etc/pass\x01wd", b"a"),
            ("C:\\temp\\CON.txt", b"b"),
            ("\u202egnp.txt", b"c"),
        )
    )
    response = client.post(
        f"{API}/tickets/1/attachments",
        content=parts + f"--{boundary}--\r\n".encode(),
        headers={**org.admin.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    attachments = response.json()
    assert [a["filename"] for a in attachments] == ["passwd", "_CON.txt", "gnp.txt"]
    download = client.get(f"{API}/attachments/{attachments[0]['id']}", headers=org.admin.headers)
    assert download.headers["content-disposition"] == 'attachment; filename="passwd"'


def test_malformed_uploads_are_400(client: Client, org: Org, ticket: dict[str, Any]) -> None:
    auth = org.admin.headers
    problem(client.post(f"{API}/tickets/1/attachments", json={"file": "x"}, headers=auth), 400)
    nameless = client.post(
        f"{API}/tickets/1/attachments", files=[("file", ("", b"x", "text/plain"))], headers=auth
    )
    assert "must be a file" in problem(nameless, 400)
    other = client.post(
        f"{API}/tickets/1/attachments", files=[("other", ("a.txt", b"x", "text/plain"))], headers=auth
    )
    assert "other: is not a field" in problem(other, 400)


def test_a_message_carries_attachments_of_its_ticket_once(
    client: Client, org: Org, ticket: dict[str, Any], clock: ManualClock
) -> None:
    auth = org.admin.headers
    a, b, late = uploaded(
        client,
        auth,
        ("a.txt", b"a", "text/plain"),
        ("b.png", PNG, "image/png"),
        ("late.txt", b"l", "text/plain"),
    )
    posted = client.post(
        f"{API}/tickets/1/messages",
        json={"content": "both", "attachmentIds": [a["id"], b["id"]]},
        headers=auth,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["attachments"] == [a, b]
    thread = client.get(f"{API}/tickets/1/messages", headers=auth).json()["items"]
    assert thread[0]["attachments"] == [a, b]

    def post(ids: list[str], ticket_ref: str = "1") -> Any:
        return client.post(
            f"{API}/tickets/{ticket_ref}/messages", json={"content": "x", "attachmentIds": ids}, headers=auth
        )

    assert "already attached" in problem(post([a["id"]]), 409)
    assert "not an attachment of ticket #1" in problem(post([str(uuid4())]), 422)
    client.post(f"{API}/tickets", json={"subject": "other"}, headers=auth)
    assert "not an attachment of ticket #2" in problem(post([late["id"]], "2"), 422)
    clock.advance(hours=24, seconds=1)
    assert "not used within 24 hours" in problem(post([late["id"]]), 422)
    problem(client.get(f"{API}/attachments/{late['id']}", headers=auth), 404)
    assert client.get(f"{API}/attachments/{a['id']}", headers=auth).content == b"a"


def test_deleting_a_message_hides_its_attachments(client: Client, org: Org, ticket: dict[str, Any]) -> None:
    auth = org.admin.headers
    (attachment,) = uploaded(client, auth, ("a.txt", b"gone soon", "text/plain"))
    message = client.post(
        f"{API}/tickets/1/messages", json={"content": "x", "attachmentIds": [attachment["id"]]}, headers=auth
    ).json()
    assert client.get(f"{API}/attachments/{attachment['id']}", headers=auth).status_code == 200
    assert client.delete(f"{API}/tickets/1/messages/{message['id']}", headers=auth).status_code == 204
    problem(client.get(f"{API}/attachments/{attachment['id']}", headers=auth), 404)


def test_the_timeline_and_the_event_export_show_metadata_only(
    client: Client, org: Org, ticket: dict[str, Any]
) -> None:
    auth = org.admin.headers
    (attachment,) = uploaded(client, auth, ("a.txt", b"not in the log", "text/plain"))
    entry = client.get(f"{API}/tickets/1/activities", headers=auth).json()["items"][-1]
    assert (entry["type"], entry["summary"]) == ("attachment_added", 'attachment "a.txt" added')
    assert entry["newValue"] == {
        "id": attachment["id"],
        "filename": "a.txt",
        "contentType": "text/plain",
        "size": 14,
        "sha256": attachment["sha256"],
    }
    client.post(
        f"{API}/tickets/1/messages", json={"content": "x", "attachmentIds": [attachment["id"]]}, headers=auth
    )
    export = client.get(f"{API}/tickets/1/events", headers=auth).content
    assert b"Ticket.AttachmentAdded" in export and b'"attachments":[{"id"' in export
    assert b"not in the log" not in export


def test_a_new_server_on_the_same_store_serves_the_bytes(
    make_org: Any, database_url: str, clock: ManualClock
) -> None:
    org = make_org()

    def server() -> Client:
        return TestClient(create_app(build_services(Settings(database_url), clock=clock)))

    with server() as api:
        api.post(f"{API}/tickets", json={"subject": "s"}, headers=org.admin.headers)
        first, second = uploaded(
            api, org.admin.headers, ("a.txt", b"kept", "text/plain"), ("b.png", PNG, "image/png")
        )
    with server() as api:
        assert api.get(f"{API}/attachments/{first['id']}", headers=org.admin.headers).content == b"kept"
        posted = api.post(
            f"{API}/tickets/1/messages",
            json={"content": "x", "attachmentIds": [second["id"]]},
            headers=org.admin.headers,
        )
        assert posted.status_code == 201, posted.text
    with server() as api:
        assert api.get(f"{API}/attachments/{second['id']}", headers=org.admin.headers).content == PNG
        assert api.get(f"{API}/tickets/1/messages", headers=org.admin.headers).json()["items"][0][
            "attachments"
        ] == [second]


def test_the_sweep_removes_the_bytes_of_discarded_attachments_only(
    client: Client, org: Org, ticket: dict[str, Any], services: Services, clock: ManualClock
) -> None:
    auth = org.admin.headers
    used, unused = uploaded(
        client,
        auth,
        ("used.txt", b"used " + uuid4().bytes, "text/plain"),
        ("unused.txt", b"unused " + uuid4().bytes, "text/plain"),
    )
    client.post(
        f"{API}/tickets/1/messages", json={"content": "x", "attachmentIds": [used["id"]]}, headers=auth
    )
    blobs = services.attachments.blobs
    clock.advance(hours=25)
    removed = services.attachments.sweep().removed
    assert unused["sha256"] in removed and used["sha256"] not in removed
    assert blobs.size(unused["sha256"]) is None and blobs.size(used["sha256"]) == used["size"]
    assert client.get(f"{API}/attachments/{used['id']}", headers=auth).status_code == 200
    problem(client.get(f"{API}/attachments/{unused['id']}", headers=auth), 404)
