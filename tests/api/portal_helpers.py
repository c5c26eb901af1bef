"""Signing a contact in to the portal in API tests: a link issued by an agent, opened and spent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from litestar.testing import TestClient

from tests.conftest import Member

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class SignedIn:
    """A contact's browser: its own cookie jar (put on the shared client for each request); `csrf`
    goes with every JSON write."""

    client: TestClient[Any]
    contact_id: str
    csrf: str
    cookies: httpx.Cookies

    def get(self, path: str, **kwargs: Any) -> Any:
        self.client.cookies = self.cookies
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        self.client.cookies = self.cookies
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)

    def form(self, path: str, fields: dict[str, str], multipart: bool = False, **kwargs: Any) -> Any:
        """Submit a page's form as a browser does, with the CSRF field the page carries
        (`multipart`: a form with a file input, sent as multipart/form-data)."""
        self.client.cookies = self.cookies
        values = {"csrf_token": self.csrf, **fields}
        if multipart:
            return self.client.post(path, files={k: (None, v) for k, v in values.items()}, **kwargs)
        return self.client.post(path, data=values, **kwargs)


def create_contact(client: TestClient[Any], member: Member, email: str, name: str = "Cara Contact") -> str:
    created = client.post("/api/v1/contacts", json={"email": email, "name": name}, headers=member.headers)
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    return contact_id


def issue_link(client: TestClient[Any], member: Member, contact_id: str) -> str:
    issued = client.post(f"/api/v1/contacts/{contact_id}/portal-links", headers=member.headers)
    assert issued.status_code == 201, issued.text
    return urlparse(issued.json()["url"]).path


def open_link(client: TestClient[Any], path: str) -> Any:
    """Open a sign-in link as a browser does: the page, then its button."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    return client.post(path, data={"csrf_token": token.group(1)}, follow_redirects=False)


def sign_in(client: TestClient[Any], member: Member, contact_id: str) -> SignedIn:
    """The contact signs in with a fresh link, in a browser of its own (a new cookie jar)."""
    link = issue_link(client, member, contact_id)
    client.cookies = httpx.Cookies()
    spent = open_link(client, link)
    assert spent.status_code == 303, spent.text
    session = client.get("/api/v1/portal/session")
    assert session.status_code == 200, session.text
    browser = SignedIn(client, contact_id, session.json()["csrfToken"], client.cookies)
    client.cookies = httpx.Cookies()
    return browser
