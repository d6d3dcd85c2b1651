"""What a person does on the staff pages, written once for the browser tests."""

from __future__ import annotations

import time

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Locator, Page, expect

from tests.helpers import PASSWORD, UNIT


async def sign_in(page: Page, path: str, username: str, password: str = PASSWORD) -> None:
    """Open ``path`` and sign in with the keyboard only: type, Tab, type, Enter."""
    await page.goto(path)
    await expect(page.locator("form#login-form")).to_be_visible()
    await page.locator("#username").focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await expect(page.locator("#password")).to_be_focused()
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def seconds_until(page: Page, script: str, since: float, limit_s: float) -> float:
    """Seconds from ``since`` (time.monotonic) until ``script`` (a JS expression) is true, polled every 20 ms."""
    await page.wait_for_function(f"() => {script}", polling=20, timeout=limit_s * 1000 * UNIT)
    return time.monotonic() - since


async def sign_in_available(page: Page, username: str = "agent1", name: str = "Alex Morgan") -> None:
    """Sign in to the agent console and set yourself Available."""
    await sign_in(page, "/console/", username)
    await expect(page.locator("main#console")).to_be_visible()
    await expect(page.locator("#agent-name")).to_have_text(name)
    await page.locator("#status-select").select_option("available")
    await expect(page.locator("#status-text")).to_have_text("Available", timeout=15_000)  # a busy CI machine


def offer_card(page: Page, cid: str) -> Locator:
    return page.locator(f'[data-testid="offer"][data-conversation-id="{cid}"]')


def panel_of(page: Page, cid: str) -> Locator:
    return page.locator(f'[data-testid="conversation"][data-conversation-id="{cid}"]')


async def assert_accessible(page: Page, state: str) -> None:
    """axe-core finds nothing wrong with the page as it is now; ``state`` names it in a failure, which lists
    each rule broken, why it matters, and the elements that break it."""
    found = (await Axe().run(page)).response["violations"]
    lines = []
    for rule in found:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']} ({rule['helpUrl']})")
        lines += [f"    {node['target']}: {node.get('failureSummary', '')}" for node in rule["nodes"]]
    assert not found, f"axe-core: {len(found)} accessibility violations {state}:\n" + "\n".join(lines)
