"""The docs UI renders with no network but this server, and "Authorize" with a bearer token works.

Headless Debian Chromium through Playwright; every request that is not to 127.0.0.1 is aborted
(and recorded, so the test also proves the page asks for nothing outside).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.live_server import serving
from tickets.api.app import create_app
from tickets.bootstrap import build_services
from tickets.infrastructure.settings import Settings

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live server on a fresh SQLite file, and an admin token of its one org."""
    database = tmp_path_factory.mktemp("docs-server") / "tickets.db"
    services = build_services(Settings(f"sqlite:///{database}"))
    created = services.directory.create_org("docs", "Docs Org", "ada@docs.test", "Ada")
    try:
        with serving(create_app(services)) as url:
            yield url, created.token
    finally:
        services.app.close()


def offline_page(browser: Browser) -> tuple[Page, list[str]]:
    """A page whose requests outside 127.0.0.1 fail; the list collects the ones it tried."""
    page = browser.new_page()
    blocked: list[str] = []

    def only_localhost(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_localhost)
    return page, blocked


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_docs_ui_renders_offline(browser: Browser, docs_server: tuple[str, str], path: str) -> None:
    url, _ = docs_server
    page, blocked = offline_page(browser)
    try:
        page.goto(url + path)
        page.wait_for_selector(".opblock", timeout=20_000)
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/tickets" in [s.replace("\u200b", "") for s in summaries]
        assert page.locator(".opblock").count() >= 30
        assert page.locator("text=Unable to render this definition").count() == 0
        assert blocked == []
    finally:
        page.close()


def test_authorize_with_a_bearer_token_sends_it(browser: Browser, docs_server: tuple[str, str]) -> None:
    url, token = docs_server
    page, blocked = offline_page(browser)
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: sent.append(request.headers) if request.url.endswith("/api/v1/me") else None,
    )
    try:
        page.goto(url + "/schema")
        page.wait_for_selector(".opblock", timeout=20_000)
        page.click("button.authorize")
        page.fill(".auth-container input[type=text], .auth-container input[type=password]", token)
        page.click(".auth-btn-wrapper button.authorize")
        page.click(".auth-btn-wrapper button.btn-done")

        operation = page.locator("#operations-identity-ApiV1MeMe")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=20_000)
        assert status.inner_text().strip().startswith("200")
        assert sent and sent[-1].get("authorization") == f"Bearer {token}"
        assert (
            "Docs Org"
            in operation.locator(".live-responses-table tbody .response-col_description").inner_text()
        )
        assert blocked == []
    finally:
        page.close()
