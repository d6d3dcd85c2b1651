"""What a person does on the staff pages, written once for the browser tests."""

from __future__ import annotations

import json
import re
import time

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Locator, Page, WebSocketRoute, expect

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


class HeldFrames:
    """The console's /ws/agent socket passed through as it is, except that frames of type ``kind`` wait
    while ``holding`` (so a test sees the console before they arrive, e.g. a reply before Twilio took it)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.holding = False
        self.held: list[str | bytes] = []
        self.console: WebSocketRoute | None = None

    async def route(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/ws/agent$"), self._connect)

    def _connect(self, console: WebSocketRoute) -> None:
        self.console = console
        console.connect_to_server().on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        assert self.console is not None
        if self.holding and json.loads(message).get("type") == self.kind:
            self.held.append(message)
        else:
            self.console.send(message)

    def release(self) -> None:
        assert self.console is not None
        self.holding = False
        for message in self.held:
            self.console.send(message)
        self.held.clear()
