"""The queue board as a supervisor uses it, keyboard only: filters, setting advisers away, steering who
waits, reports, an adviser's timeline, monitoring a chat, and the page at 200% zoom; axe-core finds
nothing wrong in each state."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.pages import assert_accessible, sign_in
from tests.conftest import LiveServer
from tests.helpers import Client, login, typed

pytestmark = pytest.mark.browser

DASH = "\u2013"  # what the board shows for none or not known


async def open_board(page: Page, path: str = "/board/") -> None:
    await sign_in(page, path, "supervisor")
    await expect(page.locator("main#board")).to_be_visible()
    await expect(page.locator("#board-updated")).to_have_text(re.compile(r"^Updated \d\d:\d\d:\d\d$"))


def queue_row(page: Page, name: str) -> Locator:
    return page.locator(f'#queues-table tr[data-queue="{name}"]')


def adviser_row(page: Page, name: str) -> Locator:
    return page.locator("#agents-table tr[data-agent-id]", has=page.locator('[data-field="name"]', has_text=name))


async def press(page: Page, target: Locator) -> None:
    """Move keyboard focus to ``target`` and press Enter, as a keyboard user would."""
    await target.focus()
    await expect(target).to_be_focused()
    await page.keyboard.press("Enter")


async def finish_chat(agent: Client, citizen: Client, cid: str) -> None:
    """The adviser answers and closes a chat the citizen started, and wraps it up."""
    await agent.take(cid)
    await agent.send({"type": "message", "conversation_id": cid, "id": f"a-{cid}", "text": "Hello, how can I help?"})
    await citizen.expect(typed("message", text="Hello, how can I help?"))
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await citizen.expect(typed("chat.ended"))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})


async def test_a_supervisor_filters_the_board_by_queue_and_channel(server: LiveServer, page: Page) -> None:
    await server.citizen("benefits", "Ann")  # nobody serving benefits is signed in: Ann waits
    await open_board(page)
    await expect(page.locator("#queues-table tr[data-queue]")).to_have_count(4)
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("1")
    # Nobody serving benefits is available, so no wait can be estimated.
    await expect(page.locator("#queues-table thead th", has_text="Estimated wait")).to_be_visible()
    await expect(queue_row(page, "benefits").locator('[data-field="estimated_wait_s"]')).to_have_text(DASH)

    await page.get_by_label("Queue", exact=True).select_option("benefits")
    await page.get_by_label("Channel", exact=True).select_option("chat")
    await press(page, page.get_by_role("button", name="Apply filters"))
    await expect(page.locator("#queues-table tr[data-queue]")).to_have_count(1)
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("1")
    await expect(page.locator("#queues-caption")).to_contain_text("Queues: chats only")
    await expect(page.locator("#filters-status")).to_have_text("Showing Benefits, chats only.")
    assert re.search(r"\?queue=benefits&channel=chat$", page.url), page.url
    await assert_accessible(page, "with the board filtered to one queue and channel")

    # Texts: Ann is a chat, so nobody waits by text and nothing was offered.
    await page.get_by_label("Channel", exact=True).select_option("sms")
    await press(page, page.get_by_role("button", name="Apply filters"))
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("0")
    await expect(queue_row(page, "benefits").locator('[data-field="offered"]')).to_have_text("0")
    await expect(page.locator("#queues-caption")).to_contain_text("Queues: texts only")

    # The choice is in the address: a reload (or a shared link) shows the same board.
    await page.reload()
    await expect(page.locator("main#board")).to_be_visible()
    await expect(page.get_by_label("Queue", exact=True)).to_have_value("benefits")
    await expect(page.get_by_label("Channel", exact=True)).to_have_value("sms")
    await expect(page.locator("#queues-table tr[data-queue]")).to_have_count(1)
    await page.go_back()  # Back undoes the last change of filter
    await expect(page.get_by_label("Channel", exact=True)).to_have_value("chat")
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("1")

    await press(page, page.get_by_role("button", name="Clear filters"))
    await expect(page.locator("#queues-table tr[data-queue]")).to_have_count(4)
    assert "?" not in page.url, page.url


async def test_a_supervisor_sets_an_adviser_away_and_is_told_when_one_has_no_console(
    server: LiveServer, page: Page
) -> None:
    alex = await server.agent("agent1")
    await open_board(page)
    row = adviser_row(page, "Alex Morgan")
    await expect(row.locator('[data-field="status"]')).to_have_text("Available")
    await expect(row.locator('[data-field="workload"]')).to_contain_text("Chats: 0 of 3")
    await expect(row.locator('[data-field="handled_today"]')).to_have_text("0")

    await press(page, row.get_by_role("button", name="Set away (Alex Morgan)"))
    reason = row.get_by_label("Why is Alex Morgan away?")
    await expect(reason).to_be_focused()
    await page.keyboard.press("Enter")  # no reason yet
    error = row.locator(".error-message")
    await expect(error).to_have_text("Error: Enter why the adviser is away, for example training")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_be_focused()
    await assert_accessible(page, "with the away form showing its error")

    await page.keyboard.type("Training")
    await page.keyboard.press("Enter")
    state = await alex.expect(typed("agent.state", status="away"))
    assert state["reason"] == "set by Sam Taylor: Training"
    await expect(row.locator('[data-field="status"]')).to_contain_text("Away")
    await expect(row.locator("form.away-form")).to_have_count(0)
    await expect(row.get_by_role("button", name="Set away (Alex Morgan)")).to_be_focused()
    await expect(page.locator("#board-announcer")).to_contain_text("Alex Morgan is now away: Training.")

    # Chris has no console open: only he can make himself available, and the board says so.
    chris = adviser_row(page, "Chris Patel")
    await expect(chris.locator('[data-field="status"]')).to_have_text("Offline")
    await press(page, chris.get_by_role("button", name="Set available (Chris Patel)"))
    problem = page.locator("#agents-error")
    await expect(problem).to_have_attribute("role", "alert")
    await expect(problem).to_contain_text("There is a problem")
    await expect(problem).to_contain_text("Chris Patel could not be set available. That adviser has no console open")
    await expect(chris.locator('[data-field="status"]')).to_have_text("Offline")
    await assert_accessible(page, "with the no-console error showing")

    # Alex's console is open, so he can be made available again.
    await press(page, row.get_by_role("button", name="Set available (Alex Morgan)"))
    await alex.expect(typed("agent.state", status="available"))
    await expect(row.locator('[data-field="status"]')).to_have_text("Available")
    await expect(problem).to_be_empty()


async def test_a_supervisor_moves_a_waiting_citizen_and_puts_another_first(server: LiveServer, page: Page) -> None:
    ann, _ = await server.citizen("benefits", "Ann")  # nobody serving benefits is signed in
    await server.citizen("benefits", "Bo", "cy")
    _, cai = await server.citizen("benefits", "Cai")
    await open_board(page)
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("3")

    await press(page, queue_row(page, "benefits").get_by_role("button", name="Show who is waiting in Benefits"))
    panel = page.locator("#waiting")
    await expect(page.locator("#waiting-heading")).to_be_focused()
    await expect(page.locator("#waiting-heading")).to_have_text("Who is waiting in Benefits")
    cards = panel.locator("li.contact-card")
    await expect(cards.locator("h3")).to_have_text(["1. Ann", "2. Bo", "3. Cai"])
    bo = cards.filter(has_text="Bo")
    await expect(bo.locator('[data-field="language"]')).to_have_text("Welsh")
    await expect(bo.locator('[data-field="channel"]')).to_have_text("Chat")
    await assert_accessible(page, "with the waiting list open")

    # Ann moves to council tax: she is told, and the board counts her there.
    first = cards.filter(has_text="Ann")
    await first.get_by_label("Move to queue (Ann)").select_option("council-tax")
    await press(page, first.get_by_role("button", name="Move Ann"))
    assert (await ann.expect(typed("chat.transferred")))["queue"] == "council-tax"
    await expect(queue_row(page, "council-tax").locator('[data-field="waiting"]')).to_have_text("1")
    await expect(queue_row(page, "benefits").locator('[data-field="waiting"]')).to_have_text("2")
    await expect(cards.locator("h3")).to_have_text(["1. Bo", "2. Cai"])
    await expect(page.locator("#waiting-heading")).to_be_focused()  # her card went; focus is not lost
    await expect(page.locator("#board-announcer")).to_contain_text("Ann moved to Council Tax.")

    # A priority out of range is explained, with a link to the field.
    last = cards.filter(has_text="Cai")
    priority = last.get_by_label("Change priority (Cai)")
    await priority.fill("1000")
    await press(page, last.get_by_role("button", name="Change priority of Cai"))
    problem = page.locator("#waiting-error")
    await expect(problem).to_contain_text("Enter a priority from 0 to 999, as a whole number")
    await expect(priority).to_have_attribute("aria-invalid", "true")
    await expect(priority).to_be_focused()
    await assert_accessible(page, "with a priority error in the waiting list")

    # Cai's priority raised: he goes first in line, as the service now has it.
    await priority.fill("500")
    await page.keyboard.press("Enter")
    await expect(cards.locator("h3")).to_have_text(["1. Cai", "2. Bo"])
    await expect(last.locator('[data-field="priority"]')).to_have_text("500")
    await expect(problem).to_be_empty()
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "supervisor")
        listed = (await web.get("/api/queues/benefits/waiting")).json()
    assert (listed["contacts"][0]["name"], listed["contacts"][0]["priority"]) == ("Cai", 500)

    # "Why?" opens Cai's routing receipt.
    await press(page, last.get_by_role("link", name="Why? How Cai has been routed"))
    await expect(page.locator("#receipt-heading")).to_be_focused()
    await expect(page.locator('#receipt [data-field="id"]')).to_have_text(cai["conversation_id"])
    await expect(page.locator('#receipt [data-field="queue"]')).to_have_text("Benefits")


async def test_the_history_chart_and_fairness_tables_show_the_days_chats(server: LiveServer, page: Page) -> None:
    alex = await server.agent("agent1")
    for name, language in (("Ann", "en"), ("Bethan", "cy")):
        citizen, queued = await server.citizen("general", name, language)
        await finish_chat(alex, citizen, queued["conversation_id"])
    await open_board(page)

    wait_chart = page.locator('[data-testid="chart-wait"] svg[role="img"]')
    await expect(wait_chart).to_have_accessible_name("Average wait each hour")
    await expect(wait_chart).to_have_accessible_description(re.compile(r"The longest average wait was \d+:\d\d"))
    # Both chats joined this hour (or, run on the stroke of an hour, this one and the last).
    bars = await wait_chart.locator("rect.chart__bar").count()
    assert bars in (1, 2), f"{bars} bars of average wait for two chats"
    level_chart = page.locator('[data-testid="chart-level"] svg[role="img"]')
    await expect(level_chart).to_have_accessible_name("Service level each hour")
    await expect(level_chart.locator("rect.chart__bar")).to_have_count(bars)

    # The same figures as a table, behind a disclosure opened from the keyboard.
    await press(page, page.locator("#history-body details summary"))
    rows = page.locator("#history-table tbody tr")
    await expect(rows).to_have_count(bars)
    contacts = [int(text) for text in await rows.locator("td:nth-child(2)").all_inner_texts()]
    answered = [int(text) for text in await rows.locator("td:nth-child(3)").all_inner_texts()]
    assert (sum(contacts), sum(answered)) == (2, 2), (contacts, answered)
    await expect(rows.locator('[data-field="service_level"]')).to_have_text(["100%"] * bars)

    csv_link = page.get_by_role("link", name="Download these figures as a spreadsheet (CSV)")
    href = await csv_link.get_attribute("href")
    assert href is not None and "format=csv" in href and "interval=1h" in href, href
    csv = await page.request.get(href)
    assert csv.ok and (await csv.text()).startswith("start,queue,channel,offered,answered"), await csv.text()
    assert (await csv.text()).count(",general,chat,") == bars

    summary = page.locator('[data-testid="fairness-summary"]')
    await expect(summary).to_have_text(
        re.compile(r"^Welsh speakers waited on average \d+:\d\d, against \d+:\d\d for English speakers; 0% gave up")
    )
    welsh = page.locator('#fairness-language tr[data-group="Welsh"]')
    await expect(welsh.locator('[data-field="offered"]')).to_have_text("1")
    await expect(page.locator('#fairness-language tr[data-group="English"] [data-field="answered"]')).to_have_text("1")
    await expect(page.locator('#fairness-channel tr[data-group="Chats"] [data-field="offered"]')).to_have_text("2")
    await assert_accessible(page, "with the history and fairness reports drawn")

    # One bar a day instead of one an hour.
    await page.get_by_label("Each bar covers").select_option("1d")
    await press(page, page.get_by_role("button", name="Show reports"))
    await expect(wait_chart).to_have_accessible_name("Average wait each day")
    await expect(page.locator("#reports-status")).to_have_text("Reports updated.")

    # A last day before the first is refused, with the reason linked to the field.
    await page.get_by_label("To", exact=True).fill("2020-01-01")
    await press(page, page.get_by_role("button", name="Show reports"))
    await expect(page.locator("#reports-error")).to_contain_text(
        "The last day must be the same as or after the first day"
    )
    await expect(page.get_by_label("To", exact=True)).to_be_focused()


async def test_an_advisers_timeline_draws_their_day(server: LiveServer, page: Page) -> None:
    alex = await server.agent("agent1")
    citizen, queued = await server.citizen("general", "Ann")
    await finish_chat(alex, citizen, queued["conversation_id"])
    await alex.send({"type": "agent.status", "status": "away", "reason": "Lunch"})
    await alex.expect(typed("agent.state", status="away"))
    await alex.send({"type": "agent.status", "status": "available"})
    await alex.expect(typed("agent.state", status="available"))
    await open_board(page)

    await press(page, adviser_row(page, "Alex Morgan").get_by_role("button", name="Timeline for Alex Morgan"))
    await expect(page.locator("#timeline-heading")).to_be_focused()
    await expect(page.locator("#timeline-heading")).to_have_text("Timeline for Alex Morgan")
    states = page.locator('[data-testid="timeline-states"] li')
    await expect(states.last).to_contain_text("Available")
    texts = await states.all_inner_texts()
    shown = [re.sub(r"^.*?: (\w+).*$", r"\1", t) for t in texts[-4:]]
    assert shown == ["Offline", "Available", "Away", "Available"], texts
    assert "Away (Lunch)" in texts[-2], texts
    chart = page.locator('[data-testid="timeline-chart"] svg[role="img"]')
    await expect(chart).to_have_accessible_name("States and contacts through the day")
    await expect(chart.locator("rect.timeline-bar--away")).to_have_count(1)
    await expect(chart.locator("rect.timeline-bar--available")).to_have_count(2)
    # Each part is named, not only coloured: in the key, in its tooltip, and on it where it is wide enough.
    await expect(chart.locator("rect.timeline-bar--away > title")).to_have_text(re.compile(r": Away$"))
    labels = await chart.locator("text.timeline-bar__label").all_text_contents()
    assert set(labels) <= {"Offline", "Available", "Away"}, labels
    await expect(page.locator(".timeline-legend li")).to_have_text(["Offline", "Available", "Away"])
    await expect(page.locator('[data-testid="timeline-contacts"] li')).to_have_text(
        [re.compile(r"^Chat, \d\d:\d\d to \d\d:\d\d$")]
    )
    await assert_accessible(page, "with an adviser's timeline drawn")

    await press(page, page.get_by_role("button", name="Close the timeline"))
    await expect(page.locator("#timeline")).to_be_hidden()
    timeline_button = adviser_row(page, "Alex Morgan").get_by_role("button", name="Timeline for Alex Morgan")
    await expect(timeline_button).to_be_focused()


async def test_a_supervisor_monitors_a_live_chat_read_only(server: LiveServer, page: Page) -> None:
    alex = await server.agent("agent1")
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    await alex.take(cid)
    await citizen.send({"type": "message", "id": "c1", "text": "My council tax bill is wrong"})
    await alex.expect(typed("message", conversation_id=cid))
    await open_board(page)

    monitor = adviser_row(page, "Alex Morgan").get_by_role(
        "button", name="Monitor the chat in General enquiries with Alex Morgan"
    )
    await press(page, monitor)
    await expect(page.locator("#monitor-heading")).to_be_focused()
    await expect(page.locator("#monitor-heading")).to_have_text("Monitoring: chat with Alex Morgan")
    log = page.get_by_role("log", name="Monitoring: chat with Alex Morgan")
    await expect(log).to_have_attribute("aria-live", "polite")
    messages = log.locator(".monitor-message")
    await expect(messages).to_have_count(1)
    await expect(messages.first).to_contain_text("Citizen")
    await expect(messages.first).to_contain_text("My council tax bill is wrong")
    await expect(log.locator("input, textarea")).to_have_count(0)  # read only

    await alex.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Let me look"})
    await expect(messages.nth(1)).to_contain_text("Adviser (Alex Morgan)")
    await expect(messages.nth(1)).to_contain_text("Let me look")
    await citizen.send({"type": "message", "id": "c2", "text": "Thank you"})
    await expect(messages.nth(2)).to_contain_text("Thank you")
    await expect(messages).to_have_count(3)
    await expect(page.locator("#monitor-heading")).to_be_focused()  # new messages never move focus
    await assert_accessible(page, "while monitoring a chat")
    assert not any("monitor" in f["type"] for f in citizen.seen), citizen.seen  # the citizen is not told

    await press(page, page.get_by_role("button", name="Stop monitoring"))
    await expect(page.locator("#monitor")).to_be_hidden()
    await expect(monitor).to_be_focused()
    await expect(page.locator("#board-announcer")).to_contain_text("Monitoring stopped.")

    # Watching again until the citizen leaves: the board says the chat has ended.
    await press(page, monitor)
    await expect(messages).to_have_count(3)
    await citizen.send({"type": "chat.end"})
    await expect(page.locator("#monitor-state")).to_have_text("The chat has ended.")
    await expect(page.get_by_role("button", name="Close", exact=True)).to_be_visible()


NO_PAGE_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


async def tab_to(page: Page, target: Locator, most: int) -> int:
    """Press Tab until ``target`` has focus (at most ``most`` times); returns how many presses it took."""
    for presses in range(1, most + 1):
        await page.keyboard.press("Tab")
        if await target.evaluate("(node) => node === document.activeElement"):
            return presses
    raise AssertionError(f"{target} was not reached with {most} presses of Tab")


async def test_at_200_percent_zoom_the_board_reflows_and_works_from_the_keyboard(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    alex = await server.agent("agent1")
    citizen, queued = await server.citizen("general", "Ann")
    await alex.take(queued["conversation_id"])
    await citizen.send({"type": "message", "id": "c1", "text": "Hello"})
    await server.citizen("welsh", "Bo", "cy")  # only Bethan serves it, and she is away
    await server.agent("agent2", status="away")
    # 1280 px at 200% zoom is 640 CSS px: what WCAG 1.4.10 (reflow) asks a page to fit.
    await page.set_viewport_size({"width": 640, "height": 400})
    await open_board(page)
    await expect(queue_row(page, "welsh").locator('[data-field="waiting"]')).to_have_text("1")
    await page.wait_for_function(NO_PAGE_SCROLL)

    queue_filter = page.get_by_label("Queue", exact=True)
    await tab_to(page, queue_filter, most=15)
    await expect(queue_filter).to_be_in_viewport()
    set_away = adviser_row(page, "Alex Morgan").get_by_role("button", name="Set away (Alex Morgan)")
    await tab_to(page, set_away, most=80)
    await expect(set_away).to_be_in_viewport()
    await page.keyboard.press("Enter")
    reason = page.get_by_label("Why is Alex Morgan away?")
    await expect(reason).to_be_focused()
    await expect(reason).to_be_in_viewport()
    await page.keyboard.press("Escape")
    await expect(set_away).to_be_focused()

    show = queue_row(page, "welsh").get_by_role("button", name="Show who is waiting in Welsh language service")
    await show.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#waiting li.contact-card")).to_have_count(1)
    move = page.get_by_label("Move to queue (Bo)")
    await tab_to(page, move, most=5)
    await expect(move).to_be_in_viewport()
    assert await page.evaluate(NO_PAGE_SCROLL), "the page scrolls sideways at 640 CSS px with the waiting list open"
    await assert_accessible(page, "at 200% zoom (640 CSS px) with the waiting list open")
    await page.screenshot(path=artifacts / "board-supervisor-200pc.png", full_page=True)

    await page.set_viewport_size({"width": 1280, "height": 900})
    await press(page, adviser_row(page, "Alex Morgan").get_by_role("button", name=re.compile(r"^Monitor the chat")))
    await expect(page.locator("#monitor-log .monitor-message")).to_have_count(1)
    await press(page, adviser_row(page, "Alex Morgan").get_by_role("button", name="Timeline for Alex Morgan"))
    await expect(page.locator('[data-testid="timeline-chart"] svg')).to_be_visible()
    await page.screenshot(path=artifacts / "board-supervisor.png", full_page=True)


async def test_joining_a_call_listens_without_a_microphone_and_whispers_with_one(
    server: LiveServer, page: Page
) -> None:
    """The board's side of call monitoring, on its own (the audio itself is tested with aiortc peers):
    listen offers to receive only; whisper needs the microphone, so a new offer; barge then is a mode change."""
    await open_board(page)
    frames = await page.evaluate(
        """async () => {
          const { createVoiceMonitor } = await import('/board/voice-monitor.js');
          const sent = [];
          const events = [];
          const opened = [];
          const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
          navigator.mediaDevices.getUserMedia = (c) => { opened.push(c); return original(c); };
          const call = createVoiceMonitor({
            id: 'c-1', send: (f) => { sent.push(f); return true; }, audio: new Audio(),
            onEvent: (name, detail) => events.push([name, detail ?? null]),
          });
          await call.setMode('listen');
          const afterListen = opened.length;
          await call.setMode('whisper');
          await call.setMode('barge');
          call.close();
          return { sent, events, afterListen, opened: opened.length };
        }"""
    )
    sent = frames["sent"]
    assert [(f["type"], f.get("mode")) for f in sent] == [
        ("monitor.rtc.offer", "listen"),
        ("monitor.rtc.offer", "whisper"),
        ("monitor.mode", "barge"),
    ], frames
    assert all(f["conversation_id"] == "c-1" for f in sent)
    assert "a=recvonly" in sent[0]["sdp"] and "a=sendrecv" in sent[1]["sdp"], frames
    assert (frames["afterListen"], frames["opened"]) == (0, 1), frames  # the microphone only for whispering
