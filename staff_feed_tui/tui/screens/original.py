"""The whole original of a received email (`v` on the message): its headers, its whole text with the quoted
history, and its files by name. The sender's text is data: shown through safe_text, never as markup."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from staff_feed_tui.core.safe_text import safe_text


class OriginalEmailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "dismiss", "Close")]

    DEFAULT_CSS = """
    OriginalEmailScreen { align: center middle; }
    OriginalEmailScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """

    @dataclass
    class Loaded(Message):
        text: str

    def __init__(self, message_id: int) -> None:
        super().__init__()
        self.message_id = message_id

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("The whole email (Esc closes)", style="bold"))
            yield Static(Text("loading…"), id="original-text")

    def on_mount(self) -> None:
        self.load(self.app.services, self.message_id)  # type: ignore[attr-defined]

    @work(thread=True, exit_on_error=False, group="original")
    def load(self, services: object, message_id: int) -> None:
        from staff_feed_tui.services.inbound_email import original_email

        text = original_email(services, message_id)  # type: ignore[arg-type]
        self.post_message(self.Loaded(text if text is not None else "This message did not come by email."))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.query_one("#original-text", Static).update(Text(safe_text(event.text)))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
