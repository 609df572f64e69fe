"""The TUI driven with Textual's run_test against a real SQLite file and the real embedded worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable

from rich.console import Console
from textual import events
from textual.pilot import Pilot

from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.store.feed import iter_feed
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.screens.help import HelpScreen
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.staff_list import StaffList


async def wait_for(pilot: Pilot, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll the running app until `predicate` holds, with a deadline (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def feed_text(pilot: Pilot) -> str:
    return "\n".join(pilot.app.screen.query_one(FeedView).rendered_lines())


async def _ready(pilot: Pilot) -> None:
    await wait_for(pilot, lambda: len(pilot.app.screen.query_one(StaffList).staff) == 3, "the staff list")


async def test_select_type_send_and_status_moves_to_sent(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        staff_list = app.screen.query_one(StaffList)
        assert [s.name for s in staff_list.staff] == ["Dana Reyes", "Priya Natarajan", "Sam Okafor"]
        await pilot.press("j")  # Priya
        assert app.screen.query_one("#feed-title").render().plain.startswith("Priya Natarajan")  # type: ignore[union-attr]
        await pilot.press("i", *"Key is under the mat", "ctrl+j", *"Thanks")
        composer = app.screen.query_one(Composer)
        assert composer.text == "Key is under the mat\nThanks"
        await pilot.press("enter")
        await wait_for(pilot, lambda: composer.text == "", "the composer to clear")
        priya = find_staff(services.engine, "priya@example.com")
        (message,) = list(iter_feed(services.engine, priya.id))
        assert message.body == "Key is under the mat\nThanks"
        assert message.author == "alex"
        # The embedded worker sends it through the file transport; the change feed brings the status to the screen.
        await wait_for(pilot, lambda: "email: sent" in feed_text(pilot), "status 'sent' in the feed")
        text = feed_text(pilot)
        assert "→ sent by alex" in text and "Key is under the mat" in text
        assert list((services.settings.outbox_dir / "email").glob("*.eml"))


async def test_markup_and_escape_sequences_show_literally(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    queue_outgoing(services, staff=dana, body="[bold red]x[/] and \x1b[31mred\x1b[0m [link=http://evil]y[/link]")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await wait_for(pilot, lambda: "[bold red]x[/]" in feed_text(pilot), "the message")
        text = feed_text(pilot)
        assert "[bold red]x[/] and \\x1b[31mred\\x1b[0m [link=http://evil]y[/link]" in text
        assert "\x1b" not in text
        # Nothing on screen is styled by the body's markup.
        feed = app.screen.query_one(FeedView)
        for line in feed._lines:
            for segment in line.strip:
                if "x[/]" in segment.text:
                    assert segment.style is None or not segment.style.link


async def test_empty_message_is_refused_inline(services: Services) -> None:
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", "space", "enter")
        error = app.screen.query_one("#composer-error")
        await wait_for(pilot, lambda: error.display, "the inline error")
        assert "Not sent: message is empty" in error.render().plain  # type: ignore[union-attr]
        dana = find_staff(services.engine, "dana@example.com")
        assert list(iter_feed(services.engine, dana.id)) == []


async def test_draft_is_kept_per_staff_member_and_esc_keeps_it(services: Services) -> None:
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", *"for dana")
        composer = app.screen.query_one(Composer)
        await pilot.press("escape")
        assert isinstance(app.focused, FeedView)
        assert composer.text == "for dana"
        await pilot.press("ctrl+n")
        assert app.screen.query_one(StaffList).current.name == "Priya Natarajan"  # type: ignore[union-attr]
        assert composer.text == ""
        await pilot.press("i", *"for priya", "ctrl+p")
        assert composer.text == "for dana"
        await pilot.press("ctrl+n")
        assert composer.text == "for priya"


async def test_keys_typed_straight_after_moving_land_with_the_new_staff_member(services: Services) -> None:
    """Keys arriving in one burst (a fast typist, a slow link): j, i and text must all apply in order."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("j", "j", "i", *"hello sam")
        assert app.screen.query_one(StaffList).current.name == "Sam Okafor"  # type: ignore[union-attr]
        assert app.screen.query_one(Composer).text == "hello sam"


async def test_a_burst_of_keys_after_i_lands_in_the_composer(services: Services) -> None:
    """Over a slow link `i` and the first words arrive in one read; none of them may be lost."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        for char in "ihello":
            app.post_message(events.Key(char, char))
        composer = app.screen.query_one(Composer)
        await wait_for(pilot, lambda: composer.text == "hello", "the burst in the composer")


async def test_help_lists_every_binding(services: Services) -> None:
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True)
        console.print(app.screen.table)
        shown = console.export_text()
        for description in ("Next staff", "Prev staff", "Write", "Send", "New line", "Next message", "Oldest",
                            "Command palette", "Quit"):
            assert description in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_message_from_another_process_appears(services: Services) -> None:
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await wait_for(pilot, lambda: "No messages yet" in feed_text(pilot), "the empty feed")
        env = {**os.environ, "STAFF_FEED_DATA_DIR": str(services.settings.data_dir)}
        subprocess.run(
            [sys.executable, "-m", "staff_feed_tui", "--as", "sam", "send", "--staff", "dana@example.com",
             "--body", "written by another process"],
            env=env, check=True, capture_output=True,
        )
        await wait_for(pilot, lambda: "written by another process" in feed_text(pilot), "the other process's message")
        assert "→ sent by sam" in feed_text(pilot)


async def test_retry_a_failed_delivery_and_cancel_a_queued_one(services: Services) -> None:
    from staff_feed_tui.store import outbox

    dana = find_staff(services.engine, "dana@example.com")
    failed_id = queue_outgoing(services, staff=dana, body="will fail first")
    (claimed,) = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="test")
    outbox.record_failed(services.engine, claimed.delivery_id, "test", "550 mailbox unavailable")
    queue_outgoing(services, staff=dana, body="cancel me")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await wait_for(pilot, lambda: "email: FAILED (550 mailbox unavailable)" in feed_text(pilot), "the failure")
        feed = app.screen.query_one(FeedView)
        await pilot.press("tab")  # staff list -> feed
        assert app.focused is feed
        assert feed.selected is not None and feed.selected.body == "cancel me"
        await pilot.press("x")
        await wait_for(pilot, lambda: "email: cancelled" in feed_text(pilot), "the cancelled delivery")
        await pilot.press("k")
        assert feed.selected is not None and feed.selected.id == failed_id
        await pilot.press("R")
        await wait_for(pilot, lambda: "FAILED" not in feed_text(pilot), "the retried delivery")
        assert "email: queued" in feed_text(pilot)
        await pilot.press("R")  # nothing failed any more: a sentence, not a change
        await wait_for(pilot, lambda: any("Nothing to retry" in str(n.message) for n in app._notifications),
                       "the nothing-to-retry notice")


async def test_worker_state_is_shown(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        state = app.screen.query_one("#worker-state")
        await wait_for(pilot, lambda: "delivery: idle" in str(state.render()), "the worker state")
