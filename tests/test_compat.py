"""Pins on the Textual behaviour that `tui/compat.py` relies on: a Textual upgrade that changes one fails here."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, TextArea

from staff_feed_tui.tui.compat import KeysFirst, KeysInArrivalOrder, QuickInput, set_virtual_size
from tests.test_tui import wait_for


class _EnterMovesOn(KeysFirst, Input):
    def take_key(self, key: str) -> bool:
        if key != "enter":
            return False
        self.screen.set_focus(self.screen.query_one("#second"))
        return True


def _fields() -> ComposeResult:
    yield _EnterMovesOn(id="first")
    yield Input(id="second")


class _Plain(App[None]):
    def compose(self) -> ComposeResult:
        yield from _fields()


class _Ordered(KeysInArrivalOrder):
    def compose(self) -> ComposeResult:
        yield from _fields()


def _burst(app: App[None], keys: str) -> None:
    """Keys that arrive in one read, as over a slow link: all posted before any is handled."""
    for key in keys:
        app.post_message(events.Key("enter" if key == "\n" else key, None if key == "\n" else key))


async def test_textual_hands_a_burst_to_the_widget_focused_when_it_arrives() -> None:
    """What KeysInArrivalOrder works around: without it, keys after one that moves focus go to the old field."""
    app = _Plain()
    async with app.run_test() as pilot:
        _burst(app, "ab\ncd")
        second = app.query_one("#second", Input)
        await wait_for(pilot, lambda: app.focused is second, "the focus to move")
        await pilot.pause()
        assert app.query_one("#first", Input).value == "abcd" and second.value == ""


async def test_keys_in_arrival_order_go_where_the_focus_has_moved() -> None:
    app = _Ordered()
    async with app.run_test() as pilot:
        _burst(app, "ab\ncd")
        second = app.query_one("#second", Input)
        await wait_for(pilot, lambda: second.value == "cd", "the keys after Enter in the second field")
        assert app.query_one("#first", Input).value == "ab"


async def test_keys_held_while_starting_are_handed_out_on_release() -> None:
    class Starting(_Ordered):
        holding = True

        def keys_on_hold(self) -> bool:
            return self.holding

    app = Starting()
    async with app.run_test() as pilot:
        _burst(app, "xy")
        await pilot.pause()
        first = app.query_one("#first", Input)
        assert first.value == ""
        app.holding = False
        app.release_keys()
        await wait_for(pilot, lambda: first.value == "xy", "the held keys")


class _Area(KeysFirst, TextArea):
    taken: list[str]

    def take_key(self, key: str) -> bool:
        if key == "enter":
            self.taken.append(key)
            return True
        return False


async def test_keys_first_runs_before_the_base_class_and_lets_other_keys_through() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            area = _Area()
            area.taken = []
            yield area

    app = Host()
    async with app.run_test() as pilot:
        area = app.query_one(_Area)
        area.focus()
        await pilot.press("a", "enter", "b")
        assert area.taken == ["enter"]
        assert area.text == "ab"  # Enter never reached TextArea (no newline); each letter was inserted once


async def test_quick_input_sizes_itself_without_a_layout_and_reports_each_value() -> None:
    class Field(QuickInput):
        seen: list[str] = []

        def value_now(self, value: str) -> None:
            self.seen.append(value)

    changed: list[str] = []

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield Field()

        def on_input_changed(self, event: Input.Changed) -> None:
            changed.append(event.value)

    app = Host()
    async with app.run_test() as pilot:
        field = app.query_one(Field)
        field.focus()
        await pilot.press("a", "b", "c")
        await wait_for(pilot, lambda: changed[-1:] == ["abc"], "Input's Changed messages")
        assert field.seen[-3:] == ["a", "ab", "abc"]
        assert field.virtual_size == Size(field.content_width, 1)  # what Input._watch_value would have set
        assert "_watch_value" in Input.__dict__  # the hook QuickInput overrides


class _Lines(ScrollView):
    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.size.width)


async def test_set_virtual_size_tells_the_scrollbar_without_a_layout() -> None:
    class Host(App[None]):
        CSS = "_Lines { height: 10; }"

        def compose(self) -> ComposeResult:
            yield _Lines()

    app = Host()
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.query_one(_Lines)
        view.virtual_size = Size(view.scrollable_content_region.width, 100)
        await pilot.pause()
        assert view.show_vertical_scrollbar
        layouts: list[bool] = []
        refresh = view.refresh
        view.refresh = lambda *a, layout=False, **k: (layouts.append(layout), refresh(*a, layout=layout, **k))[1]
        set_virtual_size(view, Size(view.virtual_size.width, 250))
        await pilot.pause()
        assert view.vertical_scrollbar.window_virtual_size == 250 and view.max_scroll_y == 250 - view.scrollable_content_region.height
        assert layouts and not any(layouts)
        view.virtual_size = Size(view.virtual_size.width, 300)  # the reactive itself lays out
        assert layouts[-1] is True
        assert "_scroll_update" in Widget.__dict__  # what set_virtual_size calls
