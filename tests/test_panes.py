"""The defects a dispatcher met in a day of use, each pinned on the rebuilt panes (filters, search, drawer, keys)."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Button

from staff_feed_tui.core.filters import FilterValues
from staff_feed_tui.services import Services
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
from tests.test_filters import NOW, _rows
from tests.test_tui import _ready, wait_for


def _burst(app, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Keys that arrive in one read (a fast typist, a slow link): all posted before any is handled."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_filters_belong_to_the_feed_they_were_set_on(services: Services, tmp_path: Path) -> None:
    """Filters followed the dispatcher to every staff member ("No messages match the filters")."""
    _rows(services, tmp_path)
    sam = find_staff(services.engine, "sam@example.com")
    queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body="for Sam")
    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        button = app.screen.query_one("#filters", Button)
        await wait_for(pilot, lambda: len(feed.messages) == 6, "Dana's whole feed")
        drawer = app.screen.query_one(FilterDrawer)
        drawer.post_message(FilterDrawer.Applied(drawer, FilterValues(direction="received")))
        await wait_for(pilot, lambda: len(feed.messages) == 2, "Dana's received messages")
        assert str(button.label) == "1 Filter Applied"
        await pilot.press("ctrl+n", "ctrl+n")  # Sam: his feed opens unfiltered
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["for Sam"], "Sam's whole feed")
        assert str(button.label) == "No Filters Applied"
        await pilot.press("ctrl+p", "ctrl+p")  # back to Dana: her filter is back
        await wait_for(pilot, lambda: len(feed.messages) == 2, "Dana's filtered feed again")
        assert str(button.label) == "1 Filter Applied"


async def test_a_fast_backslash_after_applying_filters_gives_the_drawer_the_keys(services: Services,
                                                                                tmp_path: Path) -> None:
    """Enter in the drawer, then `\\` about 0.1 s later and `-d …`: the keys went to the feed, and `d` asked to
    remove a message. Focus is decided as the keys arrive, in order."""
    from staff_feed_tui.tui.screens.pickers import Question

    _rows(services, tmp_path)
    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 6, "Dana's whole feed")
        await pilot.press("tab", "backslash")
        line = app.screen.query_one("#filter-line")
        _burst(app, [*"-r received", "enter", "backslash", "ctrl+u", *"-d 7d", "enter"])
        conversation = app.screen.conversation  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: conversation.filter_values == FilterValues(since="7d") and app.focused is feed,
                       "the second filter applied")
        assert not isinstance(app.screen, Question)
        assert line.value == "-d 7d"  # type: ignore[attr-defined]
        assert len(feed.messages) == 6 or all(m.created_at >= NOW.replace(day=22) for m in feed.messages)


async def test_enter_in_the_text_field_applies_and_closes_and_space_presses_a_preset(services: Services,
                                                                                   tmp_path: Path) -> None:
    _rows(services, tmp_path)
    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        drawer = app.screen.query_one(FilterDrawer)
        await wait_for(pilot, lambda: len(feed.messages) == 6, "Dana's whole feed")
        await pilot.press("tab", "backslash")
        app.screen.set_focus(app.screen.query_one("#preset-7d"))
        await pilot.press("space")  # Space on a date preset presses it
        await wait_for(pilot, lambda: app.screen.query_one("#filter-since").value == "7d", "the preset")  # type: ignore[attr-defined]
        text = app.screen.query_one("#filter-text")
        app.screen.set_focus(text)
        await pilot.press(*"key", "enter")  # Enter in the Text field applies and closes the drawer
        await wait_for(pilot, lambda: {m.body for m in feed.messages} == {"Where is the key?",
                                                                          "The key is under the mat"}, "the matches")
        assert not drawer.display and app.focused is feed


async def test_in_feed_search_counts_within_the_filters_and_again_after_a_removal(services: Services,
                                                                                   tmp_path: Path) -> None:
    from staff_feed_tui.tui.screens.pickers import Question

    dana = find_staff(services.engine, "dana@example.com")
    for body in ("gate code", "side door", "gate and door", "back door gate"):
        queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=body)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        state = app.screen.query_one("#search-state")
        await wait_for(pilot, lambda: len(feed.messages) == 4, "Dana's feed")
        drawer = app.screen.query_one(FilterDrawer)
        drawer.post_message(FilterDrawer.Applied(drawer, FilterValues(text="gate")))
        await wait_for(pilot, lambda: len(feed.messages) == 3, "the Text filter")
        await pilot.press("tab", "slash", *"door", "enter")
        await wait_for(pilot, lambda: "'door': 1 of 2" in str(state.render()), "two hits within the filter")
        assert feed.selected is not None and "door" in feed.selected.body and "gate" in feed.selected.body
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "of 1" in str(state.render()), "the count after the removal")


async def test_a_capped_search_count_says_so(services: Services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from staff_feed_tui.tui.panes import feed_search

    monkeypatch.setattr(feed_search, "SEARCH_LIMIT", 3)
    dana = find_staff(services.engine, "dana@example.com")
    for n in range(5):
        queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=f"gate {n}")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 5, "Dana's feed")
        await pilot.press("tab", "slash", *"gate", "enter")
        state = app.screen.query_one("#search-state")
        await wait_for(pilot, lambda: "'gate': 1 of 3+" in str(state.render()), "the capped count")


async def test_the_top_bar_keeps_the_dispatchers_name_at_80_columns(services: Services) -> None:
    from staff_feed_tui.store.inbound import receive_sms

    receive_sms(services.engine, sid="SMx1", from_number="+14155559999", body="who is this")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        count = app.screen.query_one("#triage-count")
        await wait_for(pilot, lambda: "1 unknown sender" in str(count.render()), "the unknown-sender notice")
        await pilot.pause()
        identity = app.screen.query_one("#identity")
        assert "staff-feed  dispatcher: alex" in str(identity.render())
        assert identity.content_region.width >= len("staff-feed  dispatcher: alex")  # the name shows, whole


async def test_two_dispatchers_editing_one_profile_see_the_conflict(services: Services) -> None:
    """The second save silently overwrote the first's new mobile number: the form had moved on to the version
    saved elsewhere when the staff list was read again. The stale check holds: the conflict is shown, this
    dispatcher's edit is kept, and the saved one is shown beside it."""
    from textual.widgets import Input

    from staff_feed_tui.core.types import DeliveryMethod
    from staff_feed_tui.core.validation import ProfileEdit
    from staff_feed_tui.store.staff import get_staff, update_profile

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("P")
        phone = app.screen.query_one("#profile-phone", Input)
        await wait_for(pilot, lambda: phone.value == "+14155550101", "Dana's profile")
        app.screen.set_focus(phone)
        await pilot.press("ctrl+u", *"+1 415 555 0177")
        # Meanwhile another dispatcher saves a new number for Dana; this app hears of it and reads the list again.
        update_profile(services.engine, dana.id, dana,
                       ProfileEdit("dana@example.com", "+14155550199", True, DeliveryMethod.BOTH))
        staff_list = app.screen.query_one("#staff")
        await wait_for(pilot, lambda: any(s.phone == "+14155550199" for s in staff_list.staff), "the list read again")
        await pilot.press("ctrl+s")
        problem = app.screen.query_one("#profile-problem")
        await wait_for(pilot, lambda: "changed elsewhere" in str(problem.render()), "the conflict")
        shown = str(problem.render())
        assert "mobile +14155550199" in shown  # the saved one, beside
        assert phone.value == "+1 415 555 0177"  # this dispatcher's edit, kept
        assert get_staff(services.engine, dana.id).phone == "+14155550199"  # nothing overwritten
        await pilot.press("ctrl+s")  # saving again, knowing both, puts this one in place
        await wait_for(pilot, lambda: get_staff(services.engine, dana.id).phone == "+14155550177", "the second save")
