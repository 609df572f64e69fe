"""The staff list: a line-API view over every staff member, filtered as a dispatcher types.

OptionList measures every option, which grows with the roster; this renders only the rows on screen, and a filter
is one pass over precomputed lower-case keys, so a keystroke costs about the same at ten thousand staff as at ten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.types import StaffView
from staff_feed_tui.tui.compat import set_virtual_size


def staff_flags(staff: StaffView) -> str:
    """Flags in words, so they read without colour: `sms` when texts are possible, `STOP` after an opt-out."""
    if staff.sms_opted_out:
        return "STOP"
    if staff.accepts_texts and staff.phone:
        return "sms"
    return ""


class StaffList(ScrollView, can_focus=True):
    """Moving the cursor chooses the staff member whose feed shows on the right."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "First", show=False),
        Binding("G,end", "last", "Last", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("o", "toggle_sort", "Sort by name/activity"),
        Binding("right_square_bracket,alt+a", "next_unread", "Next unread"),
    ]

    COMPONENT_CLASSES = {"staff-list--cursor", "staff-list--cursor-blurred", "staff-list--flag",
                         "staff-list--unread", "staff-list--stop"}
    DEFAULT_CSS = """
    StaffList {
        overflow-x: hidden;
        & > .staff-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                   text-style: bold; }
        & > .staff-list--cursor-blurred { background: $primary 30%; text-style: bold underline; }
        & > .staff-list--flag { color: $text-muted; }
        & > .staff-list--stop { text-style: bold; }
        & > .staff-list--unread { text-style: bold; color: $warning; }
    }
    """

    def __init__(self, *, on_choose: Callable[[StaffView], None] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._staff: list[StaffView] = []
        self._keys: list[str] = []  # "name email phone", lower-case, for the filter
        self._shown: list[int] = []  # indexes into _staff, in display order
        self._cursor = 0
        self._unread: dict[int, int] = {}
        self._activity: dict[int, datetime] = {}
        self._query = ""
        self._style_cache: dict[bool, dict[str, Style]] = {}
        self.sort_by_activity = False
        self.on_choose = on_choose

    # ---- data -------------------------------------------------------------------------------------------------

    @property
    def staff(self) -> Sequence[StaffView]:
        return self._staff

    @property
    def shown(self) -> list[StaffView]:
        return [self._staff[i] for i in self._shown]

    @property
    def unread(self) -> dict[int, int]:
        return self._unread

    @property
    def current(self) -> StaffView | None:
        if not self._shown:
            return None
        return self._staff[self._shown[min(self._cursor, len(self._shown) - 1)]]

    def set_staff(self, staff: Sequence[StaffView], unread: dict[int, int] | None = None) -> None:
        current = self.current
        self._staff = list(staff)
        self._keys = [f"{s.name} {s.email} {s.phone or ''}".lower() for s in self._staff]
        if unread is not None:
            self._unread = dict(unread)
        self._arrange(keep=current)

    def set_unread(self, unread: dict[int, int]) -> None:
        if unread != self._unread:
            self._unread = dict(unread)
            self.refresh()

    def set_activity(self, activity: dict[int, datetime]) -> None:
        self._activity = dict(activity)
        if self.sort_by_activity:
            self._arrange(keep=self.current, choose=False)

    def note_activity(self, staff_id: int, when: datetime) -> None:
        """A message for `staff_id` at `when`: with sorting by activity, they move to the top."""
        if self._activity.get(staff_id) is None or when > self._activity[staff_id]:
            self._activity[staff_id] = when
            if self.sort_by_activity:
                self._arrange(keep=self.current, choose=False)

    def filter(self, query: str) -> None:
        """Show only staff whose name, email or phone contains `query` (any case).

        The feed does not follow each keystroke: the cursor's staff member is opened when the dispatcher leaves
        the find box (see `choose_current`) or moves in the list.
        """
        query = query.strip().lower()
        if query == self._query and self._shown:
            return
        self._query = query
        self._arrange(keep=self.current, choose=False)

    def choose_current(self) -> None:
        self._chosen()

    def select_staff(self, staff_id: int) -> bool:
        """Put the cursor on a staff member without opening their feed; False if the find box hides them."""
        for position, index in enumerate(self._shown):
            if self._staff[index].id == staff_id:
                self._cursor = position
                self._scroll_to_cursor()
                self.refresh()
                return True
        return False

    def _arrange(self, keep: StaffView | None, choose: bool = True) -> None:
        query = self._query
        indexes = [i for i, key in enumerate(self._keys) if query in key] if query else list(range(len(self._staff)))
        if self.sort_by_activity:
            activity = self._activity
            staff = self._staff

            def latest(i: int) -> float:
                when = activity.get(staff[i].id)
                return when.timestamp() if when is not None else float("-inf")

            indexes.sort(key=latest, reverse=True)
        self._shown = indexes
        self._cursor = 0
        if keep is not None:
            for position, index in enumerate(indexes):
                if self._staff[index].id == keep.id:
                    self._cursor = position
                    break
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(indexes)))
        self.scroll_to(y=0, animate=False, immediate=True)  # a new order starts at its top
        self._scroll_to_cursor()
        self.refresh()
        if choose:
            self._chosen()

    # ---- rendering --------------------------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        """The row styles, worked out once per focus state: asking the CSS for each row cost 0.25 ms a row."""
        key = self.has_focus
        cached = self._style_cache.get(key)
        if cached is None:
            component = self.get_component_rich_style
            base = self.rich_style
            cursor = base + component("staff-list--cursor" if key else "staff-list--cursor-blurred")
            cached = {
                "base": base, "cursor": cursor, "flag": component("staff-list--flag"),
                "stop": component("staff-list--stop"), "unread": component("staff-list--unread"),
            }
            self._style_cache[key] = cached
        return cached

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_offset.y) + y
        styles = self._styles()
        if row >= len(self._shown):
            if row == 0 and self._query:
                return Strip([Segment(f" no staff match {safe_line(self._query)!r}"[:width].ljust(width))], width)
            return Strip.blank(width, styles["base"])
        staff = self._staff[self._shown[row]]
        flags = staff_flags(staff)
        base = styles["cursor"] if row == self._cursor else styles["base"]
        keep_background = Style(bgcolor=base.bgcolor)
        segments = [
            Segment(f"{flags:<5}", base + styles["stop" if flags == "STOP" else "flag"] + keep_background),
            Segment(safe_line(staff.name), base),
        ]
        used = 5 + segments[1].cell_length
        if staff.email_bounced:  # in words, so it reads without colour
            segments.append(Segment(" bounced", base + styles["stop"] + keep_background))
            used += len(" bounced")
        count = self._unread.get(staff.id)
        if count:
            text = f" ({count})"
            segments.append(Segment(text, base + styles["unread"] + keep_background))
            used += len(text)
        segments.append(Segment(" " * max(0, width - used), base))
        # The row's own colours first, then the cursor's background over the whole width.
        return Strip(segments).crop_extend(0, width, base)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ---- moving -----------------------------------------------------------------------------------------------

    def _move_to(self, position: int) -> None:
        if not self._shown:
            return
        position = max(0, min(len(self._shown) - 1, position))
        if position == self._cursor:
            return
        self._cursor = position
        self._scroll_to_cursor()
        self.refresh()
        self._chosen()

    def _chosen(self) -> None:
        staff = self.current
        if staff is not None and self.on_choose is not None:
            # Called now, not by a posted message: keys typed right after a move (say `i` and a message) must land
            # in the composer of the staff member the dispatcher moved to.
            self.on_choose(staff)

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, immediate=True)

    def step(self, delta: int) -> None:
        """Ctrl+N / Ctrl+P: next or previous, wrapping round."""
        if self._shown:
            self._move_to((self._cursor + delta) % len(self._shown))

    def action_cursor_down(self) -> None:
        self._move_to(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self._move_to(self._cursor - 1)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self._shown) - 1)

    def action_page_down(self) -> None:
        self._move_to(self._cursor + max(1, self.scrollable_content_region.height - 1))

    def action_page_up(self) -> None:
        self._move_to(self._cursor - max(1, self.scrollable_content_region.height - 1))

    def action_toggle_sort(self) -> None:
        self.sort_by_activity = not self.sort_by_activity
        self._arrange(keep=self.current, choose=False)
        self.notify("Staff sorted by latest activity" if self.sort_by_activity else "Staff sorted by name", timeout=2)

    def action_next_unread(self) -> None:
        """Jump to the next staff member (after the cursor, wrapping) with unread messages."""
        count = len(self._shown)
        for offset in range(1, count + 1):
            position = (self._cursor + offset) % count
            if self._unread.get(self._staff[self._shown[position]].id):
                self._move_to(position)
                return
        self.notify("No unread messages.", timeout=2)
