"""`pfai contact` and `pfai portal-link`: contacts by e-mail, and a sign-in link that opens the portal."""

from __future__ import annotations

import re

import httpx

from tests.cli.conftest import Pfai, ok, ok_json


def test_contacts_are_created_found_by_email_and_renamed(pfai: Pfai) -> None:
    assert re.match(
        r"Created contact cara@example\.com \([0-9a-f-]{36}\)\.",
        ok(pfai("contact", "create", "Cara@Example.com", "--name", "Cara")),
    )
    ok(pfai("contact", "create", "bob@example.com", "--name", "Bob Builder"))
    table = ok(pfai("contact", "ls")).splitlines()
    assert table[0].split() == ["ID", "EMAIL", "NAME", "SINCE"]
    assert [line.split()[1] for line in table[1:]] == ["bob@example.com", "cara@example.com"]
    assert ok_json(pfai("contact", "ls", "--search", "build", "--query", "[].name")) == ["Bob Builder"]

    assert ok(pfai("contact", "update", "CARA@example.com", "--name", "Cara Jones")) == (
        "Renamed contact cara@example.com to Cara Jones.\n"
    )
    assert ok_json(pfai("contact", "view", "cara@example.com", "--json", "name")) == {"name": "Cara Jones"}
    again = pfai("contact", "create", "cara@example.com", "--name", "Other")
    assert again.exit_code == 1
    assert "exists" in again.stderr
    missing = pfai("contact", "view", "nobody@example.com")
    assert missing.exit_code == 1
    assert "no contact 'nobody@example.com'" in missing.stderr


def test_a_portal_link_signs_the_contact_in(pfai: Pfai) -> None:
    ok(pfai("contact", "create", "cara@example.com", "--name", "Cara"))
    printed = ok(pfai("portal-link", "cara@example.com"))
    url = printed.splitlines()[0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/portal/sign-in/[\w-]+", url)
    assert "single use" in printed
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed_in = browser.post(url, data={"csrf_token": token.group(1)}, follow_redirects=True)
        assert signed_in.status_code == 200
        assert "My tickets" in signed_in.text
