"""The Profile tab (checked, atomic edits), search in the open feed (/ then n/N), and search across all staff."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.core.validation import ProfileProblem, check_profile
from staff_feed_tui.services import Services
from staff_feed_tui.store.feed import feed_page, queue_message, remove_message, search_all, search_feed
from staff_feed_tui.store.staff import StaleProfile, find_staff, get_staff, update_profile
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.feed_view import FeedView
from tests.test_tui import _ready, wait_for

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("email", "phone", "texts", "method", "field", "words"),
    [
        ("dana@", "", False, DeliveryMethod.EMAIL, "email", "is not valid"),
        ("", "", False, DeliveryMethod.EMAIL, "email", "email is missing"),
        ("dana@example.com", "555-12", True, DeliveryMethod.SMS, "phone", "not a valid number"),
        ("dana@example.com", "call me", True, DeliveryMethod.SMS, "phone", "is not a phone number"),
        ("dana@example.com", "", True, DeliveryMethod.EMAIL, "phone", "a mobile number is needed to accept texts"),
        ("dana@example.com", "+14155550101", False, DeliveryMethod.SMS, "method", "cannot be SMS"),
        ("dana@example.com", "+14155550101", False, DeliveryMethod.BOTH, "method", "cannot be Both"),
    ],
)
def test_profile_checks(email: str, phone: str, texts: bool, method: DeliveryMethod, field: str, words: str) -> None:
    with pytest.raises(ProfileProblem) as caught:
        check_profile(email, phone, texts, method, "US")
    assert caught.value.field == field and words in str(caught.value)


def test_profile_edit_is_normalised_saved_and_refused_when_stale(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    edit = check_profile(" Dana.R@Example.com ", "(415) 555-0199", True, DeliveryMethod.SMS, "US")
    assert (edit.email, edit.phone) == ("Dana.R@example.com", "+14155550199")
    saved = update_profile(services.engine, dana.id, dana, edit)
    assert get_staff(services.engine, dana.id) == saved
    assert (saved.email, saved.phone, saved.default_method) == ("Dana.R@example.com", "+14155550199",
                                                                 DeliveryMethod.SMS)
    # A form filled before that save is refused whole: nothing of it is written.
    late = check_profile("other@example.com", "", False, DeliveryMethod.EMAIL, "US")
    with pytest.raises(StaleProfile):
        update_profile(services.engine, dana.id, dana, late)
    assert get_staff(services.engine, dana.id) == saved
    # An email that belongs to someone else is refused, and nothing is written.
    sam = find_staff(services.engine, "sam@example.com")
    taken = check_profile("SAM@example.com", "", False, DeliveryMethod.EMAIL, "US")
    with pytest.raises(ValueError, match="already belongs to Sam Okafor"):
        update_profile(services.engine, dana.id, saved, taken)
    assert get_staff(services.engine, dana.id) == saved and get_staff(services.engine, sam.id) == sam


async def _leave_dana_with_a_new_mobile(pilot):  # type: ignore[no-untyped-def]
    """On Dana's Profile tab, type a new mobile and move on to Priya without saving; returns the mobile field."""
    from textual.widgets import Input

    await _ready(pilot)
    await pilot.press("P")
    phone = pilot.app.screen.query_one("#profile-phone", Input)
    phone.value = "415 555 0188"
    await pilot.press("ctrl+n")  # to Priya, the edit not saved
    await wait_for(pilot, lambda: phone.value == "", "Priya's form (no mobile)")
    return phone


async def test_profile_edits_left_unsaved_are_kept_for_that_staff_member(services: Services) -> None:
    """Moving to another staff member with edits not saved keeps them: they are back when the dispatcher returns,
    and can then be saved. Nothing is written meanwhile."""
    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        phone = await _leave_dana_with_a_new_mobile(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: any("Profile edits for Dana Reyes are kept" in str(n.message)
                                          for n in app._notifications), "the warning")
        assert get_staff(services.engine, dana.id) == dana  # nothing written
        await pilot.press("ctrl+p")  # back to Dana: the edit is there again
        await wait_for(pilot, lambda: phone.value == "415 555 0188", "the kept edit")
        problem = screen.query_one("#profile-problem")
        assert problem.display and "Edits kept from before, not saved yet" in str(problem.render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: get_staff(services.engine, dana.id).phone == "+14155550188", "the save")


async def test_kept_profile_edits_are_dropped_when_the_profile_changed_meanwhile(services: Services) -> None:
    from textual.widgets import Input

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        phone = await _leave_dana_with_a_new_mobile(pilot)
        screen = app.screen
        # Another process changes Dana's email meanwhile.
        with sqlite3.connect(services.settings.data_dir / "staff_feed.db") as conn:
            conn.execute("UPDATE staff SET email = 'dana.r@example.com' WHERE id = ?", (dana.id,))
        await wait_for(pilot, lambda: any(s.email == "dana.r@example.com"
                                          for s in screen.query_one("StaffList").staff), "the change seen")
        await pilot.press("ctrl+p")
        email = screen.query_one("#profile-email", Input)
        await wait_for(pilot, lambda: email.value == "dana.r@example.com", "the saved version")
        assert phone.value == "+14155550101"
        assert "unsaved edits for Dana Reyes were dropped" in str(screen.query_one("#profile-problem").render())


async def test_profile_tab_edits_and_refuses_bad_input(services: Services) -> None:
    from textual.widgets import Input, TabbedContent

    from staff_feed_tui.tui.widgets.choice import Choice, Tick
    from staff_feed_tui.tui.widgets.profile import ProfilePane

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("P")
        screen = app.screen
        assert screen.query_one("#staff-tabs", TabbedContent).active == "tab-profile"
        email = screen.query_one("#profile-email", Input)
        phone = screen.query_one("#profile-phone", Input)
        assert app.focused is email and email.value == "dana@example.com" and phone.value == "+14155550101"
        # A malformed number: said in words, the field focused, what was typed kept, nothing saved.
        phone.value = "555-12"
        await pilot.press("ctrl+s")
        problem = screen.query_one("#profile-problem")
        assert problem.display and "phone '555-12' is not a valid number" in str(problem.render())
        assert app.focused is phone and phone.value == "555-12"
        assert get_staff(services.engine, dana.id) == dana
        # A good edit: saved in one go, the header and the staff list follow.
        phone.value = "415 555 0177"
        screen.query_one("#profile-texts", Tick).value = True
        screen.query_one("#profile-method", Choice).value = "both"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: get_staff(services.engine, dana.id).phone == "+14155550177", "the save")
        assert get_staff(services.engine, dana.id).default_method is DeliveryMethod.BOTH
        await wait_for(pilot, lambda: "+14155550177" in str(screen.query_one("#feed-title").render()), "header")
        assert phone.value == "+14155550177" and not screen.query_one(ProfilePane).dirty
        # Another process changes the profile: the open form follows (it has no edits of its own).
        with sqlite3.connect(services.settings.data_dir / "staff_feed.db") as conn:
            conn.execute("UPDATE staff SET email = 'dana.reyes@example.com' WHERE id = ?", (dana.id,))
        await wait_for(pilot, lambda: email.value == "dana.reyes@example.com", "the other process's edit")
        await pilot.press("escape")
        assert screen.query_one("#staff-tabs", TabbedContent).active == "tab-feed"


def _long_feed(services: Services, count: int = 400) -> tuple[int, list[int]]:
    """Dana's feed of `count` messages, every 50th about the gate key; the hits, newest first."""
    dana = find_staff(services.engine, "dana@example.com")
    hits = []
    for n in range(count):
        body = f"gate key for visit {n}" if n % 50 == 7 else f"walk {n} done"
        message_id = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=body,
                                   now=NOW - timedelta(minutes=count - n))
        if n % 50 == 7:
            hits.append(message_id)
    return dana.id, hits[::-1]


def test_search_feed_and_all(services: Services) -> None:
    dana_id, hits = _long_feed(services, 120)
    assert [key[1] for key in search_feed(services.engine, dana_id, "KEY gate")] == hits
    assert search_feed(services.engine, dana_id, '" * NEAR OR -') == []  # FTS syntax typed: no error, no hit
    sam = find_staff(services.engine, "sam@example.com")
    other = queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body="key fob")
    remove_message(services.engine, hits[0], "alex")
    found = search_all(services.engine, "key")
    assert [m.id for m in found] == [other, *hits[1:]]  # newest first, the removed one left out


async def test_search_in_the_feed_jumps_between_hits(services: Services) -> None:
    _dana_id, hits = _long_feed(services)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) > 0, "the feed")
        await pilot.press("tab", "slash")
        line = app.screen.query_one("#search-line")
        assert app.focused is line
        line.value = "gate key"  # type: ignore[attr-defined]
        await pilot.press("enter")
        state = app.screen.query_one("#search-state")
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.id == hits[0], "the newest hit")
        assert "1 of 8" in str(state.render())
        for n in (1, 2, 3, 4, 5, 6, 7):  # n goes older, loading windows far from the newest page
            await pilot.press("n")
            await wait_for(pilot, lambda n=n: feed.selected is not None and feed.selected.id == hits[n], f"hit {n}")
            await wait_for(pilot, lambda: feed.selected_on_screen, f"hit {n} scrolled into view")
            assert f"{n + 1} of 8" in str(state.render())
        assert feed.selected is not None and "gate key" in feed.selected.body
        await pilot.press("N")
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.id == hits[6], "back one")
        await pilot.press("n", "n")  # wraps round to the newest
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.id == hits[0], "wrapped")
        # A search with no match says so.
        await pilot.press("slash")
        line.value = "zebra"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: "no match" in str(state.render()), "no match")


async def test_search_across_all_staff_opens_the_message(services: Services) -> None:
    from textual.widgets import OptionList

    from staff_feed_tui.tui.screens.search import SearchAllScreen
    from staff_feed_tui.tui.widgets.staff_list import StaffList

    dana_id, hits = _long_feed(services)
    sam = find_staff(services.engine, "sam@example.com")
    sams = queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex",
                         body="Sam, the gate key is in the lockbox")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("S")
        assert isinstance(app.screen, SearchAllScreen)
        app.screen.query_one("#search-all").value = "gate key"  # type: ignore[attr-defined]
        await pilot.press("enter")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 11, "two groups: Sam's hit, Dana's eight")
        prompts = [options.get_option_at_index(i).prompt.plain for i in range(11)]  # type: ignore[union-attr]
        assert prompts[0].startswith("Sam Okafor") and "1 hit" in prompts[0]
        assert prompts[2].startswith("Dana Reyes") and "8 hits" in prompts[2]
        await pilot.press("down")  # to the hits; the first hit is highlighted
        await pilot.press("down", "down")  # past Dana's heading (skipped) to her second newest hit
        await pilot.press("enter")
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: feed.selected is not None and feed.selected.id == hits[1], "Dana's feed at it")
        assert app.screen.query_one(StaffList).current.id == dana_id  # type: ignore[union-attr]
        assert app.focused is feed
    assert sams and len(feed_page(services.engine, dana_id, limit=1000)) == 400


async def test_a_burst_of_keys_is_handled_in_arrival_order(services: Services) -> None:
    """Keys that arrive in one read over a slow link: each goes to whatever has focus once the one before is done."""
    from textual import events
    from textual.widgets import Input

    def burst(app, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
        for key in keys:
            char = key if len(key) == 1 else None
            app.post_message(events.Key(key, char))

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        # Profile tab, Tab to the mobile field, clear it, type a bad number, save: all at once.
        burst(app, ["P", "tab", "ctrl+u", *"555-12", "ctrl+s"])
        problem = app.screen.query_one("#profile-problem")
        await wait_for(pilot, lambda: "phone '555-12' is not a valid number" in str(problem.render()), "the check")
        assert app.screen.query_one("#profile-phone", Input).value == "555-12"
        assert app.screen.query_one("#profile-email", Input).value == "dana@example.com"
        assert get_staff(services.engine, dana.id) == dana
        # Back to the feed, find Sam, open his feed, write to him: the text lands in Sam's composer.
        burst(app, ["escape", "ctrl+f", *"sam", "enter", "i", *"hello Sam"])
        await wait_for(pilot, lambda: app.screen.query_one("#composer").text == "hello Sam", "Sam's draft")  # type: ignore[attr-defined]
        assert str(app.screen.query_one("#feed-title").render()).startswith("Sam Okafor")


async def test_a_key_slow_to_reach_the_bindings_is_not_overtaken(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a loaded machine a key can take more than a second to bubble from the focused field up to the bindings
    (the field's own Ctrl+U is such a binding). The keys behind it still wait for it: before, they were let go after
    a second, typed first, and then Ctrl+U cleared them (seen as a flake of the burst test above)."""
    import asyncio

    from textual import events
    from textual.widgets import Input

    from staff_feed_tui.tui.widgets.profile import ProfilePane

    passed: list[str] = []

    async def slow_on_key(self, event: events.Key) -> None:  # type: ignore[no-untyped-def]
        if event.key == "ctrl+u":
            await asyncio.sleep(1.5)  # stands for a busy machine: the key sits here on its way up to the bindings
        passed.append(event.key)

    monkeypatch.setattr(ProfilePane, "on_key", slow_on_key, raising=False)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("P", "tab")
        phone = app.screen.query_one("#profile-phone", Input)
        await wait_for(pilot, lambda: app.focused is phone and phone.value == "+14155550101", "the mobile field")
        for key in ["ctrl+u", *"555-12"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(pilot, lambda: "ctrl+u" in passed and not app._keys_waiting and not app._key_busy(),
                       "every key handled")
        await pilot.pause()
        assert phone.value == "555-12"


@pytest.mark.parametrize(("size", "keys"), [((80, 24), "(n/N)"), ((120, 30), "· n older · N newer")])
async def test_the_search_state_fits_its_line(services: Services, size: tuple[int, int], keys: str) -> None:
    """Where the search stands, and its keys in full or (narrow) in short, never cut off."""
    from textual.widgets import Static

    _long_feed(services, 120)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) > 0, "Dana's feed")
        await pilot.press("tab", "slash", *"key", "enter")
        state = app.screen.query_one("#search-state", Static)
        await wait_for(pilot, lambda: str(state.render()).startswith("'key': 1 of 3"), "the search state")
        shown = str(state.render())
        assert shown.endswith(keys) and len(shown) <= state.content_region.width


def test_saving_a_profile_cleans_a_name_stored_with_control_characters(services: Services) -> None:
    """A name written before names were cleaned at import: saving the profile stores it with spaces instead."""
    from sqlalchemy import text

    dana = find_staff(services.engine, "dana@example.com")
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE staff SET name = :name WHERE id = :id"),
                     {"name": "Dana\x1b]52;c;aGk=\x07Reyes\u202e", "id": dana.id})
    before = get_staff(services.engine, dana.id)
    edit = check_profile(before.email, before.phone or "", before.accepts_texts, before.default_method, "US")
    saved = update_profile(services.engine, dana.id, before, edit)
    assert saved.name == get_staff(services.engine, dana.id).name == "Dana ]52;c;aGk= Reyes"
