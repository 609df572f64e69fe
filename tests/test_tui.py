"""The TUI driven with Textual's run_test against a real SQLite file and the real embedded worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

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
from tests.waiting import wait_for


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
                            "Command palette", "Quit", "Remove file", "Complete the path", "Attach chosen files",
                            "Apply the filters and close the drawer", "Delete to end of line", "Editor"):
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
        # Each action names the message it acted on.
        await wait_for(pilot, lambda: any(str(n.message).startswith("1 delivery of 'cancel me' (")
                                          and str(n.message).endswith(") cancelled.") for n in app._notifications),
                       "the notice naming the message")
        await pilot.press("k")
        assert feed.selected is not None and feed.selected.id == failed_id
        await pilot.press("R")
        await wait_for(pilot, lambda: "FAILED" not in feed_text(pilot), "the retried delivery")
        assert "email: queued" in feed_text(pilot)
        await pilot.press("R")  # nothing failed any more: a sentence, not a change
        await wait_for(pilot, lambda: any("Nothing to retry for '" in str(n.message) for n in app._notifications),
                       "the nothing-to-retry notice")


async def test_worker_state_is_shown(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        state = app.screen.query_one("#worker-state")
        await wait_for(pilot, lambda: "delivery: idle" in str(state.render()), "the worker state")


async def test_inbound_text_shows_raises_unread_toasts_and_rings(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms

    app = make_app(services, embedded_worker=False)
    bells = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        staff_list = app.screen.query_one(StaffList)
        assert staff_list.current.name == "Dana Reyes"  # type: ignore[union-attr]
        await asyncio.to_thread(receive_sms, services.engine, sid="SMin1", from_number="+14155550101",
                                body="[b]at the gate[/b]")
        await wait_for(pilot, lambda: "[b]at the gate[/b]" in feed_text(pilot), "the text in Dana's open feed")
        assert "← received from Dana Reyes" in feed_text(pilot)
        await wait_for(pilot, lambda: bells == [1], "the bell")
        await wait_for(pilot, lambda: any("Text from Dana Reyes: [b]at the gate[/b]" == n.message
                                          for n in app._notifications), "the toast")
        assert staff_list.unread.get(staff_list.current.id, 0) == 0  # type: ignore[union-attr]
        # A text to a staff member whose feed is not open raises their count.
        await asyncio.to_thread(receive_sms, services.engine, sid="SMin2", from_number="+14155550102", body="hi")
        sam = find_staff(services.engine, "sam@example.com")
        await wait_for(pilot, lambda: staff_list.unread.get(sam.id) == 1, "Sam's unread count")
        # Opening Sam's feed reads it.
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_for(pilot, lambda: staff_list.unread.get(sam.id) == 0, "Sam's count cleared")
    from staff_feed_tui.store.reads import unread_counts

    assert unread_counts(services.engine, "alex").get(sam.id, 0) == 0


async def test_unknown_sender_assigned_from_the_triage_screen(services: Services) -> None:
    from staff_feed_tui.store.inbound import list_triage, receive_sms
    from staff_feed_tui.tui.screens.triage import StaffPicker, TriageScreen

    receive_sms(services.engine, sid="SMunknown", from_number="+14155559999", body="this is Priya's new phone")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        count = app.screen.query_one("#triage-count")
        await wait_for(pilot, lambda: "1 unknown sender (U)" in str(count.render()), "the triage count")
        await pilot.press("U")
        assert isinstance(app.screen, TriageScreen)
        await wait_for(pilot, lambda: app.screen.query_one("OptionList").option_count == 1, "the entry")
        await pilot.press("a")
        assert isinstance(app.screen, StaffPicker)
        await pilot.press(*"priya", "enter")
        await wait_for(pilot, lambda: list_triage(services.engine) == [], "the entry resolved")
        await pilot.press("escape")
        await wait_for(pilot, lambda: str(count.render()).strip() == "", "the count cleared")
    priya = find_staff(services.engine, "priya@example.com")
    (message,) = list(iter_feed(services.engine, priya.id))
    assert message.body == "this is Priya's new phone" and message.direction.value == "in"


async def test_toasts_never_interpret_markup(services: Services) -> None:
    from staff_feed_tui.core.roster import StaffInput
    from staff_feed_tui.core.types import DeliveryMethod as M
    from staff_feed_tui.store.staff import import_staff

    import_staff(services.engine, [StaffInput("[bold red]Aaron[/] [link=x]", "aaron@example.com", None, False, M.EMAIL)])
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.screen.query_one(StaffList).staff) == 4, "the staff list")
        assert app.screen.query_one(StaffList).current.email == "aaron@example.com"  # type: ignore[union-attr]
        await pilot.press("i", *"hello", "enter")
        await wait_for(pilot, lambda: bool(app._notifications), "the toast")
        (note,) = list(app._notifications)
        assert note.message == "Queued for [bold red]Aaron[/] [link=x] by email."
        assert note.markup is False
        await pilot.pause()  # the toast renders without error


async def test_a_note_on_a_message_is_shown(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms

    receive_sms(services.engine, sid="SMnote", from_number="+14155550101", body="pics",
                note="file 2 is too large (7.2 MB); the limit is 5 MB")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await wait_for(pilot, lambda: "note: file 2 is too large (7.2 MB); the limit is 5 MB" in feed_text(pilot),
                       "the note under the message")


async def test_ctrl_c_says_how_to_quit_in_plain_words(services: Services) -> None:
    """Ctrl+C showed Textual's notice as raw markup (`Press [b]ctrl+q[/b]`): every toast here is plain text."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: any("quit" in str(n.message) for n in app._notifications), "the notice")
        (notice,) = [str(n.message) for n in app._notifications if "quit" in str(n.message)]
        assert notice == "Press Ctrl+Q to quit the app." and "[" not in notice
        assert app.is_running


async def test_after_a_send_the_keys_are_the_feeds_again(services: Services) -> None:
    """The composer kept the keys after a send, so the `i` of the next message was typed as a letter."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        composer = app.screen.query_one(Composer)
        await pilot.press("i", *"first", "enter")
        await wait_for(pilot, lambda: composer.text == "" and "first" in feed_text(pilot), "the first message sent")
        assert isinstance(app.focused, FeedView)
        await pilot.press("i", *"second")
        assert composer.text == "second"


async def test_the_composer_keeps_readline_keys_and_the_app_keeps_its_own(services: Services) -> None:
    from textual.command import CommandPalette

    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        composer = app.screen.query_one(Composer)
        await pilot.press("i", *"gate code", "ctrl+a", *"the ", "ctrl+e", *" 4417")
        assert composer.text == "the gate code 4417"
        await pilot.press("ctrl+w")
        assert composer.text == "the gate code "
        await pilot.press("ctrl+a", "ctrl+k")  # Ctrl+K deletes to the end of the line here, not the palette
        assert composer.text == "" and not isinstance(app.screen, CommandPalette)
        await pilot.press(*"one two", "ctrl+u")
        assert composer.text == ""
        await pilot.press(*"for sam", "ctrl+n", "ctrl+n")  # Ctrl+N still moves to the next staff member
        assert app.screen.query_one(StaffList).current.name == "Sam Okafor"  # type: ignore[union-attr]
        await pilot.press("escape", "ctrl+k")  # outside the composer Ctrl+K is the command palette
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
