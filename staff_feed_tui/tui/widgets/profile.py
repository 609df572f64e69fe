"""The Profile tab: a staff member's contact details and texting settings, shown and edited.

Edits are checked (email-validator, phonenumbers) before anything is written, and saved in one transaction only if
nobody changed the profile since the form was filled; a refused field keeps what was typed and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import DeliveryMethod, StaffView
from staff_feed_tui.core.validation import InvalidContact, ProfileEdit, ProfileProblem
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.staff import StaffNotFound, StaleProfile, check_profile_edit, get_staff, update_profile
from staff_feed_tui.tui.compat import QuickInput
from staff_feed_tui.tui.widgets.choice import Choice, Tick

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp

METHODS = [(m.value, {"email": "Email", "sms": "SMS", "both": "Both"}[m.value]) for m in DeliveryMethod]


class ProfileInput(QuickInput):
    """Enter moves on (or saves on the last field), handled here so it acts in key order."""

    def take_key(self, key: str) -> bool:
        if key != "enter":
            return False
        self.screen.focus_next()
        return True


class ProfilePane(Vertical):
    app: StaffFeedApp  # its services, typed

    BINDINGS = [
        Binding("ctrl+s", "save", "Save profile", priority=True),
        Binding("ctrl+z", "revert", "Revert", show=False),
    ]
    DEFAULT_CSS = """
    ProfilePane {
        padding: 1 1 0 1;
        & > Horizontal { height: 1; margin: 0 0 1 0; }
        & .label { width: 10; text-style: bold; }
        & Input { width: 1fr; max-width: 48; }
        & #profile-optout { height: auto; margin: 0 0 1 0; }
        & #profile-problem { height: auto; color: $error; text-style: bold; }
        & #profile-buttons { height: 1; }
        & Button { margin: 0 2 0 0; min-width: 0; }
        & .hint { color: $text-muted; height: auto; }
    }
    """

    @dataclass
    class Saved(Message):
        staff: StaffView

    @dataclass
    class _Result(Message):
        staff: StaffView | None
        problem: str | None
        field: str | None = None
        reloaded: StaffView | None = None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._staff: StaffView | None = None
        self._saving = False
        self._stale = False  # the staff member changed while the tab was hidden: fill the form when shown
        # Edits not saved when the dispatcher moved to another staff member: staff id -> (the profile they were
        # made on, the fields as typed). They are put back when that staff member's form is filled again.
        self._kept: dict[int, tuple[StaffView, tuple[str, str, bool, str]]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("Email", classes="label")
            yield ProfileInput(id="profile-email", compact=True)
        with Horizontal():
            yield Static("Mobile", classes="label")
            yield ProfileInput(placeholder="+14155550101 or a local number", id="profile-phone", compact=True)
        with Horizontal():
            yield Static("Texts", classes="label")
            yield Tick("Accepts texts", id="profile-texts")
        with Horizontal():
            yield Static("Default", classes="label")
            yield Choice("", METHODS, id="profile-method")
        yield Static("", id="profile-optout")
        yield Static("", id="profile-problem")
        with Horizontal(id="profile-buttons"):
            yield Button("Save (Ctrl+S)", id="profile-save", compact=True)
            yield Button("Revert", id="profile-revert", compact=True)
        yield Static("Tab next field · Ctrl+S save · Esc back to the Conversation Feed", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#profile-problem").display = False

    def show_staff(self, staff: StaffView, *, keep_edits: bool = False) -> None:
        """Fill the form from `staff`. With `keep_edits`, a form being edited for the same staff member is left.

        While the Profile tab is hidden the form is filled when it is next shown: changing the fields of a hidden
        form would still cost a layout of the whole screen each time a dispatcher moves to another staff member.
        """
        if keep_edits and self._staff is not None and self._staff.id == staff.id and self.dirty:
            # The form stays on the version it was filled from: were it moved on to a newer one saved elsewhere,
            # saving the edit would overwrite that one without a word (the stale check compares with this).
            return
        if self._staff is not None and self._staff.id != staff.id and self.dirty:
            self._kept[self._staff.id] = (self._staff, self._fields())
        self._staff = staff
        if not (self.parent is not None and self.parent.display):
            self._stale = True
            return
        self._fill(staff)

    def ensure_filled(self) -> None:
        """The tab is being shown: fill the form if the staff member changed while it was hidden."""
        if self._stale and self._staff is not None:
            self._fill(self._staff)

    def _fill(self, staff: StaffView) -> None:
        self._stale = False
        self._set_fields((staff.email, staff.phone or "", staff.accepts_texts, staff.default_method.value))
        if staff.sms_opted_out:
            when = format_when(staff.sms_opted_out_at, datetime.now(UTC)) if staff.sms_opted_out_at else "a while ago"
            words = (f"Opted out of texts: replied STOP ({when}). Texts stay off until the staff member texts START; "
                     "a dispatcher cannot turn them back on.")
        else:
            words = "Not opted out of texts."
        self.query_one("#profile-optout", Static).update(Text(words))
        self._problem(None)
        kept = self._kept.pop(staff.id, None)
        if kept is None:
            return
        base, fields = kept
        if base != staff:
            self._problem(f"Your unsaved edits for {safe_line(staff.name)} were dropped: the profile was changed elsewhere "
                          "meanwhile. This is the saved version.")
            return
        self._set_fields(fields)
        self._problem("Edits kept from before, not saved yet: Ctrl+S saves them, Revert drops them.")

    def _set_fields(self, fields: tuple[str, str, bool, str]) -> None:
        email, phone, texts, method = fields
        self.query_one("#profile-email", Input).value = email
        self.query_one("#profile-phone", Input).value = phone
        self.query_one("#profile-texts", Tick).value = texts
        self.query_one("#profile-method", Choice).value = method

    def _fields(self) -> tuple[str, str, bool, str]:
        """Email, mobile, accepts texts, default method, as they stand in the form."""
        return (
            self.query_one("#profile-email", Input).value,
            self.query_one("#profile-phone", Input).value,
            self.query_one("#profile-texts", Tick).value,
            self.query_one("#profile-method", Choice).value,
        )

    @property
    def dirty(self) -> bool:
        staff = self._staff
        if staff is None or self._stale:
            return False
        email, phone, texts, method = self._fields()
        return (email.strip(), phone.strip(), texts, method) != (
            staff.email, staff.phone or "", staff.accepts_texts, staff.default_method.value
        )

    def _problem(self, text: str | None) -> None:
        label = self.query_one("#profile-problem", Static)
        label.update(Text(text or ""))
        label.display = bool(text)

    def action_save(self) -> None:
        staff = self._staff
        if staff is None or self._saving:
            return
        email, phone, texts, method = self._fields()
        try:
            edit = check_profile_edit(self.app.services, email, phone, texts, DeliveryMethod(method))
        except ProfileProblem as exc:
            self._problem(f"Not saved: {exc}")
            self._focus_field(exc.field)
            return
        self._saving = True
        self._problem(None)
        self._save(staff, edit)

    @work(thread=True, exclusive=True, exit_on_error=False, group="profile")
    def _save(self, staff: StaffView, edit: ProfileEdit) -> None:
        services = self.app.services
        try:
            saved = update_profile(services, staff.id, staff, edit)
        except StaleProfile as exc:
            self.post_message(self._Result(None, f"Not saved: {exc}.", reloaded=get_staff(services, staff.id)))
        except InvalidContact as exc:
            self.post_message(self._Result(None, f"Not saved: {exc}", field="email"))
        except (StaffNotFound, DatabaseBusy) as exc:
            self.post_message(self._Result(None, f"Not saved: {exc}"))
        else:
            self.post_message(self._Result(saved, None))

    @on(_Result)
    def _result(self, event: _Result) -> None:
        self._saving = False
        if event.staff is not None:
            self.show_staff(event.staff)
            self.notify(f"Profile of {safe_line(event.staff.name)} saved.", timeout=3)
            self.post_message(self.Saved(event.staff))
            return
        problem = event.problem
        if event.reloaded is not None:
            # Someone saved first. This dispatcher's edit stays in the fields; the saved one is shown beside it and
            # becomes what the form is compared with, so saving again is a choice made knowing both.
            saved = event.reloaded
            self._staff = saved
            problem = (f"{problem} Saved meanwhile: {safe_line(saved.email)}, mobile {saved.phone or 'none'}, "
                       f"texts {'yes' if saved.accepts_texts else 'no'}, by {saved.default_method.value}. "
                       "Your edit is kept here: Ctrl+S saves it over that one, Ctrl+Z takes the saved one.")
        self._problem(problem)
        if event.field:
            self._focus_field(event.field)

    def _focus_field(self, field: str) -> None:
        target = {"email": "#profile-email", "phone": "#profile-phone", "method": "#profile-method"}.get(field)
        if target:
            self.screen.set_focus(self.query_one(target))

    def action_revert(self) -> None:
        if self._staff is not None:
            self.show_staff(self._staff)

    @on(Button.Pressed, "#profile-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#profile-revert")
    def _revert_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_revert()

    def focus_first(self) -> None:
        self.screen.set_focus(self.query_one("#profile-email", Input))
