"""The portal in a real browser: a contact signs in with a link, works a ticket, and an agent answers.

Headless Debian Chromium through Playwright, against a live server on PostgreSQL-free SQLite (the
store does not matter here; the API tests run both). With PORTAL_SCREENSHOTS=<dir> (`make
screenshots`), the pages are also saved there as the PNGs docs/portal.md shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.docs.test_docs_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.live_server import serving
from tickets.api.app import create_app
from tickets.bootstrap import build_services
from tickets.infrastructure.settings import Settings


@pytest.fixture
def portal_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A live server on a fresh SQLite file, and an admin token of its one org."""
    services = build_services(Settings(f"sqlite:///{tmp_path / 'tickets.db'}"))
    created = services.directory.create_org("acme", "Acme Inc", "ada@acme.test", "Ada Admin")
    try:
        with serving(create_app(services)) as url:
            yield url, created.token
    finally:
        services.app.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("PORTAL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_contact_works_a_ticket_in_the_browser(browser: Browser, portal_server: tuple[str, str]) -> None:  # noqa: F811
    url, token = portal_server
    agent = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    contact = agent.post("/api/v1/contacts", json={"email": "cara@example.com", "name": "Cara Jones"}).json()
    ticket = agent.post(
        "/api/v1/tickets",
        json={
            "subject": "The printer is on fire",
            "description": "It started **this morning**.\n\n- smoke\n- beeping",
            "contactEmail": "cara@example.com",
        },
    ).json()
    agent.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"content": "Sorry to hear! Is it unplugged?"}
    )
    agent.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"content": "INTERNAL: customer is on the legacy plan", "isInternalNote": True},
    )
    link = agent.post(f"/api/v1/contacts/{contact['id']}/portal-links").json()["url"]

    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(link)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    expect(page.get_by_role("link", name="The printer is on fire")).to_be_visible()
    expect(page.get_by_role("link", name="Acme Inc")).to_be_visible()
    screenshot(page, "portal-tickets")

    page.get_by_role("link", name="The printer is on fire").click()
    expect(page.get_by_text("Sorry to hear! Is it unplugged?")).to_be_visible()
    expect(page.locator("strong", has_text="this morning")).to_be_visible()  # Markdown rendered
    assert "INTERNAL" not in page.content()

    page.get_by_label("Your reply").fill("Yes, unplugged. Still smoking.")
    page.get_by_label("Attach files").set_input_files(
        files=[
            {"name": "smoke-log.txt", "mimeType": "text/plain", "buffer": b"12:00 smoke\n12:05 more smoke\n"}
        ]
    )
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Yes, unplugged. Still smoking.")).to_be_visible()
    expect(page.get_by_role("link", name="smoke-log.txt")).to_be_visible()
    thread = agent.get(f"/api/v1/tickets/{ticket['id']}/messages").json()["items"]
    (sent,) = [m for m in thread if m["authorType"] == "contact"]
    file_id = sent["attachments"][0]["id"]
    assert agent.get(f"/api/v1/attachments/{file_id}").content == b"12:00 smoke\n12:05 more smoke\n"
    with page.expect_download() as download:
        page.get_by_role("link", name="smoke-log.txt").click()
    assert download.value.suggested_filename == "smoke-log.txt"

    # An agent answers publicly and adds another note; the contact sees the answer only.
    agent.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"content": "A technician is on the way."})
    agent.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"content": "INTERNAL: bill them for the visit", "isInternalNote": True},
    )
    page.reload()
    expect(page.get_by_text("A technician is on the way.")).to_be_visible()
    assert "INTERNAL" not in page.content()
    screenshot(page, "portal-ticket")

    page.get_by_role("button", name="This is solved").click()
    expect(page.locator(".status").first).to_have_text("resolved")
    assert agent.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "resolved"
    page.get_by_role("button", name="Still not working").click()
    expect(page.locator(".status").first).to_have_text("open")
    assert agent.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "open"

    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Subject").fill("Second printer")
    page.get_by_label("What happened?").fill("This one beeps too.")
    screenshot(page, "portal-new")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="#2 Second printer")).to_be_visible()
    created: Any = agent.get("/api/v1/tickets/2").json()
    assert (created["source"], created["contactEmail"]) == ("portal", "cara@example.com")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to your support requests")).to_be_visible()
    page.goto(f"{url}/portal")
    expect(page.get_by_role("heading", name="Sign in to your support requests")).to_be_visible()
    page.close()
