"""A real headless Chromium (Debian's) driving contactd's pages through Playwright.

One browser per session; each test gets a fresh context (its own cookies and
sessionStorage) pointed at its own live server. Every Playwright timeout is
scaled by ``UNIT``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Error, Page, async_playwright, expect

from tests.conftest import LiveServer
from tests.helpers import UNIT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The softphone: a fake microphone (Chromium's beep) used without a permission prompt, and
    # WebRTC host candidates on 127.0.0.1 (the test servers' only sure address).
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
TIMEOUT_MS = 5_000 * UNIT

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium; a missing browser fails the tests (a skipped browser test would pass CI unseen)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's `chromium` on PATH"
            " (apt-get install chromium). Do not run `playwright install`.",
            pytrace=False,
        )
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def context(browser: Browser, server: LiveServer) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile on this test's server (closed before the server stops)."""
    ctx = await browser.new_context(base_url=server.base, locale="en-GB", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext, artifacts: Path, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A tab; an uncaught script error fails the test, and a failed test leaves a screenshot."""
    tab = await context.new_page()
    script_errors: list[str] = []
    tab.on("pageerror", lambda error: script_errors.append(str(error)))
    yield tab
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        try:
            await tab.screenshot(path=artifacts / f"failed-{request.node.name}.png", full_page=True)
        except Error:
            pass  # the page may already be gone; the test's own failure is what matters
    assert not script_errors, f"uncaught script errors on the page: {script_errors}"
