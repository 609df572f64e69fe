"""The filter drawer: the query line, and the same filters as fields. Both edit one FilterValues.

A change to a choice or the attachments box applies at once; a typed field (dates, author, text, the query line)
applies on Enter or when focus leaves it. Each side is rewritten from the other, so the query line always shows the
filter in force, ready to copy or tweak. Esc closes the drawer and keeps the filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static

from staff_feed_tui.core.filters import FilterSyntaxError, FilterValues, parse_values
from staff_feed_tui.tui.compat import QuickInput
from staff_feed_tui.tui.widgets.choice import Choice, Tick

PRESETS = (("today", "Today"), ("7d", "7 days"), ("30d", "30 days"))
ANY = ""


class DrawerInput(QuickInput):
    """A field of the drawer: Enter applies, Esc closes the drawer; handled here so they act in key order."""

    def take_key(self, key: str) -> bool:
        if key not in ("enter", "escape"):
            return False
        drawer = next(a for a in self.ancestors if isinstance(a, FilterDrawer))
        if key == "enter":
            if self.cursor_at_end:
                self.action_cursor_right()  # takes the completion on show (the author's name), if any
            drawer.field_done(self)
        else:
            drawer.close()
        return True


class DrawerButton(Button):
    """A button of the drawer: Space presses it as Enter does, as on the ticks and choices beside it."""

    BINDINGS = [Binding("space", "press", "Press", show=False)]


class FilterDrawer(Vertical):
    # Its keys, for the help screen (each field handles them itself, as they arrive).
    HELP_KEYS = [
        Binding("enter", "apply", "Apply the filters and close the drawer"),
        Binding("space,left,right", "choose", "Choose (a tick, a choice, a date preset)"),
        Binding("tab,shift+tab", "next", "Next / previous field"),
        Binding("escape", "close", "Close the drawer"),
    ]
    DEFAULT_CSS = """
    FilterDrawer {
        height: auto;
        padding: 0 1;
        background: $boost;
        & > Horizontal { height: 1; }
        & Input { height: 1; background: $surface; }
        & .label { width: auto; text-style: bold; padding: 0 1 0 0; }
        & #filter-since, & #filter-until { width: 1fr; max-width: 14; margin: 0 1 0 0; }
        & #filter-author { width: 1fr; max-width: 16; margin: 0 1 0 0; }
        & #filter-text { width: 1fr; }
        & #filter-line { width: 1fr; }
        & Button { margin: 0 1 0 0; min-width: 0; }
        & #filter-clear { margin: 0 0 0 1; }
        & #filter-problem { height: auto; color: $error; text-style: bold; }
        & .hint { color: $text-muted; height: 1; }
    }
    """

    @dataclass
    class Applied(Message):
        """The filter in force changed."""

        drawer: FilterDrawer
        values: FilterValues

    @dataclass
    class Closed(Message):
        drawer: FilterDrawer

    def __init__(self, clock: Callable[[], datetime], *, on_apply: Callable[[FilterValues], None] | None = None,
                 on_close: Callable[[], None] | None = None, id: str | None = None) -> None:
        """`on_apply` and `on_close` are called as the key that applies or closes is handled: a key typed straight
        after (`\\` to open the drawer again, say) then finds the drawer and the focus already where they belong.
        Without them, Applied and Closed are posted."""
        super().__init__(id=id)
        self._clock = clock
        self._on_apply = on_apply
        self._on_close = on_close
        self.values = FilterValues()

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
        else:
            self.post_message(self.Closed(self))

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(":filter", classes="label")
            yield DrawerInput(placeholder="-d 7d -a -r received -c sms -s failed words…", id="filter-line",
                             compact=True)
            yield DrawerButton("Clear filters", id="filter-clear", compact=True)
        yield Static("", id="filter-problem")
        with Horizontal():
            yield Static("From", classes="label")
            yield DrawerInput(placeholder="2026-11-01/7d", id="filter-since", compact=True)
            yield Static("To", classes="label")
            yield DrawerInput(placeholder="date", id="filter-until", compact=True)
        with Horizontal():
            yield Static("Last", classes="label")
            for value, label in PRESETS:
                yield DrawerButton(label, id=f"preset-{value}", compact=True)
        yield Tick("Has attachments", id="filter-attachments")
        yield Choice("Direction", [(ANY, "Any"), ("sent", "Sent"), ("received", "Received")], id="filter-direction")
        yield Choice("Channel", [(ANY, "Any"), ("email", "Email"), ("sms", "SMS")], id="filter-channel")
        yield Choice("Status", [(ANY, "Any"), ("pending", "Pending"), ("delivered", "Delivered"),
                                ("failed", "Failed")], id="filter-status")
        with Horizontal():
            yield Static("Author", classes="label")
            yield DrawerInput(placeholder="dispatcher", id="filter-author", compact=True)
            yield Static("Text", classes="label")
            yield DrawerInput(placeholder="words, \"a phrase\"", id="filter-text", compact=True)
        yield Static("Enter apply · Space/←→ choose · Tab next · Esc close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#filter-problem").display = False

    def set_authors(self, names: list[str]) -> None:
        """The dispatchers the author field completes from (→ or Enter takes the completion)."""
        self.query_one("#filter-author", Input).suggester = SuggestFromList(names, case_sensitive=False)

    # ---- values <-> fields ------------------------------------------------------------------------------------

    def show_values(self, values: FilterValues) -> None:
        """Fill every field (and the query line) from `values`, without applying anything."""
        self.values = values
        with self.prevent(Input.Changed, Tick.Changed, Choice.Changed):
            self.query_one("#filter-line", Input).value = values.to_line()
            self.query_one("#filter-since", Input).value = values.since
            self.query_one("#filter-until", Input).value = values.until
            self.query_one("#filter-attachments", Tick).value = values.has_attachments
            self.query_one("#filter-direction", Choice).value = values.direction
            self.query_one("#filter-channel", Choice).value = values.channel
            self.query_one("#filter-status", Choice).value = values.status
            self.query_one("#filter-author", Input).value = values.author
            self.query_one("#filter-text", Input).value = values.text

    def _from_fields(self) -> FilterValues:
        return FilterValues(
            since=self.query_one("#filter-since", Input).value.strip(),
            until=self.query_one("#filter-until", Input).value.strip(),
            has_attachments=self.query_one("#filter-attachments", Tick).value,
            direction=self.query_one("#filter-direction", Choice).value,
            channel=self.query_one("#filter-channel", Choice).value,
            status=self.query_one("#filter-status", Choice).value,
            author=self.query_one("#filter-author", Input).value.strip(),
            text=self.query_one("#filter-text", Input).value.strip(),
        )

    def problem(self, text: Text | str | None) -> None:
        label = self.query_one("#filter-problem", Static)
        label.update(text or "")
        label.display = bool(text)

    def _apply(self, values: FilterValues) -> bool:
        """Check the dates, then put `values` in force and in every field; False (and the problem shown) when a
        date cannot be read."""
        now = self._clock()
        for name, shown in (("since", "From"), ("until", "To")):
            raw = getattr(values, name)
            if raw:
                try:
                    FilterValues(**{name: raw}).to_filter(now)
                except ValueError as exc:  # the message quotes what was typed: never read as markup
                    self.problem(Text(f"{shown}: {exc}"))
                    return False
        self.problem(None)
        self.show_values(values)
        if self._on_apply is not None:
            self._on_apply(values)
        else:
            self.post_message(self.Applied(self, values))
        return True

    def apply_line(self, line: str) -> bool:
        """Parse and apply a query line; a mistake is shown under it with a caret at its column."""
        try:
            values = parse_values(line, self._clock())
        except FilterSyntaxError as exc:
            self.problem(Text(f"{line}\n{' ' * exc.position}^ {exc.message}"))
            return False
        return self._apply(values)

    def field_done(self, field: Input) -> None:
        # Typed and applied: back to the feed to see the matches (the query line only when it could be read).
        if field.id == "filter-line":
            if self.apply_line(field.value):
                self.close()
        elif self._apply(self._from_fields()):
            self.close()

    def clear(self) -> None:
        self._apply(FilterValues())

    # ---- events -----------------------------------------------------------------------------------------------

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        # Leaving a typed field applies it, unless nothing changed (Tab through the fields costs no reload).
        if event.input.id == "filter-line":
            if event.input.value.strip() != self.values.to_line():
                self.apply_line(event.input.value)
        elif self._from_fields() != self.values:
            self._apply(self._from_fields())

    @on(Tick.Changed)
    @on(Choice.Changed)
    def _toggled(self, event: Message) -> None:
        event.stop()
        self._apply(self._from_fields())

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "filter-clear":
            self.clear()
        elif event.button.id and event.button.id.startswith("preset-"):
            preset = event.button.id.removeprefix("preset-")
            self._apply(replace(self._from_fields(), since=preset, until=""))

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.close()

    def focus_line(self) -> None:
        self.screen.set_focus(self.query_one("#filter-line", Input))
