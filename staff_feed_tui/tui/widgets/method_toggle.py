"""The delivery-method toggle: Email, SMS or Both, with SMS offered only where texting is possible."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from staff_feed_tui.core.types import DeliveryMethod

ORDER = (DeliveryMethod.EMAIL, DeliveryMethod.SMS, DeliveryMethod.BOTH)
LABELS = {DeliveryMethod.EMAIL: "Email", DeliveryMethod.SMS: "SMS", DeliveryMethod.BOTH: "Both"}


class MethodToggle(Widget, can_focus=True):
    """`Via: (•) Email  ( ) SMS  ( ) Both`. Left/Right or Space choose; the marks read without colour."""

    BINDINGS = [
        Binding("left,h", "step(-1)", "Previous method", show=False),
        Binding("right,l,space", "step(1)", "Next method", show=False),
    ]
    DEFAULT_CSS = """
    MethodToggle { height: auto; padding: 0 1; }
    MethodToggle:focus { text-style: bold; background: $boost; }
    """

    method: reactive[DeliveryMethod] = reactive(DeliveryMethod.EMAIL)
    unavailable: reactive[str | None] = reactive(None, layout=True)  # the reason may take a second line

    @dataclass
    class Changed(Message):
        toggle: MethodToggle
        method: DeliveryMethod

    def offer(self, unavailable: str | None, preferred: DeliveryMethod) -> None:
        """Set what may be chosen (`unavailable` is why SMS is not, or None) and choose `preferred` if allowed."""
        self.unavailable = unavailable
        self.method = preferred if unavailable is None else DeliveryMethod.EMAIL

    def watch_method(self, method: DeliveryMethod) -> None:
        self.post_message(self.Changed(self, method))

    def action_step(self, delta: int) -> None:
        if self.unavailable is not None:
            self.app.bell()
            return
        self.method = ORDER[(ORDER.index(self.method) + delta) % len(ORDER)]

    def render(self) -> Text:
        text = Text("Via: ", style="bold")
        for method in ORDER:
            allowed = method is DeliveryMethod.EMAIL or self.unavailable is None
            mark = "(•)" if method is self.method else ("( )" if allowed else "(-)")
            text.append(f"{mark} {LABELS[method]}  ", style="" if allowed else "dim strike")
        if self.unavailable:
            reason = f"SMS unavailable: {self.unavailable}"
            if text.cell_len + len(reason) > self.content_size.width:
                text.rstrip()
                text.append("\n")  # the reason on a line of its own rather than broken after "SMS"
            text.append(reason, style="italic")
        return text
