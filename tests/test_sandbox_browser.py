"""The sandbox in a real browser: headless Chromium (Debian's package) driven by Playwright.

A newcomer joins with the invite shown on the page, files an activity report through the
/report dialog, the secretariat approves it via /review, and the member sees the approval.
The screenshot is kept in tests/artifacts/sandbox.png.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.assemble import FEATURES
from bot.core.rules import load_rules
from bot.devtools.sandbox import DB_FILE
from bot.devtools.sandbox.seed import NEWCOMER_USER_ID, STAFF_USER_ID
from tests.conftest import WAIT, output_line
from tests.launcher import launch

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = int(WAIT * 1000)  # as every other wait of the suite: for the page, never a race against the clock

# One Chromium at a time: the three run on the same worker, one after the other (`--dist loadgroup`).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    """`lvzhi sandbox` as a user starts it (a subprocess), with a real DATABASE_URL set that it must ignore."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    real = tmp_path / "real.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{real}"}
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    # `lvzhi sandbox …` as a process of its own, forked from the warm launcher (tests/launcher.py)
    proc = launch(["sandbox", "--port", "0", "--data-dir", str(tmp_path / "d")], env=env, cwd=tmp_path,
                  stdout=out, stderr=err)  # fmt: skip
    try:
        yield output_line(proc, out, r"http://127\.0\.0\.1:\d+/").group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    errors = err.read_text(encoding="utf-8")
    assert proc.returncode == 0 and "Traceback" not in errors, errors
    assert not real.exists() and (tmp_path / "d" / DB_FILE).exists()


def _chat(page):  # type: ignore[no-untyped-def]
    """What a person does on the page: read the bot's bubbles, press an inline button, send text."""

    def bot_says(text: str):  # type: ignore[no-untyped-def]
        return page.locator(".msg.bot", has_text=text)

    def press(label: str) -> None:
        """The newest inline button with this label (older ones may have been closed)."""
        page.locator(".msg.bot .inline-kb .kb-btn", has_text=label).last.click()

    def send(text: str) -> None:
        page.fill("#text", text)
        page.click("#send")

    return bot_says, press, send


def test_join_report_review_and_approval_in_the_browser(sandbox_url: str) -> None:
    if "handlers.report" not in FEATURES or "handlers.review" not in FEATURES:
        pytest.skip("the /report and /review features are not registered in bot.assemble.FEATURES yet")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    research = load_rules(Path(__file__).resolve().parents[1] / "bot" / "core" / "rules.default.toml").activities[
        "research"
    ]
    description = "参加街道社区议事会，就垃圾分类收运提出三条建议。"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 430, "height": 900}, locale="zh-CN")
            page.set_default_timeout(WAIT_MS)
            page.goto(sandbox_url)
            expect(page.locator("#identity")).to_have_value("10001")
            expect(page.locator("#clock-now")).to_contain_text("周")

            bot_says, press, send = _chat(page)

            # the newcomer joins with the invite the page shows
            page.select_option("#identity", str(NEWCOMER_USER_ID))
            expect(page.locator("#invite")).to_be_visible()
            expect(page.locator("#invite-action")).to_have_text("发送 /start 邀请码")  # the newcomer's own
            name = page.locator("#identity option:checked").inner_text().split(" · ")[0]
            page.click("#invite-action")
            expect(bot_says("绑定成功")).to_be_visible()
            expect(page.locator("#invite")).to_be_hidden()

            # and files a report through the /report dialog, via the menu keyboard
            page.locator("#keyboard .kb-btn", has_text="报告履职").click()
            press(research.zh)
            press("今天")
            expect(bot_says("第 3 步")).to_be_visible()
            send(description)
            press("跳过")
            expect(bot_says("请核对")).to_contain_text(description)
            press("确认提交")
            submitted = bot_says("等待政协机关审核")
            expect(submitted).to_be_visible()
            report_no = re.search(r"#(\d+)", submitted.inner_text()).group(1)  # type: ignore[union-attr]

            # the secretariat approves it via /review (older demo reports are skipped); the switch is
            # made while the page is still asking for the newcomer's chat, and it must stick
            page.evaluate("(staff) => { poll(); return switchTo(staff); }", str(STAFF_USER_ID))
            expect(page.locator("#identity")).to_have_value(str(STAFF_USER_ID))
            expect(page.locator("#identity option:checked")).to_contain_text("政协机关")
            card = bot_says(f"报告 #{report_no}")
            cards = page.locator(".msg.bot", has_text="待审核")

            def next_card(action) -> None:  # type: ignore[no-untyped-def]
                """Do `action` and wait for the review card it brings (the chat may hold older ones)."""
                shown = cards.count()
                action()
                page.wait_for_function(
                    "n => [...document.querySelectorAll('.msg.bot')].filter(e => e.textContent.includes('待审核'))"
                    ".length > n",
                    arg=shown,
                )

            next_card(lambda: send("/review"))
            for _ in range(10):  # each skip brings the next card (event invitations may arrive meanwhile)
                if card.count():
                    break
                next_card(lambda: press("跳过"))
            expect(card).to_contain_text(name)
            card.locator(".kb-btn", has_text="通过").click()
            expect(card).to_contain_text("已通过")

            # the member sees the approval notice (delivered through the outbox)
            page.select_option("#identity", str(NEWCOMER_USER_ID))
            expect(bot_says("已审核通过")).to_contain_text(research.zh)

            # the clock moves the bot's time forward
            page.click("#next-monday")
            expect(page.locator("#clock-now")).to_contain_text("周一")
            expect(page.locator("#clock-now")).to_contain_text("09:00")
            expect(page.locator("#clock-offset")).to_contain_text("已快进")

            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "sandbox.png"))
            assert page.evaluate("document.characterSet") == "UTF-8"
        finally:
            browser.close()


def test_page_is_usable_on_a_phone_screen(sandbox_url: str) -> None:
    """The chat column fills a narrow screen without sideways scrolling; buttons reach the bot."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
            page.set_default_timeout(WAIT_MS)
            page.goto(sandbox_url)
            expect(page.locator("#keyboard .kb-btn").first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            page.fill("#text", "/lang")
            page.click("#send")
            page.locator(".msg.bot .kb-btn", has_text="English").last.click()
            expect(page.locator(".msg.bot", has_text="Language set to English")).to_be_visible()
            page.click("#lang")  # the page itself in English
            expect(page.locator("#send")).to_have_text("Send")
            expect(page.locator("#plus-hour")).to_have_text("+1 hour")
        finally:
            browser.close()


NEWEST_IN_VIEW = """() => {
  const chat = document.getElementById('chat');
  const last = [...chat.querySelectorAll('.msg')].pop();
  if (!last) return false;
  const c = chat.getBoundingClientRect(), r = last.getBoundingClientRect();
  return r.bottom <= c.bottom + 2 && r.bottom > c.top;
}"""
CHAT_GEOMETRY = """() => {
  const chat = document.getElementById('chat');
  const last = [...chat.querySelectorAll('.msg')].pop();
  const c = chat.getBoundingClientRect(), r = last ? last.getBoundingClientRect() : null;
  return {messages: chat.querySelectorAll('.msg').length, scrollTop: chat.scrollTop,
          scrollHeight: chat.scrollHeight, clientHeight: chat.clientHeight, chatBottom: c.bottom,
          lastBottom: r && r.bottom, lastText: last && last.textContent.slice(0, 60)};
}"""


def newest_in_view(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the newest message is in view; if it never is, say where the chat stands."""
    try:
        page.wait_for_function(NEWEST_IN_VIEW)
    except Exception as exc:  # playwright's TimeoutError: report the geometry that kept it out of view
        raise AssertionError(f"the newest message is not in view: {page.evaluate(CHAT_GEOMETRY)}") from exc


# Buttons whose label does not fit: wider or taller content than the button shows.
CUT_BUTTONS = """() => [...document.querySelectorAll('.kb-btn')]
  .filter(b => b.offsetParent !== null && (b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1))
  .map(b => b.textContent)"""


def test_a_member_and_the_secretariat_on_a_390_px_phone(sandbox_url: str) -> None:
    """At 390 px: new replies stay in view after loading and after switching identity, no button is
    cut (long labels wrap), bubbles show their bot-clock time, 已编辑 only on a changed text; a
    screenshot of each walk is kept in tests/artifacts/."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                    locale="zh-CN")  # fmt: skip
            page.set_default_timeout(WAIT_MS)

            bot_says, press, send = _chat(page)

            def nothing_cut() -> None:
                assert page.evaluate(CUT_BUTTONS) == []
                assert page.evaluate("document.documentElement.scrollWidth") <= 390

            # a member: the page opens at the newest message, under the menu keyboard
            page.goto(sandbox_url)
            expect(page.locator("#keyboard .kb-btn").first).to_be_visible()
            newest_in_view(page)
            expect(page.locator(".msg.bot .meta").last).to_have_text(re.compile(r"\d\d:\d\d$"))
            page.locator("#keyboard .kb-btn", has_text="报告履职").click()
            expect(bot_says("请选择活动类型")).to_be_visible()
            newest_in_view(page)
            nothing_cut()  # thirteen activity types, two to a row, short labels
            page.screenshot(path=str(ARTIFACTS / "member-390.png"))
            press("调研")
            chosen = bot_says("活动类型：调研")
            expect(chosen.locator(".meta")).to_contain_text("已编辑")  # its text changed
            press("昨天")
            send("参加街道社区议事会，就垃圾分类收运提出三条建议。")
            press("跳过")
            summary = bot_says("请核对")
            press("确认提交")
            expect(bot_says("等待政协机关审核")).to_be_visible()
            expect(summary.locator(".meta")).not_to_contain_text("已编辑")  # only its buttons were taken off
            newest_in_view(page)

            # the secretariat: switching identity lands on the newest message too
            page.select_option("#identity", str(STAFF_USER_ID))
            expect(page.locator("#keyboard .kb-btn", has_text="审核")).to_be_visible()
            newest_in_view(page)
            page.locator("#keyboard .kb-btn", has_text="社情民意处理").click()
            inbox = bot_says("社情民意信息 · 待处理")
            expect(inbox).to_be_visible()
            newest_in_view(page)
            nothing_cut()
            inbox.screenshot(path=str(ARTIFACTS / "staff-inbox-390.png"))  # the workflow views, two to a row
            # that scrolled the chat back to the header; back at the bottom it follows new replies again
            page.evaluate("() => { const c = document.getElementById('chat'); c.scrollTop = c.scrollHeight; }")
            page.locator("#keyboard .kb-btn", has_text="审核").click()
            expect(bot_says("份 · 报告 #").last).to_be_visible()  # the oldest pending report's card
            newest_in_view(page)
            nothing_cut()
            page.screenshot(path=str(ARTIFACTS / "staff-390.png"))
            send("/newevent")
            send("读书会")
            expect(bot_says("请选择活动类型")).to_be_visible()
            newest_in_view(page)
            nothing_cut()
            page.screenshot(path=str(ARTIFACTS / "staff-newevent-390.png"))
        finally:
            browser.close()
