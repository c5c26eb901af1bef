"""The customer's side over HTTP, on SQLite and PostgreSQL: contacts, sign-in, the portal, the window."""

from __future__ import annotations

from typing import Any

import httpx
from litestar.testing import TestClient

from projections.runner import Follower
from tests.api.portal_helpers import create_contact, issue_link, open_link, sign_in
from tests.conftest import Org
from tickets.bootstrap import Services
from tickets.infrastructure.clock import ManualClock

Client = TestClient[Any]


def new_ticket(client: Client, org: Org, email: str, subject: str = "Printer on fire", **fields: Any) -> Any:
    created = client.post(
        "/api/v1/tickets",
        json={"subject": subject, "contactEmail": email, **fields},
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()


def post_message(client: Client, org: Org, ticket_id: str, content: str, note: bool = False) -> Any:
    posted = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"content": content, "isInternalNote": note},
        headers=org.admin.headers,
    )
    assert posted.status_code == 201, posted.text
    return posted.json()


def set_status(client: Client, org: Org, ticket_id: str, status: str) -> None:
    changed = client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": status}, headers=org.admin.headers)
    assert changed.status_code == 200, changed.text


def status_of(client: Client, org: Org, ticket_id: str) -> str:
    found: str = client.get(f"/api/v1/tickets/{ticket_id}", headers=org.admin.headers).json()["status"]
    return found


# ---------------------------------------------------------------------------- contacts


def test_contacts_are_unique_by_email_in_any_case_and_paged(client: Client, org: Org) -> None:
    first = create_contact(client, org.admin, "Cara@Example.com", "Cara")
    again = client.post(
        "/api/v1/contacts", json={"email": "cara@example.COM", "name": "Other"}, headers=org.admin.headers
    )
    assert again.status_code == 409
    assert first in again.json()["detail"]
    create_contact(client, org.admin, "bob@example.com", "Bob Builder")
    create_contact(client, org.admin, "dan@example.com", "Dan")

    page = client.get("/api/v1/contacts?limit=2", headers=org.admin.headers).json()
    assert [c["email"] for c in page["items"]] == ["bob@example.com", "cara@example.com"]
    rest = client.get(
        f"/api/v1/contacts?limit=2&cursor={page['nextCursor']}", headers=org.admin.headers
    ).json()
    assert [c["email"] for c in rest["items"]] == ["dan@example.com"]
    assert rest["nextCursor"] is None
    found = client.get("/api/v1/contacts?q=BUILD", headers=org.admin.headers).json()["items"]
    assert [c["name"] for c in found] == ["Bob Builder"]

    renamed = client.patch(
        f"/api/v1/contacts/{first}", json={"name": "Cara Jones"}, headers=org.admin.headers
    )
    assert renamed.status_code == 200
    assert client.get(f"/api/v1/contacts/{first}", headers=org.admin.headers).json()["name"] == "Cara Jones"


def test_viewers_read_contacts_and_agents_manage_them(client: Client, org: Org) -> None:
    viewer, agent = org.add_member("viewer"), org.add_member("agent")
    contact = create_contact(client, agent, "cara@example.com")
    assert client.get(f"/api/v1/contacts/{contact}", headers=viewer.headers).status_code == 200
    denied = client.post(
        "/api/v1/contacts", json={"email": "x@example.com", "name": "X"}, headers=viewer.headers
    )
    assert denied.status_code == 403
    assert (
        client.patch(f"/api/v1/contacts/{contact}", json={"name": "Y"}, headers=viewer.headers).status_code
        == 403
    )
    assert client.post(f"/api/v1/contacts/{contact}/portal-links", headers=viewer.headers).status_code == 403


def test_another_orgs_contact_is_missing(client: Client, make_org: Any) -> None:
    ours, theirs = make_org(), make_org()
    contact = create_contact(client, theirs.admin, "cara@example.com")
    for response in (
        client.get(f"/api/v1/contacts/{contact}", headers=ours.admin.headers),
        client.patch(f"/api/v1/contacts/{contact}", json={"name": "X"}, headers=ours.admin.headers),
        client.get(f"/api/v1/contacts/{contact}/tickets", headers=ours.admin.headers),
        client.post(f"/api/v1/contacts/{contact}/portal-links", headers=ours.admin.headers),
    ):
        assert response.status_code == 404
    assert client.get("/api/v1/contacts", headers=ours.admin.headers).json()["items"] == []


def test_a_ticket_finds_or_creates_its_contact(client: Client, org: Org) -> None:
    ticket = new_ticket(client, org, "New.Person@Example.com", contactName="New Person")
    contact = client.get(f"/api/v1/contacts/{ticket['contactId']}", headers=org.admin.headers).json()
    assert (contact["email"], contact["name"]) == ("new.person@example.com", "New Person")
    second = new_ticket(client, org, "new.person@example.com", subject="Again")
    assert second["contactId"] == ticket["contactId"]
    listed = client.get(f"/api/v1/contacts/{ticket['contactId']}/tickets", headers=org.admin.headers).json()
    assert [t["ticketNumber"] for t in listed["items"]] == [2, 1]

    moved = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"contactEmail": "other@example.com"},
        headers=org.admin.headers,
    )
    assert moved.json()["contactId"] != ticket["contactId"]
    assert (
        client.get(f"/api/v1/contacts/{moved.json()['contactId']}", headers=org.admin.headers).status_code
        == 200
    )
    activities = client.get(f"/api/v1/tickets/{ticket['id']}/activities", headers=org.admin.headers).json()
    assert "contact_changed" in [a["type"] for a in activities["items"]]


# ---------------------------------------------------------------------------- signing in


def test_a_link_signs_in_once_and_sets_a_safe_cookie(client: Client, org: Org) -> None:
    contact = create_contact(client, org.admin, "cara@example.com")
    link = issue_link(client, org.admin, contact)
    client.cookies = httpx.Cookies()
    # Opening the page (as a mail scanner would) does not spend the link.
    assert client.get(link).status_code == 200
    spent = open_link(client, link)
    assert spent.status_code == 303
    cookie = spent.headers["set-cookie"].lower()
    assert "pfai_portal=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert client.get("/api/v1/portal/tickets").status_code == 200
    client.cookies = httpx.Cookies()
    assert open_link(client, link).status_code == 410


def test_links_and_sessions_expire(client: Client, org: Org, clock: ManualClock) -> None:
    contact = create_contact(client, org.admin, "cara@example.com")
    stale = issue_link(client, org.admin, contact)
    clock.advance(minutes=31)
    client.cookies = httpx.Cookies()
    assert open_link(client, stale).status_code == 410

    cara = sign_in(client, org.admin, contact)
    clock.advance(days=13, hours=23)
    assert cara.get("/api/v1/portal/tickets").status_code == 200
    clock.advance(hours=2)
    assert cara.get("/api/v1/portal/tickets").status_code == 401
    assert cara.get("/portal", follow_redirects=False).headers["location"] == "/portal/login"


def test_sign_out_and_revocation_end_sessions(client: Client, org: Org) -> None:
    contact = create_contact(client, org.admin, "cara@example.com")
    cara = sign_in(client, org.admin, contact)
    other_browser = sign_in(client, org.admin, contact)
    assert cara.form("/portal/sign-out", {}, follow_redirects=False).status_code == 303
    assert cara.get("/api/v1/portal/tickets").status_code == 401
    assert other_browser.get("/api/v1/portal/tickets").status_code == 200

    client.cookies = httpx.Cookies()
    revoked = client.delete(f"/api/v1/contacts/{contact}/portal-sessions", headers=org.admin.headers)
    assert revoked.status_code == 204
    assert other_browser.get("/api/v1/portal/tickets").status_code == 401
    assert sign_in(client, org.admin, contact).get("/api/v1/portal/tickets").status_code == 200


def test_asking_for_a_link_does_not_tell_who_is_a_contact(client: Client, org: Org) -> None:
    contact = create_contact(client, org.admin, "cara@example.com")
    answers = []
    for email in ("cara@example.com", "nobody@example.com"):
        client.cookies = httpx.Cookies()
        page = client.get(f"/portal/login?org={org.slug}")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        sent = client.post("/portal/login", data={"email": email, "org": org.slug, "csrf_token": token})
        assert sent.status_code == 200
        answers.append(sent.text.replace(token, ""))
    assert answers[0] == answers[1]
    asked = client.get(f"/api/v1/contacts/{contact}", headers=org.admin.headers).json()
    assert asked["signInRequestedAt"] is not None
    client.cookies = httpx.Cookies()
    forged = client.post(
        "/portal/login", data={"email": "cara@example.com", "org": org.slug, "csrf_token": "x"}
    )
    assert forged.status_code == 403


# ---------------------------------------------------------------------------- denials


def test_sessions_and_tokens_open_only_their_own_side(client: Client, org: Org) -> None:
    contact = create_contact(client, org.admin, "cara@example.com")
    new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, contact)
    for path in ("/api/v1/tickets", "/api/v1/tickets/1", "/api/v1/contacts", "/api/v1/me"):
        assert cara.get(path).status_code == 401, path
    client.cookies = httpx.Cookies()
    for path in ("/api/v1/portal/tickets", "/api/v1/portal/tickets/1", "/api/v1/portal/session"):
        denied = client.get(path, headers=org.admin.headers)
        assert denied.status_code == 401, path
        assert denied.headers["content-type"].startswith("application/problem+json")
    assert client.get("/portal", headers=org.admin.headers, follow_redirects=False).status_code == 302


def test_another_contacts_ticket_is_missing(client: Client, make_org: Any) -> None:
    org, other_org = make_org(), make_org()
    cara = sign_in(client, org.admin, create_contact(client, org.admin, "cara@example.com"))
    dan = sign_in(client, org.admin, create_contact(client, org.admin, "dan@example.com"))
    new_ticket(client, org, "cara@example.com", subject="Cara's")
    new_ticket(client, other_org, "cara@example.com", subject="Elsewhere")  # the same address, another org
    assert [t["subject"] for t in cara.get("/api/v1/portal/tickets").json()["items"]] == ["Cara's"]
    assert dan.get("/api/v1/portal/tickets").json()["items"] == []
    for response in (
        dan.get("/api/v1/portal/tickets/1"),
        dan.get("/api/v1/portal/tickets/1/messages"),
        dan.post("/api/v1/portal/tickets/1/messages", json={"content": "mine now"}),
        dan.post("/api/v1/portal/tickets/1/resolve"),
        dan.get("/api/v1/portal/tickets/2"),
    ):
        assert response.status_code == 404
    assert dan.get("/portal/tickets/1").status_code == 404
    assert dan.form("/portal/tickets/1/reply", {"content": "x"}, multipart=True).status_code == 404
    assert len(cara.get("/api/v1/portal/tickets/1").json()["messages"]) == 0


def test_writes_without_the_csrf_token_are_refused_and_change_nothing(client: Client, org: Org) -> None:
    cara = sign_in(client, org.admin, create_contact(client, org.admin, "cara@example.com"))
    ticket = new_ticket(client, org, "cara@example.com")
    refused = cara.post(
        "/api/v1/portal/tickets/1/messages", json={"content": "hi"}, headers={"X-CSRF-Token": "x"}
    )
    assert refused.status_code == 403
    cara.client.cookies = cara.cookies
    assert cara.client.post("/portal/tickets/1/resolve", data={}).status_code == 403
    assert cara.client.post("/portal/tickets/1/reply", files={"content": (None, "hi")}).status_code == 403
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=org.admin.headers).json()["version"] == 1


# ---------------------------------------------------------------------------- what a contact sees


def test_internal_notes_never_reach_the_portal(client: Client, org: Org) -> None:
    agent = org.add_member("agent", name="Agnes Agent")
    handle = client.get(f"/api/v1/users/{agent.user_id}", headers=org.admin.headers).json()["handle"]
    ticket = new_ticket(client, org, "cara@example.com", description="My **printer** is on fire")
    note = post_message(client, org, ticket["id"], f"SECRET-NOTE for @{handle}", note=True)
    client.patch(
        f"/api/v1/tickets/{ticket['id']}/messages/{note['id']}",
        json={"content": "SECRET-EDIT of the note"},
        headers=org.admin.headers,
    )
    post_message(client, org, ticket["id"], "We are on it")
    cara = sign_in(client, org.admin, ticket["contactId"])

    shown = cara.get("/api/v1/portal/tickets/1").json()
    assert [m["content"] for m in shown["messages"]] == ["We are on it"]
    assert set(shown) == {
        "ticketNumber",
        "subject",
        "description",
        "descriptionHtml",
        "status",
        "createdAt",
        "updatedAt",
        "messages",
    }
    assert shown["messages"][0]["authorName"] == "Ada Admin"
    everything = [
        cara.get("/api/v1/portal/tickets").text,
        cara.get("/api/v1/portal/tickets/1").text,
        cara.get("/api/v1/portal/tickets/1/messages").text,
        cara.get("/portal").text,
        cara.get("/portal/tickets/1").text,
    ]
    for body in everything:
        assert "SECRET" not in body
        assert handle not in body
        assert agent.user_id not in body


def test_markdown_is_rendered_and_sanitized(client: Client, org: Org) -> None:
    ticket = new_ticket(
        client,
        org,
        "cara@example.com",
        description='<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror="alert(3)"> *ok*',
    )
    cara = sign_in(client, org.admin, ticket["contactId"])
    html = cara.get("/api/v1/portal/tickets/1").json()["descriptionHtml"]
    page = cara.get("/portal/tickets/1").text
    for shown in (html, page):
        assert "<script>" not in shown
        assert 'href="javascript' not in shown  # the link is refused: its words stay, as text
        assert "<img" not in shown
    assert "<em>ok</em>" in html


# ---------------------------------------------------------------------------- contacts acting


def test_a_contact_opens_and_answers_tickets(client: Client, org: Org) -> None:
    cara = sign_in(client, org.admin, create_contact(client, org.admin, "cara@example.com", "Cara"))
    opened = cara.post("/api/v1/portal/tickets", json={"subject": "Help", "description": "It broke"})
    assert opened.status_code == 201, opened.text
    number = opened.json()["ticketNumber"]
    member_view = client.get(f"/api/v1/tickets/{number}", headers=org.admin.headers).json()
    assert (member_view["source"], member_view["contactEmail"]) == ("portal", "cara@example.com")

    replied = cara.post(f"/api/v1/portal/tickets/{number}/messages", json={"content": "More details"})
    assert replied.status_code == 201
    thread = client.get(f"/api/v1/tickets/{number}/messages", headers=org.admin.headers).json()["items"]
    assert [(m["authorType"], m["content"]) for m in thread] == [("contact", "More details")]
    # A contact's message is not a first response.
    assert (
        client.get(f"/api/v1/tickets/{number}", headers=org.admin.headers).json()["firstResponseAt"] is None
    )

    page = cara.form(
        "/portal/new", {"subject": "From the page", "description": "Typed in a form"}, multipart=True
    )
    assert page.status_code == 200  # followed to the new ticket's page
    assert "From the page" in page.text
    empty = cara.form("/portal/new", {"subject": " ", "description": "x"}, multipart=True)
    assert empty.status_code == 422
    assert "Give your request a subject" in empty.text


def test_contact_replies_move_the_ticket(client: Client, org: Org) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, ticket["contactId"])
    for before, after in (("pending", "open"), ("resolved", "open"), ("on_hold", "on_hold")):
        set_status(client, org, ticket["id"], before)
        assert (
            cara.post("/api/v1/portal/tickets/1/messages", json={"content": f"re {before}"}).status_code
            == 201
        )
        assert status_of(client, org, ticket["id"]) == after

    set_status(client, org, ticket["id"], "closed")
    followed = cara.post("/api/v1/portal/tickets/1/messages", json={"content": "It is back"})
    assert followed.status_code == 201
    assert followed.json()["ticketNumber"] == 2
    follow_up = client.get("/api/v1/tickets/2", headers=org.admin.headers).json()
    assert (follow_up["followUpOf"], follow_up["description"]) == (ticket["id"], "It is back")
    assert status_of(client, org, ticket["id"]) == "closed"


def test_a_contact_resolves_and_reopens_within_the_window(client: Client, org: Org) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, ticket["contactId"])
    assert cara.post("/api/v1/portal/tickets/1/reopen").status_code == 409  # not resolved
    assert cara.post("/api/v1/portal/tickets/1/resolve").json()["status"] == "resolved"
    assert cara.post("/api/v1/portal/tickets/1/resolve").status_code == 409
    assert cara.form("/portal/tickets/1/reopen", {}).status_code == 200
    assert status_of(client, org, ticket["id"]) == "open"


# ---------------------------------------------------------------------------- the push-back window


def close_due(services: Services) -> None:
    assert services.read_side is not None
    services.read_side.catch_up_all()
    Follower(services.read_side).run_policies()


def closes(client: Client, org: Org, ticket_id: str) -> list[Any]:
    items = client.get(f"/api/v1/tickets/{ticket_id}/activities", headers=org.admin.headers).json()["items"]
    return [a for a in items if a["type"] == "status_changed" and a["newValue"] == "closed"]


def test_resolved_tickets_close_after_the_window_exactly_once(
    client: Client, org: Org, services: Services, clock: ManualClock
) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    set_status(client, org, ticket["id"], "resolved")
    clock.advance(days=6, hours=23)
    close_due(services)
    assert status_of(client, org, ticket["id"]) == "resolved"
    clock.advance(hours=1)
    close_due(services)
    close_due(services)
    assert status_of(client, org, ticket["id"]) == "closed"
    (closed,) = closes(client, org, ticket["id"])
    assert closed["actorId"] is None


def test_the_window_is_an_org_setting_and_a_reply_within_it_reopens(
    client: Client, org: Org, services: Services, clock: ManualClock
) -> None:
    viewer = org.add_member("viewer")
    assert (
        client.patch("/api/v1/org", json={"autoCloseAfterDays": 2}, headers=viewer.headers).status_code == 403
    )
    assert (
        client.patch("/api/v1/org", json={"autoCloseAfterDays": 0}, headers=org.admin.headers).status_code
        == 400
    )
    changed = client.patch("/api/v1/org", json={"autoCloseAfterDays": 2}, headers=org.admin.headers)
    assert changed.json()["autoCloseAfterDays"] == 2
    assert client.get("/api/v1/org", headers=viewer.headers).json()["autoCloseAfterDays"] == 2

    pushed, quiet = new_ticket(client, org, "cara@example.com"), new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, pushed["contactId"])
    for ticket in (pushed, quiet):
        set_status(client, org, ticket["id"], "resolved")
    clock.advance(days=1)
    assert cara.post("/api/v1/portal/tickets/1/messages", json={"content": "Not fixed"}).status_code == 201
    clock.advance(days=1)
    close_due(services)
    assert (status_of(client, org, pushed["id"]), status_of(client, org, quiet["id"])) == ("open", "closed")
    # After the window, a reply to the closed ticket opens a follow-up.
    assert (
        cara.post("/api/v1/portal/tickets/2/messages", json={"content": "Again"}).json()["ticketNumber"] == 3
    )


def test_a_reply_after_the_window_closes_and_follows_up_even_before_the_closer_ran(
    client: Client, org: Org, clock: ManualClock
) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, ticket["contactId"])
    set_status(client, org, ticket["id"], "resolved")
    clock.advance(days=8)
    assert cara.post("/api/v1/portal/tickets/1/reopen").status_code == 409
    followed = cara.post("/api/v1/portal/tickets/1/messages", json={"content": "Still broken"})
    assert followed.json()["ticketNumber"] == 2
    assert status_of(client, org, ticket["id"]) == "closed"
    assert len(closes(client, org, ticket["id"])) == 1


# ---------------------------------------------------------------------------- attachments


def upload(client: Client, org: Org, ticket_id: str, name: str, data: bytes) -> str:
    sent = client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        files={"file": (name, data, "text/plain")},
        headers=org.admin.headers,
    )
    assert sent.status_code == 201, sent.text
    attachment_id: str = sent.json()[0]["id"]
    return attachment_id


def test_contacts_download_files_of_public_messages_only(client: Client, org: Org) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    public = upload(client, org, ticket["id"], "invoice.txt", b"public bytes")
    secret = upload(client, org, ticket["id"], "notes.txt", b"SECRET bytes")
    client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"content": "Here it is", "attachmentIds": [public]},
        headers=org.admin.headers,
    )
    client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"content": "SECRET note", "isInternalNote": True, "attachmentIds": [secret]},
        headers=org.admin.headers,
    )
    cara = sign_in(client, org.admin, ticket["contactId"])
    dan = sign_in(client, org.admin, create_contact(client, org.admin, "dan@example.com"))

    (message,) = cara.get("/api/v1/portal/tickets/1").json()["messages"]
    (listed,) = message["attachments"]
    assert (listed["id"], listed["filename"], listed["url"]) == (
        public,
        "invoice.txt",
        f"/portal/attachments/{public}",
    )
    downloaded = cara.get(listed["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == b"public bytes"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert cara.get(listed["url"], headers={"Range": "bytes=0-5"}).content == b"public"
    assert "invoice.txt" in cara.get("/portal/tickets/1").text

    assert cara.get(f"/portal/attachments/{secret}").status_code == 404
    assert dan.get(listed["url"]).status_code == 404
    client.cookies = httpx.Cookies()
    assert client.get(listed["url"], headers=org.admin.headers).status_code == 401
    for body in (cara.get("/api/v1/portal/tickets/1").text, cara.get("/portal/tickets/1").text):
        assert "notes.txt" not in body
        assert secret not in body

    client.delete(f"/api/v1/tickets/{ticket['id']}/messages/{message['id']}", headers=org.admin.headers)
    assert cara.get(listed["url"]).status_code == 404


def test_a_contact_sends_files_with_replies_and_new_tickets(client: Client, org: Org) -> None:
    ticket = new_ticket(client, org, "cara@example.com")
    cara = sign_in(client, org.admin, ticket["contactId"])
    cara.client.cookies = cara.cookies
    replied = cara.client.post(
        "/portal/tickets/1/reply",
        data={"content": "Log attached", "csrf_token": cara.csrf},
        files=[
            ("files", ("log.txt", b"line 1\nline 2\n", "text/plain")),
            ("files", ("", b"", "application/octet-stream")),
        ],
    )
    assert replied.status_code == 200, replied.text
    thread = client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=org.admin.headers).json()["items"]
    assert [(m["authorType"], [a["filename"] for a in m["attachments"]]) for m in thread] == [
        ("contact", ["log.txt"])
    ]
    member_copy = client.get(
        f"/api/v1/attachments/{thread[0]['attachments'][0]['id']}", headers=org.admin.headers
    )
    assert member_copy.content == b"line 1\nline 2\n"

    cara.client.cookies = cara.cookies
    refused = cara.client.post(
        "/portal/tickets/1/reply",
        data={"content": "A program", "csrf_token": cara.csrf},
        files=[("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream"))],
    )
    assert refused.status_code == 415
    assert (
        len(client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=org.admin.headers).json()["items"])
        == 1
    )

    cara.client.cookies = cara.cookies
    opened = cara.client.post(
        "/portal/new",
        data={"subject": "Screenshot", "description": "See the picture", "csrf_token": cara.csrf},
        files=[("files", ("screen.png", b"\x89PNG\r\n\x1a\n0000", "image/png"))],
    )
    assert opened.status_code == 200
    first = cara.get("/api/v1/portal/tickets/2").json()["messages"][0]
    assert (first["authorType"], [a["filename"] for a in first["attachments"]]) == ("contact", ["screen.png"])
