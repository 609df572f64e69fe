"""The Conversation Feed: a line-API ScrollView that renders only the lines on screen.

One widget for the whole feed, never one widget per message (docs/architecture.md, "Measured decisions"): ListView
took 85 s to mount 10,000 items here, while `render_line` stays near constant at any size. Each message's wrapped
lines are cached per (message id, revision, delivery states, width, day); the cursor is drawn as a gutter at render
time, so moving it re-wraps nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from staff_feed_tui.core.draft import human_size
from staff_feed_tui.core.safe_text import safe_line, safe_text
from staff_feed_tui.core.timefmt import format_day, format_when
from staff_feed_tui.core.types import Channel, DeliveryStatus, Direction, MessageView
from staff_feed_tui.tui.compat import set_virtual_size
from staff_feed_tui.tui.widgets.feed_window import FeedWindow, message_in_view

GUTTER = 2
CACHE_SIZE = 2000  # messages' wrapped lines kept
MAX_PAINTED = 4000  # painted lines kept (a few screens either way)
EDGE = 40  # lines from either end of the window at which the next page is asked for


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Line:
    strip: Strip
    message: int  # index into the window, or -1 for a day separator or a hint


class FeedView(ScrollView, can_focus=True):
    """The selected staff member's messages, oldest at the top, newest at the bottom."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Next message", show=False),
        Binding("k,up", "cursor_up", "Previous message", show=False),
        Binding("g,home", "first", "Oldest", show=False),
        Binding("G,end", "last", "Newest", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("R", "retry", "Retry failed"),
        Binding("x", "cancel", "Cancel queued"),
        Binding("M", "mark_unread", "Mark unread"),
        Binding("d", "remove", "Remove message"),
        Binding("v", "view_original", "Whole email", show=False),
    ]

    COMPONENT_CLASSES = {
        "feed--day",
        "feed--time",
        "feed--out",
        "feed--in",
        "feed--meta",
        "feed--attachment",
        "feed--ok",
        "feed--pending",
        "feed--failed",
        "feed--cursor",
        "feed--hint",
        "feed--unread",
        "feed--more",
        "feed--hit",
    }

    DEFAULT_CSS = """
    FeedView {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
        & > .feed--day { color: $text-muted; text-style: bold; }
        & > .feed--time { text-style: bold; }
        & > .feed--out { color: $primary; text-style: bold; }
        & > .feed--in { color: $secondary; text-style: bold; }
        & > .feed--meta { color: $text-muted; }
        & > .feed--attachment { color: $text-muted; }
        & > .feed--ok { color: $success; }
        & > .feed--pending { color: $warning; }
        & > .feed--failed { color: $error; text-style: bold; }
        & > .feed--cursor { color: $accent; text-style: bold; }
        & > .feed--hint { color: $text-muted; text-style: italic; }
        & > .feed--unread { color: $warning; text-style: bold; }
        & > .feed--hit { text-style: reverse bold; }
        & > .feed--more { background: $warning; color: $background; text-style: bold reverse; }
    }
    """

    @dataclass
    class PageWanted(Message):
        """The view neared an edge of its window: load the page older (or newer) than `key`."""

        feed: FeedView
        older: bool
        key: tuple[datetime, int]
        window: int = 0  # which window asked: a page for one since replaced (a jump, a filter) is dropped

    @dataclass
    class JumpWanted(Message):
        """Home/End went past the window: load the oldest (or newest) page."""

        feed: FeedView
        oldest: bool

    @dataclass
    class MarkUnreadRequested(Message):
        message: MessageView

    @dataclass
    class RemoveRequested(Message):
        message: MessageView

    @dataclass
    class RetryRequested(Message):
        """A dispatcher asked to retry the selected message's failed deliveries."""

        message: MessageView

    @dataclass
    class OriginalRequested(Message):
        """A dispatcher asked for the whole original of the selected received email."""

        message: MessageView

    @dataclass
    class CancelRequested(Message):
        """A dispatcher asked to cancel the selected message's queued deliveries."""

        message: MessageView

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _now,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self.window = FeedWindow()
        self._lines: list[_Line] = []
        self._starts: list[int] = []  # first line of each message
        self._staff_name = ""
        self._cache: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(CACHE_SIZE)
        self._width = 0
        # Whether the view follows the newest message. Kept from scroll events rather than measured in
        # set_messages, because a scroll to the end queued by an earlier load may not have happened yet.
        self._pinned = True
        self.empty_hint = "No messages yet. Write one below and press Enter to send."
        self._highlight: tuple[str, ...] = ()  # search words shown marked in bodies
        # Lines as painted (gutter, width, style applied), so a frame or a scroll builds only the lines it has not
        # shown before: each Strip built costs more than its text. Emptied when the lines are laid out again.
        self._painted: LRUCache[tuple[int, bool, int, Style, Style], Strip] = LRUCache(MAX_PAINTED)
        self._styles: tuple[Style, Style] | None = None  # this frame's base and cursor styles

    def set_highlight(self, words: Sequence[str]) -> None:
        """Mark these words (a search) in every body shown; an empty list clears the marks."""
        words = tuple(w for w in words if w)
        if words != self._highlight:
            self._highlight = words
            anchor = self._anchor()
            self._rebuild()
            if anchor is not None:
                self._restore(anchor)
            self.refresh()

    @property
    def selected_on_screen(self) -> bool:
        """Whether the selected message's first line is inside the view."""
        cursor = self.window.cursor
        if cursor is None or cursor >= len(self._starts):
            return False
        top = int(self.scroll_offset.y)
        return top <= self._starts[cursor] < top + self.scrollable_content_region.height

    def select_id(self, message_id: int) -> bool:
        """Move the cursor to a message in the window (centred); False when it is not in the window."""
        index = self.window.find(message_id)
        if index is None:
            return False
        self.window.cursor = index
        self._center(index)
        self.refresh()
        return True

    # ---- data -------------------------------------------------------------------------------------------------

    @property
    def messages(self) -> Sequence[MessageView]:
        return self.window.messages

    @property
    def selected(self) -> MessageView | None:
        return self.window.selected

    @property
    def at_oldest(self) -> bool:
        return self.window.at_oldest

    @property
    def at_newest(self) -> bool:
        return self.window.at_newest

    def set_messages(
        self,
        messages: Sequence[MessageView],
        *,
        staff_name: str,
        reset: bool,
        at_oldest: bool = True,
        at_newest: bool = True,
        unread_after: int | None = None,
        top: bool = False,
        select_id: int | None = None,
    ) -> None:
        """Show a window of `messages` (oldest first). With `reset`, jump to the newest (or, with `top`, to the
        oldest; with `select_id`, to that message); otherwise keep the view where it was. A view at the bottom
        follows new messages down; one scrolled up stays put on the same message.
        """
        anchor = None if top or select_id is not None else self._anchor()
        self.window.replace(messages, reset=reset, at_oldest=at_oldest, at_newest=at_newest,
                            unread_after=unread_after, top=top, select_id=select_id)
        self._staff_name = staff_name
        self._rebuild()
        if top or select_id is not None:  # a jump: to the oldest message, or to one message
            self._pinned = False
            cursor = self.window.cursor
            if select_id is not None:
                if cursor is not None:
                    self.call_after_refresh(self._center, cursor)
            else:
                self.call_after_refresh(self.scroll_home, animate=False, immediate=True, force=True)
            self.refresh()
            return
        at_bottom = self._pinned
        # The new virtual size applies on the next refresh; scroll once it has.
        if reset or at_bottom:
            self._pinned = True
            # Every scroll here is forced: Textual refuses one while the last layout showed no scrollbar (a feed
            # replaced before the layout caught up), and the view then stayed at the top.
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)
        elif anchor is not None:
            self.call_after_refresh(self._restore, anchor)
        self.refresh()

    def _anchor(self) -> tuple[int, int] | None:
        """The message at the top of the view and how far into it the view starts."""
        top = int(self.scroll_offset.y)
        if not self._lines or top >= len(self._lines):
            return None
        # A day separator or the unread marker at the top: anchor on the first message below it instead.
        for line in self._lines[top : top + 4]:
            if line.message >= 0:
                return self.window.messages[line.message].id, top - self._starts[line.message]
        return None

    def _restore(self, anchor: tuple[int, int]) -> None:
        message_id, offset = anchor
        index = self.window.find(message_id)
        if index is not None and index < len(self._starts):
            self.scroll_to(y=self._starts[index] + offset, animate=False, immediate=True, force=True)

    def rendered_lines(self) -> list[str]:
        """Every laid-out line as plain text, cursor gutter excluded (for tests and copying)."""
        return [line.strip.text for line in self._lines]

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._pinned = new_value >= self.max_scroll_y and self.at_newest
        if self._pinned and self.window.more:
            self.window.more = 0
            self.refresh()
        self._want_pages()

    def add_page(self, messages: Sequence[MessageView], *, older: bool, at_edge: bool, window: int | None = None) -> None:
        """Add a page loaded for an edge of the window, keeping what is on screen exactly where it is.

        The window keeps at most MAX_WINDOW messages: the far end is let go (and loaded again if scrolled back to),
        so memory stays flat however far a dispatcher scrolls.
        """
        anchor = self._anchor()
        if not self.window.add_page(messages, older=older, at_edge=at_edge, window=window):
            return  # asked for by a window since replaced (Home, End, a search hit, new filters)
        self._rebuild()
        if anchor is not None:
            self._restore(anchor)
        self.refresh()

    def apply_changes(self, changed: Sequence[MessageView]) -> None:
        """Messages that changed or arrived (from any process): update those in the window, add new ones at the
        bottom when the window reaches the newest, and otherwise count them for the -MORE- hint."""
        if not changed:
            return
        updated = self.window.merged(changed, following=self._pinned)
        self.set_messages(updated, staff_name=self._staff_name, reset=False, at_oldest=self.at_oldest,
                          at_newest=self.at_newest)

    def _want_pages(self) -> None:
        """Ask for the next page when the view comes within EDGE lines of either end of its window."""
        top = int(self.scroll_offset.y)
        for page in self.window.pages_wanted(near_top=top < EDGE, near_bottom=top > self.max_scroll_y - EDGE):
            self.post_message(self.PageWanted(self, page.older, page.key, page.window))

    # ---- layout -----------------------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        width = max(10, self.scrollable_content_region.width - GUTTER)
        self._width = width
        now = self._clock()
        day_style = self.get_component_rich_style("feed--day")
        lines: list[_Line] = []
        starts: list[int] = []
        last_day = None
        marked = False
        unread_after = self.window.unread_after
        for index, message in enumerate(self.window.messages):
            if (
                not marked
                and unread_after is not None
                and message.direction is Direction.IN
                and message.id > unread_after
            ):
                marker = " new ".center(width, "━")
                lines.append(_Line(Strip([Segment(marker, self.get_component_rich_style("feed--unread"))], width), -1))
                marked = True
            day = message.created_at.astimezone().date()
            if day != last_day:
                label = f" {format_day(message.created_at, now)} "
                rule = label.center(width, "─")
                lines.append(_Line(Strip([Segment(rule, day_style)], width), -1))
                last_day = day
            starts.append(len(lines))
            for strip in self._message_strips(message, width, now):
                lines.append(_Line(strip, index))
        if not self.window.messages:
            hint = Text(self.empty_hint, style=self.get_component_rich_style("feed--hint"))
            for line in hint.wrap(self.app.console, width):
                lines.append(_Line(Strip(line.render(self.app.console), line.cell_len), -1))
        self._lines = lines
        self._painted.clear()
        self._starts = starts
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(lines)))

    def _message_strips(self, message: MessageView, width: int, now: datetime) -> list[Strip]:
        key = (message.id, message.revision, message.deliveries, message.note, width, now.astimezone().date(),
               self._highlight)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        strips = self._render_message(message, width, now)
        self._cache.set(key, strips)
        return strips

    def _render_message(self, message: MessageView, width: int, now: datetime) -> list[Strip]:
        style = self.get_component_rich_style
        console = self.app.console
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(format_when(message.created_at, now), style("feed--time"))
        header.append("  ")
        if message.direction is Direction.OUT:
            header.append("→ sent", style("feed--out"))
            header.append(f" by {safe_line(message.author or 'unknown')}", style("feed--meta"))
        else:
            header.append("← received", style("feed--in"))
            header.append(f" from {safe_line(self._staff_name)}", style("feed--meta"))
            if message.received_by is Channel.EMAIL:
                header.append(" by email", style("feed--meta"))
        texts = [header]
        # Text() never parses markup: "[bold]" in a body shows as typed. safe_text() defuses terminal controls.
        body = Text(safe_text(message.body) if message.body else "(no text)")
        if self._highlight:
            body.highlight_words(self._highlight, style=style("feed--hit"), case_sensitive=False)
        texts.append(body)
        for a in message.attachments:
            texts.append(
                Text(f"  ↳ {safe_line(a.filename)} · {human_size(a.size)} · {a.mime_type}", style("feed--attachment"))
            )
        if message.note:
            texts.append(Text(f"  note: {safe_line(message.note)}", style("feed--pending")))
        if message.deliveries:
            status = Text("  ")
            for n, d in enumerate(message.deliveries):
                if n:
                    status.append(" · ", style("feed--meta"))
                status.append(f"{d.channel.value}: ", style("feed--meta"))
                if d.status.is_failure:
                    status.append(d.status.label, style("feed--failed"))
                    if d.last_error:
                        status.append(f" ({safe_line(d.last_error)})", style("feed--failed"))
                elif d.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
                    status.append(d.status.label, style("feed--ok"))
                else:
                    status.append(d.status.label, style("feed--pending"))
                    if d.last_error and d.status is DeliveryStatus.QUEUED:
                        status.append(f" (retrying: {safe_line(d.last_error)})", style("feed--meta"))
            texts.append(status)
        strips: list[Strip] = []
        for text in texts:
            for line in text.wrap(console, width):
                strips.append(Strip(line.render(console), line.cell_len))
        strips.append(Strip.blank(0))
        return strips

    @on(Resize)
    def _on_resize(self, event: Resize) -> None:
        if not event.size.width or not event.size.height:
            return  # hidden (another tab is showing): keep the lines and the place until it is back
        width = max(10, self.scrollable_content_region.width - GUTTER)
        if width != self._width:
            # A view at the newest message stays there (rewrapped lines move the bottom); any other keeps the
            # message at its top. This also covers a feed shown before its first layout.
            pinned = self._pinned
            anchor = None if pinned else self._anchor()
            self._rebuild()
            if pinned:
                self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)
            elif anchor is not None:
                self._restore(anchor)
        elif self._pinned:
            # Taller or shorter (the drawer or the composer came or went): a view at the newest message stays there.
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)

    # ---- rendering --------------------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The styles are worked out from the CSS on each call: once a frame here, rather than once a line.
        self._styles = (self.rich_style, self.get_component_rich_style("feed--cursor"))
        try:
            return super().render_lines(crop)
        finally:
            self._styles = None

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base, cursor_style = self._styles or (self.rich_style, self.get_component_rich_style("feed--cursor"))
        more = self.window.more
        if more and y == self.scrollable_content_region.height - 1:
            hint = f" -MORE- {more} new message{'s' if more != 1 else ''} below (End) "
            return Strip([Segment(hint.ljust(width)[:width], self.get_component_rich_style("feed--more"))], width)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]
        cursor = bool(line.message >= 0 and line.message == self.window.cursor and line.strip.cell_length)
        key = (index, cursor, width, base, cursor_style)
        strip = self._painted.get(key)
        if strip is None:
            gutter = Segment("▌ ", cursor_style) if cursor else Segment(" " * GUTTER)
            strip = Strip([gutter, *line.strip], GUTTER + line.strip.cell_length)
            strip = strip.crop_extend(0, width, None).apply_style(base)
            self._painted.set(key, strip)
        return strip

    # ---- cursor -----------------------------------------------------------------------------------------------

    def _move(self, index: int) -> None:
        if not self.window.messages:
            return
        index = max(0, min(len(self.window.messages) - 1, index))
        self.window.cursor = index
        self._scroll_to_message(index)
        self.refresh()

    def _center(self, index: int) -> None:
        """Scroll so the message at `index` sits a third of the way down the view."""
        if index < len(self._starts):
            height = self.scrollable_content_region.height
            self.scroll_to(y=max(0, self._starts[index] - height // 3), animate=False, immediate=True, force=True)

    def _scroll_to_message(self, index: int) -> None:
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._lines)
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if index == 0:
            start = 0  # show the day separator above the oldest message too
        if start < top:
            self.scroll_to(y=start, animate=False, immediate=True, force=True)
        elif end > top + height:
            self.scroll_to(y=max(start - 1, end - height) if end - start > height else end - height, animate=False,
                           immediate=True, force=True)

    def action_remove(self) -> None:
        if self.selected is not None:
            self.post_message(self.RemoveRequested(self.selected))

    def action_mark_unread(self) -> None:
        if self.selected is not None:
            self.window.unread_after = self.selected.id - 1
            self._rebuild()
            self.refresh()
            self.post_message(self.MarkUnreadRequested(self.selected))

    def action_retry(self) -> None:
        if self.selected is not None:
            self.post_message(self.RetryRequested(self.selected))

    def action_view_original(self) -> None:
        if self.selected is not None:
            self.post_message(self.OriginalRequested(self.selected))

    def action_cancel(self) -> None:
        if self.selected is not None:
            self.post_message(self.CancelRequested(self.selected))

    def action_cursor_down(self) -> None:
        cursor = self.window.cursor
        self._move(0 if cursor is None else cursor + 1)

    def action_cursor_up(self) -> None:
        cursor = self.window.cursor
        self._move(0 if cursor is None else cursor - 1)

    def action_first(self) -> None:
        if not self.at_oldest:
            self.post_message(self.JumpWanted(self, True))
            return
        self._move(0)
        self.scroll_home(animate=False, immediate=True, force=True)

    def action_last(self) -> None:
        if not self.at_newest:
            self.post_message(self.JumpWanted(self, False))
            return
        self.window.more = 0
        self._move(len(self.window.messages) - 1)
        self.scroll_end(animate=False, immediate=True, force=True)

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(1)

    def _page(self, step: int) -> None:
        """Move the view a screen and keep the selection on screen. The view moves now, not in an animation:
        the selection is worked out from where the view is going, so `d`, `x`, `R` and `M` act on a message the
        dispatcher can see."""
        height = self.scrollable_content_region.height
        top = max(0, min(int(self.max_scroll_y), int(self.scroll_offset.y) + step * height))
        self.scroll_to(y=top, animate=False, immediate=True, force=True)
        self.window.cursor = message_in_view(self._starts, top, height, self.window.cursor)
        self.refresh()
