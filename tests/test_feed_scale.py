"""The feed at scale: keyset pages without gaps or repeats, and a windowed view that pages as it scrolls."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from staff_feed_tui.services import Services
from staff_feed_tui.store.feed import feed_page, iter_feed, queue_message
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.feed_window import MAX_WINDOW
from tests.test_tui import _ready, wait_for


def _fill(services: Services, staff_id: int, count: int, *, same_time_every: int = 7) -> None:
    """Messages with many identical timestamps: every `same_time_every` share one. One transaction."""
    from staff_feed_tui.store.db import write_session
    from staff_feed_tui.store.models import Message

    base = datetime(2026, 1, 1, tzinfo=UTC)
    with write_session(services.engine) as session:
        for n in range(count):
            session.add(Message(staff_id=staff_id, direction="out", body=f"message {n}",
                                created_at=base + timedelta(minutes=n // same_time_every)))


def _plain_order(services: Services, staff_id: int) -> list[int]:
    with sqlite3.connect(services.settings.data_dir / "staff_feed.db") as conn:
        return [r[0] for r in conn.execute(
            "SELECT id FROM message WHERE staff_id = ? AND deleted_at IS NULL ORDER BY created_at, id", (staff_id,))]


@pytest.mark.parametrize("page", [1, 2, 7, 9, 10, 13, 120, 500])
def test_pages_have_no_gaps_or_repeats_with_equal_timestamps(services: Services, page: int) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 120, same_time_every=9)
    expected = _plain_order(services, sam.id)
    forward = [m.id for m in iter_feed(services.engine, sam.id, page=page)]
    assert forward == expected
    backward: list[int] = []
    rows = feed_page(services.engine, sam.id, limit=page)
    while rows:
        backward = [m.id for m in rows] + backward
        rows = feed_page(services.engine, sam.id, before=(rows[0].created_at, rows[0].id), limit=page)
    assert backward == expected


async def test_home_end_and_paging_on_a_large_feed(services: Services) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 1500)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n", "ctrl+n")  # Sam
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: feed.messages and feed.messages[-1].body == "message 1499", "the newest page")
        assert not feed.at_oldest and len(feed.messages) < 1500
        await pilot.press("tab")
        assert app.focused is feed
        await pilot.press("home")  # past the window: the oldest page is loaded, not everything in between
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.body == "message 0", "the oldest")
        assert feed.at_oldest and not feed.at_newest and len(feed.messages) <= MAX_WINDOW
        await pilot.press("end")
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.body == "message 1499", "newest")
        # Scrolling up pages older messages in; what is on screen does not move.
        for _ in range(12):
            await pilot.press("pageup")
            top_before = feed.scroll_offset.y
            shown = feed.rendered_lines()[int(top_before)]
            await pilot.pause()
            if feed.rendered_lines()[int(feed.scroll_offset.y)] != shown:
                raise AssertionError("the view jumped when a page came in")
        assert len(feed.messages) <= MAX_WINDOW
        bodies = [m.body for m in feed.messages]
        assert bodies == sorted(bodies, key=lambda b: int(b.split()[1]))  # in order, no repeats


async def test_a_long_feed_opened_straight_after_empty_ones_shows_its_newest_message(services: Services) -> None:
    """Keys that move past staff members with no messages to one with a long feed in one go (as keys typed during
    start-up are released): the view lands on the newest message. It once stayed at the top, the scroll refused
    while the empty feed's layout (no scrollbar) was still the one in force."""
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 200)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await pilot.press("ctrl+n", "ctrl+n")  # Priya, then Sam: neither Dana nor Priya has a message
        await wait_for(pilot, lambda: feed.messages and feed.messages[-1].body == "message 199", "Sam's feed")
        await wait_for(pilot, lambda: feed.max_scroll_y > 0 and feed.scroll_offset.y == feed.max_scroll_y,
                       "the view at the newest message")
        height = feed.scrollable_content_region.height
        shown = feed.rendered_lines()[int(feed.scroll_offset.y):int(feed.scroll_offset.y) + height]
        assert any("message 199" in line for line in shown)


async def test_a_first_page_slower_than_the_wait_arrives_as_a_message(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a feed waits briefly for its first page; with no wait at all, the page is still shown when it
    comes, and a second open in the meantime wins over the first one's late page."""
    from staff_feed_tui.tui.panes import conversation

    monkeypatch.setattr(conversation, "FIRST_PAGE_WAIT_S", 0.0)
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 50)
    queue_message(services.engine, services.attachments, staff_id=find_staff(services.engine, "dana@example.com").id,
                  author="alex", body="for Dana")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["for Dana"], "Dana's feed")
        await pilot.press("ctrl+n", "ctrl+n")  # Priya, then Sam
        await wait_for(pilot, lambda: feed.messages and feed.messages[-1].body == "message 49", "Sam's feed")
        await pilot.press("ctrl+p", "ctrl+p")  # Priya, then Dana: Priya's late empty page must not land last
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["for Dana"], "Dana's feed again")
        for _ in range(5):
            await pilot.pause()
        assert [m.body for m in feed.messages] == ["for Dana"]


async def test_a_feed_that_cannot_be_read_says_so(services: Services) -> None:
    """A database fault while opening a feed (here the message table is gone) is told to the dispatcher."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        with sqlite3.connect(services.settings.data_dir / "staff_feed.db") as conn:
            conn.execute("ALTER TABLE message RENAME TO message_gone")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: any("Could not load the feed" in str(n.message) for n in app._notifications),
                       "the error")


async def test_the_cursor_mark_follows_the_cursor_through_repaints(services: Services) -> None:
    """Painted lines are kept between frames; the cursor's mark must still move with it, both ways."""
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 5)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n", "ctrl+n", "tab")
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 5, "Sam's feed")

        def marked() -> list[str]:
            lines = [feed.render_line(y).text for y in range(feed.scrollable_content_region.height)]
            return [line.strip() for line in lines if line.startswith("▌")]

        assert any("message 4" in line for line in marked())
        for expected in ("message 3", "message 2", "message 3", "message 4"):
            await pilot.press("k" if expected < feed.selected.body else "j")  # type: ignore[union-attr]
            await pilot.pause()
            assert feed.selected.body == expected  # type: ignore[union-attr]
            shown = marked()
            assert any(expected in line for line in shown) and not any(
                m.body in line for m in feed.messages if m.body != expected for line in shown)


async def test_new_messages_while_scrolled_up_show_more(services: Services) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    from staff_feed_tui.tui.panes.conversation import FIRST_PAGE

    _fill(services, sam.id, FIRST_PAGE)  # the whole feed in the first page, several screens long
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n", "ctrl+n", "tab")
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == FIRST_PAGE, "Sam's feed")
        await pilot.press("home")
        top = feed.scroll_offset.y
        queue_message(services.engine, services.attachments, staff_id=sam.id, author="jordan", body="fresh one")
        await wait_for(pilot, lambda: feed.window.more == 1, "the -MORE- count")
        assert feed.scroll_offset.y == top  # no jump
        line = feed.render_line(feed.scrollable_content_region.height - 1).text
        assert "-MORE- 1 new message below (End)" in line
        await pilot.press("end")
        await wait_for(pilot, lambda: feed.window.more == 0 and feed.selected.body == "fresh one", "the new message")


async def test_unread_marker_line(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms

    dana = find_staff(services.engine, "dana@example.com")
    queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="we asked")
    receive_sms(services.engine, sid="SMu1", from_number="+14155550101", body="first reply")
    receive_sms(services.engine, sid="SMu2", from_number="+14155550101", body="second reply")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 3, "Dana's feed")
        lines = feed.rendered_lines()
        marker = next(n for n, line in enumerate(lines) if " new " in line and "━" in line)
        assert "we asked" in "".join(lines[:marker]) and "first reply" in "".join(lines[marker:])


async def test_staff_find_as_you_type_sort_and_next_unread(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms
    from staff_feed_tui.tui.widgets.staff_list import StaffList

    sam = find_staff(services.engine, "sam@example.com")
    receive_sms(services.engine, sid="SMs1", from_number="+14155550102", body="unread for sam")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        staff_list = app.screen.query_one(StaffList)
        assert staff_list.current.name == "Dana Reyes"  # type: ignore[union-attr]
        await pilot.press("right_square_bracket")  # next staff member with unread messages
        assert staff_list.current.id == sam.id  # type: ignore[union-attr]
        await pilot.press("o")  # by latest activity: Sam's text is the newest
        assert staff_list.sort_by_activity and staff_list.shown[0].id == sam.id
        await pilot.press("o")
        assert not staff_list.sort_by_activity and staff_list.shown[0].name == "Dana Reyes"
        await pilot.press("ctrl+f", *"okaf")
        await wait_for(pilot, lambda: [s.name for s in staff_list.shown] == ["Sam Okafor"], "the filter by name")
        await pilot.press("escape")
        assert len(staff_list.shown) == 3 and app.focused is staff_list
        await pilot.press("ctrl+f", *"0102")
        await wait_for(pilot, lambda: [s.name for s in staff_list.shown] == ["Sam Okafor"], "the filter by phone")
        await pilot.press("escape", "ctrl+f", *"priya@")
        await wait_for(pilot, lambda: [s.name for s in staff_list.shown] == ["Priya Natarajan"], "by email")
        assert staff_list.current.name == "Priya Natarajan"  # type: ignore[union-attr]  # the match is opened
        await pilot.press("escape", "g")
        assert staff_list.current.name == "Dana Reyes"  # type: ignore[union-attr]


async def test_mark_unread_with_M(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms
    from staff_feed_tui.store.reads import unread_counts
    from staff_feed_tui.tui.widgets.staff_list import StaffList

    dana = find_staff(services.engine, "dana@example.com")
    receive_sms(services.engine, sid="SMm1", from_number="+14155550101", body="one")
    receive_sms(services.engine, sid="SMm2", from_number="+14155550101", body="two")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        staff_list = app.screen.query_one(StaffList)
        await wait_for(pilot, lambda: len(feed.messages) == 2, "Dana's feed")
        await wait_for(pilot, lambda: unread_counts(services.engine, "alex").get(dana.id, 0) == 0, "read on open")
        await pilot.press("tab", "k")  # the feed; up to "one"
        assert feed.selected is not None and feed.selected.body == "one"
        await pilot.press("M")
        await wait_for(pilot, lambda: staff_list.unread.get(dana.id) == 2, "two unread again")
        assert unread_counts(services.engine, "alex")[dana.id] == 2
        assert any(" new " in line for line in feed.rendered_lines())


async def test_page_up_and_down_keep_the_selection_on_screen(services: Services) -> None:
    """PageUp/PageDown moved the view and left the selection on a message off screen, so `d`, `x`, `R` and `M`
    acted on a message the dispatcher could not see."""
    sam = find_staff(services.engine, "sam@example.com")
    _fill(services, sam.id, 200)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n", "ctrl+n", "tab")
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: feed.messages and feed.messages[-1].body == "message 199", "Sam's feed")
        await wait_for(pilot, lambda: feed.max_scroll_y > 0 and feed.scroll_offset.y == feed.max_scroll_y,
                       "the view at the newest message")
        for key in ("pageup", "pageup", "pageup", "pagedown", "pageup", "pagedown", "pagedown", "pagedown"):
            before = feed.selected
            await pilot.press(key)
            await pilot.wait_for_animation()
            await pilot.pause()
            assert feed.selected_on_screen, f"after {key} the selection ({feed.selected.body}) is off screen"
            if key == "pageup":
                assert feed.selected.id < before.id  # type: ignore[union-attr]
