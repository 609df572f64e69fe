"""Every use of a Textual private, in one place.

Each one is pinned by a test in `tests/test_compat.py` that checks the Textual behaviour it relies on, so a Textual
upgrade that changes one fails there, in one place, rather than as a subtle fault somewhere in the app:
- `KeysInArrivalOrder`: `App.on_event`, `App._on_key` and `Message._stop_propagation`;
- `KeysFirst`: a subclass's `_on_key` runs before its Textual base class's, which `prevent_default` then skips;
- `QuickInput`: `Input._watch_value`;
- `set_virtual_size`: `Widget._scroll_update`.
"""

from __future__ import annotations

import time
from collections import deque

from textual import events
from textual.app import App
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

# The longest a key waits for the one before it while that one's widget is still there. A key whose widget went away
# is let go at once; this bound is only for a key lost some other way. It is not a guess at how long handling takes:
# on a loaded machine a key took over a second to bubble up to the bindings, and the keys let go after it landed first.
KEY_WAIT_S = 10.0


class KeysInArrivalOrder(App[int]):
    """An App that hands out each key only once the key before it has been handled.

    Textual hands a key to the widget focused when it arrives. Over a slow link several keys arrive in one read
    ("Enter Tab x"), and a key that moves focus has not been handled yet when the next one is handed out, so the
    next one would go to the old widget. Here a key waits until the one before it has been handled (stopped by a
    widget, or back at the App for the bindings), then goes to whatever has focus by then.
    """

    def __init__(self) -> None:
        super().__init__()
        self._key_in_flight: events.Key | None = None
        self._key_target: Widget | None = None  # the widget the key in flight was handed to
        self._key_in_flight_since = 0.0
        self._keys_waiting: deque[events.Key] = deque()
        self._key_timer: Timer | None = None

    def keys_on_hold(self) -> bool:
        """True while there is nothing to give keys to yet (the app is starting): they are kept until
        `release_keys`."""
        return False

    def release_keys(self) -> None:
        """Hand out the keys kept while `keys_on_hold`."""
        if self._keys_waiting:
            self.call_later(self._next_key)  # a message to the app (this may be called from a screen's task)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.keys_on_hold() and event.key != "ctrl+q":
                self._keys_waiting.append(event)
                return
            if self._keys_waiting or self._key_busy():
                self._keys_waiting.append(event)
                self._wake_later()
                return
            await self._send_key(event)
            return
        await super().on_event(event)

    async def _send_key(self, event: events.Key) -> None:
        self._key_in_flight = event
        self._key_in_flight_since = time.monotonic()
        target = self._key_target = self.focused or self.screen
        await super().on_event(event)
        if not event.is_forwarded:  # a priority binding took it: done already
            self._key_in_flight = None
        else:
            # Right after the target has handled it (a message queued behind the key), look again: a key stopped
            # there is done; one that bubbles on is done when it reaches `_on_key` below.
            target.call_later(self.call_later, self._next_key)

    def _wake_later(self) -> None:
        """A fallback look at the waiting keys, for a key stopped on its way up (not at its target)."""
        if self._key_timer is None:
            self._key_timer = self.set_timer(0.02, self._woken)  # held here: Textual keeps timers weakly

    async def _woken(self) -> None:
        self._key_timer = None
        await self._next_key()

    def _key_busy(self) -> bool:
        key = self._key_in_flight
        if key is None:
            return False
        target = self._key_target
        gone = target is not None and not target.is_attached
        if key._stop_propagation or gone or time.monotonic() - self._key_in_flight_since > KEY_WAIT_S:  # noqa: SLF001
            self._key_in_flight = None
            return False
        return True

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls each class's `_on_key` in turn; this one runs App's itself (then marks the key done), so
        # the default dispatch is stopped here to keep App's from running a second time.
        event.prevent_default()
        try:
            await super()._on_key(event)
        finally:
            if event is self._key_in_flight:
                self._key_in_flight = None
                if self._keys_waiting:
                    self.call_next(self._next_key)

    async def _next_key(self) -> None:
        while self._keys_waiting and not self._key_busy():
            await self._send_key(self._keys_waiting.popleft())
        if self._keys_waiting:
            self._wake_later()


class KeysFirst:
    """A mixin for a Textual widget that takes some keys before its base class does (TextArea inserts a newline
    for Enter before any binding is looked at). Handling them here, as the key arrives, also keeps them in key
    order: a binding or a posted message would act after keys typed straight after.

    Put it before the Textual class: `class Composer(KeysFirst, TextArea)`.
    """

    def take_key(self, key: str) -> bool:
        """Act on `key` and return True, or return False to let the widget have it."""
        return False

    async def _on_key(self, event: events.Key) -> None:
        if self.take_key(event.key):
            event.stop()
            event.prevent_default()
        # Otherwise the base class's own `_on_key` runs next: Textual calls the handler of each class in the MRO.


class QuickInput(KeysFirst, Input):
    """A text field that does not lay out the whole screen on each keystroke.

    Textual's Input sets its `virtual_size` to the width of its text on every change, and `virtual_size` is a layout
    reactive: each keystroke cost a layout of the whole screen (about 20 ms with 10,000 staff in the list). The size
    is stored first here, without the layout, so the assignment inside Input is a no-op; the field is still
    repainted. `value_now` runs in the same step, so what it changes is painted in the same frame as the letter.
    """

    def value_now(self, value: str) -> None:
        """The value changed (called before the Changed message is even posted)."""

    def _watch_value(self, value: str) -> None:
        self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)
        self.refresh()
        self.value_now(value)


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Change a line-API view's virtual size without a whole-screen layout when the layout cannot change.

    `virtual_size` is a reactive with `layout=True`: every assignment re-lays-out and repaints the whole screen
    (about 50 ms a keystroke here with the feed and the composer on screen). Unless the vertical scrollbar must
    appear or go away, the new size only needs the scrollbars told and this widget repainted.
    """
    old = view.virtual_size
    if old == size:
        return
    height = view.scrollable_content_region.height
    needs_scrollbar_change = (old.height > height) != (size.height > height) and view.styles.overflow_y == "auto"
    if needs_scrollbar_change or old.width != size.width:
        view.virtual_size = size
        return
    view.set_reactive(Widget.virtual_size, size)
    view._scroll_update(size)  # noqa: SLF001 - what Widget._size_updated does for a size change without layout
    view.refresh()
