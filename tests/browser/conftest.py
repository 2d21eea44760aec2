"""Browser fixtures: one headless Debian Chromium per module, a fresh context per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.support import CHROMIUM, DESKTOP, launch
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module")
def browser(server: OpenlineServer) -> Iterator[Browser]:
    """Depends on the server so that it closes first (open event streams end with it)."""
    if not Path(CHROMIUM).exists():  # scripts/test installs Debian's chromium package
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does)")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def receiver(server: OpenlineServer) -> Iterator[WebhookReceiver]:
    app = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    yield app
    app.stop()
