"""The OpenAPI description says what the server does: errors, security, bodies, headers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Org
from tickets.api.app import create_app
from tickets.bootstrap import build_services
from tickets.infrastructure.settings import Settings

API = "/api/v1"
GENERATE_OPTIONS = ["--meta", "none", "--output-path", "client"]
PROBLEM = {"$ref": "#/components/schemas/ProblemDetails"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # The description does not depend on the store: one SQLite server is enough.
    services = build_services(Settings(f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'tickets.db'}"))
    try:
        with TestClient(create_app(services)) as client:
            response = client.get("/schema/openapi.json")
            assert response.status_code == 200
            yield response.json()
    finally:
        services.app.close()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def test_every_error_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
        assert "400" in errors, (method, path)
        for code, response in errors.items():
            assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                method,
                path,
                code,
            )
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}


def test_statuses_follow_from_the_route(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        codes = set(operation["responses"])
        api = path.startswith(f"{API}/")
        assert ("401" in codes) == api, (method, path)
        assert ("403" in codes and "409" in codes) == (api and method != "GET"), (method, path)
        assert ("404" in codes) == ("{" in path), (method, path)
        assert ("413" in codes) == ("requestBody" in operation), (method, path)
    ticket = document["paths"][f"{API}/tickets/{{ticket_ref}}"]
    assert "412" in ticket["patch"]["responses"] and "412" not in ticket["get"]["responses"]
    assert "503" in document["paths"][f"{API}/tickets"]["get"]["responses"]
    assert "WWW-Authenticate" in ticket["get"]["responses"]["401"]["headers"]


def test_a_bearer_token_guards_the_api_and_a_contact_session_the_portal(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth", "portalSession"]
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert (schemes["portalSession"]["type"], schemes["portalSession"]["in"]) == ("apiKey", "cookie")
    portal = 0
    for path, method, operation in operations(document):
        if path.startswith(f"{API}/portal/"):
            expected: Any = [{"portalSession": []}]
            portal += 1
        else:
            expected = [{"bearerAuth": []}] if path.startswith(f"{API}/") else None
        assert operation.get("security") == expected, (method, path)
    assert portal >= 5
    assert not any(path.startswith("/portal") for path in document["paths"])  # the pages are not the API


def test_request_bodies_refuse_unknown_fields_and_keep_constraints(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, method, operation in operations(document):
        if "requestBody" in operation:
            (media,) = operation["requestBody"]["content"].values()
            name = media["schema"]["$ref"].rsplit("/", 1)[1]
            assert schemas[name]["additionalProperties"] is False, (method, path)
    minutes = schemas["SlaPolicyUpdate"]["properties"]["firstResponseMinutes"]
    assert minutes["type"] == "integer" and minutes["exclusiveMinimum"] == 0 and minutes["maximum"] == 525_600
    assert "firstResponseMinutes" not in schemas["SlaPolicyUpdate"].get("required", [])
    subject = schemas["TicketUpdate"]["properties"]["subject"]
    assert subject["minLength"] == 1 and subject["maxLength"] == 500


def test_uploads_and_downloads_are_described_as_files(document: dict[str, Any]) -> None:
    upload = document["paths"][f"{API}/tickets/{{ticket_ref}}/attachments"]["post"]
    form = document["components"]["schemas"][
        upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    ]
    files = form["properties"]["file"]
    assert form["required"] == ["file"]
    assert (files["items"]["format"], files["minItems"], files["maxItems"]) == ("binary", 1, 10)
    assert {"413", "415", "422"} <= set(upload["responses"])
    download = document["paths"][f"{API}/attachments/{{attachment_id}}"]["get"]
    assert {"200", "206", "304", "404", "416"} <= set(download["responses"])
    assert "415" not in download["responses"] and "413" not in download["responses"]
    for status in ("200", "206"):
        assert download["responses"][status]["content"] == {
            "*/*": {"schema": {"type": "string", "format": "binary"}}
        }
        assert {"ETag", "Content-Disposition", "X-Content-Type-Options"} <= set(
            download["responses"][status]["headers"]
        )
    assert "Content-Range" in download["responses"]["206"]["headers"]
    assert "content" not in download["responses"]["304"]
    messages = document["paths"][f"{API}/tickets/{{ticket_ref}}/messages"]
    assert "attachmentIds" in document["components"]["schemas"]["MessageCreate"]["properties"]
    assert "413" in messages["post"]["responses"]


def test_no_content_means_no_content(document: dict[str, Any]) -> None:
    deletes = [op for _, method, op in operations(document) if method == "DELETE"]
    assert deletes
    for operation in deletes:
        assert "content" not in operation["responses"]["204"]


def test_headers_are_never_null(document: dict[str, Any]) -> None:
    patch = document["paths"][f"{API}/tickets/{{ticket_ref}}"]["patch"]
    (if_match,) = [p for p in patch["parameters"] if p["name"] == "If-Match"]
    assert if_match["schema"]["type"] == "string" and "oneOf" not in if_match["schema"]
    assert if_match["required"] is False
    for _, _, operation in operations(document):
        for parameter in operation.get("parameters", []):
            assert {"type": "null"} not in parameter["schema"].get("oneOf", []), parameter["name"]


def test_ticket_responses_document_their_etag(document: dict[str, Any]) -> None:
    tickets = document["paths"][f"{API}/tickets"]
    assert tickets["post"]["responses"]["201"]["headers"]["ETag"]["required"] is True
    follow_up = document["paths"][f"{API}/tickets/{{ticket_ref}}/follow-up"]["post"]
    assert "ETag" in follow_up["responses"]["201"]["headers"]
    assert "X-Event-Position" in tickets["post"]["responses"]["201"]["headers"]
    assert "X-Projection-Position" in tickets["get"]["responses"]["200"]["headers"]


def test_component_names_are_plain(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    assert {"MessageOutPage", "ActivityOutPage", "TicketListItemPage"} <= names
    assert not [name for name in names if "." in name]


def test_created_tickets_carry_their_etag(client: TestClient[Any], org: Org) -> None:
    created = client.post(f"{API}/tickets", json={"subject": "x"}, headers=org.admin.headers)
    assert created.status_code == 201 and created.headers["etag"] == '"1"'
    updated = client.patch(f"{API}/tickets/1", json={"priority": "high"}, headers=org.admin.headers)
    assert updated.headers["etag"] == f'"{updated.json()["version"]}"'


def test_options_lists_every_method_of_the_path(client: TestClient[Any]) -> None:
    assert client.options(f"{API}/teams").headers["allow"] == "GET, OPTIONS, POST"
    assert client.options(f"{API}/tickets").headers["allow"] == "GET, OPTIONS, POST"


def test_no_content_responses_have_no_body(client: TestClient[Any], org: Org) -> None:
    team = client.post(f"{API}/teams", json={"name": "Support"}, headers=org.admin.headers).json()
    deleted = client.delete(f"{API}/teams/{team['id']}", headers=org.admin.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert "content-type" not in deleted.headers


def test_a_generated_client_builds_without_warnings(document: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    # The events export is JSON Lines and a download is any type: a generated client reads both as
    # bytes (api.md says so).
    (tmp_path / "config.yaml").write_text(
        "post_hooks: []\ncontent_type_overrides:\n  application/jsonl: application/octet-stream\n"
        "  '*/*': application/octet-stream\n"
    )
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml", *GENERATE_OPTIONS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    # Every error status is a typed answer of the generated client, not an "unexpected status".
    update = (
        tmp_path / "client" / "api" / "tickets" / "api_v1_tickets_ticket_ref_update_ticket.py"
    ).read_text()
    for status in (400, 401, 403, 404, 409, 412, 413, 422):
        assert f"response.status_code == {status}" in update, status


def test_patterns_mean_what_a_javascript_client_reads(client: TestClient[Any], org: Org) -> None:
    # JavaScript's \s does not match \x1d and its $ does not match before a final newline; the server
    # agrees with the published patterns, so what a client validates is what the server accepts.
    blank = client.post(f"{API}/tickets", json={"subject": "\x1d"}, headers=org.admin.headers)
    assert blank.status_code == 400
    newline = {"email": "bob@acme.test\n", "name": "Bob"}
    assert client.post(f"{API}/users", json=newline, headers=org.admin.headers).status_code == 400
    handle = {"email": "bob@acme.test", "name": "Bob", "handle": "bob\n"}
    assert client.post(f"{API}/users", json=handle, headers=org.admin.headers).status_code == 400


def test_null_is_not_a_value_of_a_typed_query_parameter(client: TestClient[Any], org: Org) -> None:
    # Litestar's lax conversion read `?teamId=null` as "not sent"; the description says a UUID.
    for url in (
        f"{API}/ticket-tags?teamId=null",
        f"{API}/tickets?breached=null",
        f"{API}/tickets/stats?teamId=null",
    ):
        response = client.get(url, headers=org.admin.headers)
        assert response.status_code == 400, url
        assert "null" in response.json()["detail"], url
    # Text parameters keep `null` as text.
    assert client.get(f"{API}/tickets?q=null", headers=org.admin.headers).status_code == 200
