"""The feed's window model, without Textual: replacing, paging, merging changes, and the selection in view."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from staff_feed_tui.core.types import Direction, MessageView
from staff_feed_tui.tui.widgets.feed_window import MAX_WINDOW, FeedWindow, message_in_view

BASE = datetime(2026, 11, 30, 8, tzinfo=UTC)


def _messages(first: int, count: int, *, deleted: bool = False) -> list[MessageView]:
    return [MessageView(id=n, staff_id=1, direction=Direction.IN if n % 3 == 0 else Direction.OUT, author="alex",
                        body=f"message {n}", created_at=BASE + timedelta(minutes=n), revision=1,
                        deleted_at=BASE if deleted else None) for n in range(first, first + count)]


def _ids(window: FeedWindow) -> list[int]:
    return [m.id for m in window.messages]


def test_replace_selects_the_newest_then_keeps_the_selection() -> None:
    window = FeedWindow()
    window.replace(_messages(1, 10), reset=True, at_oldest=True, at_newest=True, unread_after=4)
    assert window.selected is not None and window.selected.id == 10 and window.unread_after == 4
    window.cursor = 3
    window.replace(_messages(1, 12), reset=False, at_oldest=True, at_newest=True, unread_after=9)
    assert window.selected.id == 4 and window.unread_after == 4  # only a reset takes a new unread marker
    window.replace(_messages(5, 5), reset=False, at_oldest=True, at_newest=True)
    assert window.selected.id == 9  # the selected message left the window: the newest
    window.replace(_messages(1, 12), reset=False, at_oldest=True, at_newest=True, top=True)
    assert window.selected.id == 1
    window.replace(_messages(1, 12), reset=False, at_oldest=True, at_newest=True, select_id=7)
    assert window.selected.id == 7
    window.replace([], reset=True, at_oldest=True, at_newest=True)
    assert window.selected is None


def test_a_page_for_a_replaced_window_is_dropped() -> None:
    window = FeedWindow()
    window.replace(_messages(100, 10), reset=True, at_oldest=False, at_newest=True)
    (request,) = window.pages_wanted(near_top=True, near_bottom=True)
    assert request.older and request.key == (BASE + timedelta(minutes=100), 100)
    assert window.pages_wanted(near_top=True, near_bottom=True) == []  # one on its way already
    window.replace(_messages(100, 10), reset=True, at_oldest=False, at_newest=True)  # a filter, a jump
    assert not window.add_page(_messages(90, 10), older=True, at_edge=True, window=request.window)
    assert _ids(window) == list(range(100, 110))
    (again,) = window.pages_wanted(near_top=True, near_bottom=False)
    assert window.add_page(_messages(90, 10), older=True, at_edge=True, window=again.window)
    assert _ids(window) == list(range(90, 110)) and window.at_oldest
    assert window.selected.id == 109  # the selection stays on its message


def test_the_window_never_holds_more_than_its_limit() -> None:
    window = FeedWindow()
    window.replace(_messages(10_000, MAX_WINDOW), reset=True, at_oldest=False, at_newest=True)
    window.cursor = 0
    window.add_page(_messages(9_800, 200), older=True, at_edge=False, window=None)
    assert len(window.messages) == MAX_WINDOW and not window.at_newest and window.messages[0].id == 9_800
    assert window.selected.id == 10_000
    window.add_page(_messages(10_400, 300), older=False, at_edge=True, window=None)
    assert len(window.messages) == MAX_WINDOW and not window.at_oldest and window.messages[-1].id == 10_699


def test_changes_update_drop_and_count_arrivals() -> None:
    window = FeedWindow()
    window.replace(_messages(1, 5), reset=True, at_oldest=True, at_newest=True)
    edited = replace(_messages(3, 1)[0], body="edited", revision=2)
    merged = window.merged([*_messages(2, 1, deleted=True), edited, *_messages(6, 2)], following=True)
    assert [m.id for m in merged] == [1, 3, 4, 5, 6, 7] and window.more == 0
    assert merged[1].body == "edited"
    window.replace(merged, reset=False, at_oldest=True, at_newest=True)
    window.merged(_messages(8, 1), following=False)  # scrolled up: counted for -MORE-
    assert window.more == 1
    window.at_newest = False
    merged = window.merged(_messages(9, 2), following=True)  # beyond the window: counted, not added
    assert [m.id for m in merged] == [1, 3, 4, 5, 6, 7] and window.more == 3


def test_the_selection_stays_in_view() -> None:
    starts = [0, 4, 8, 12, 30, 34]  # message 3 is 18 lines long
    assert message_in_view(starts, top=0, height=10, cursor=1) == 1  # on screen: kept
    assert message_in_view(starts, top=10, height=10, cursor=0) == 3  # off screen: the first that starts on it
    assert message_in_view(starts, top=14, height=10, cursor=5) == 3  # one long message fills the view
    assert message_in_view(starts, top=30, height=10, cursor=0) == 4
    assert message_in_view([], top=0, height=10, cursor=None) is None


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60), st.integers(0, 2000), st.integers(1, 60),
       st.none() | st.integers(0, 59))
def test_the_selection_is_always_on_screen(lengths: list[int], top: int, height: int, cursor: int | None) -> None:
    starts = [sum(lengths[:n]) for n in range(len(lengths))]
    total = sum(lengths)
    top = min(top, max(0, total - height))
    chosen = message_in_view(starts, top, height, cursor)
    assert chosen is not None
    end = starts[chosen] + lengths[chosen]
    assert starts[chosen] < top + height and end > top  # some of the chosen message shows
