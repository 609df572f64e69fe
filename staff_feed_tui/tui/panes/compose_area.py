"""The compose area under the feed: the Email/SMS toggle, the composer, the attachment tray, the key hint, the file
picker, the editor and the MMS question. It owns the drafts (a DraftBook) and asks for a send by posting
`SendRequested` with the draft; the screen sends it and tells it how that went."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker

from staff_feed_tui.core.draft import AttachmentFile, DraftError, human_size, pasted_file_path
from staff_feed_tui.core.lockdown import EditorRefused
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.segments import MAX_SMS_CHARS, WARN_SEGMENTS, count_segments
from staff_feed_tui.core.types import Channel, StaffView
from staff_feed_tui.tui.editor import edit_in_editor
from staff_feed_tui.tui.messages import DraftsLoaded, DraftState
from staff_feed_tui.tui.panes import say_worker_failed
from staff_feed_tui.tui.panes.drafts import ERRORS as DRAFT_ERRORS
from staff_feed_tui.tui.panes.drafts import DraftBook
from staff_feed_tui.tui.screens.pickers import AttachPicker, Question
from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.method_toggle import MethodToggle

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

DRAFT_SAVE_DELAY_S = 1.0
# The keys under the composer, in order of use; each in its long form, then shorter ones for a narrow pane.
KEYS = [("Enter send",), ("^J new line",), ("^O attach (Tab, Del removes)", "^O attach"), ("^T Email/SMS",),
        ("F4 editor",), ("Esc leave",)]
SMS_KEYS = [("Enter send",), ("^O attach",), ("^T Email/SMS",), ("Esc leave",)]


class ComposeArea(Vertical):
    """Everything a dispatcher writes with, for the staff member shown."""


    @dataclass
    class SendRequested(Message):
        """Send `draft` to `staff` (with `files_by_email`, the files go by email only, the text as chosen)."""

        staff: StaffView
        draft: DraftState
        files_by_email: bool = False

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._services = services
        self.drafts = DraftBook(self, services)
        self._staff: StaffView | None = None
        self._draft_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-error")
        yield MethodToggle(id="method")
        yield Composer(id="composer")
        yield AttachmentTray(id="tray")
        yield Static("", id="composer-hint")

    def on_mount(self) -> None:
        self.error_line.display = False
        self.drafts.load()

    # ---- the parts --------------------------------------------------------------------------------------------

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def tray(self) -> AttachmentTray:
        return self.query_one(AttachmentTray)

    @property
    def toggle(self) -> MethodToggle:
        return self.query_one(MethodToggle)

    @property
    def error_line(self) -> Static:
        return self.query_one("#composer-error", Static)

    @property
    def hint_line(self) -> Static:
        return self.query_one("#composer-hint", Static)

    # ---- the staff member and the draft -----------------------------------------------------------------------

    def show_staff(self, staff: StaffView, *, sms_unavailable: str | None, changed: bool) -> None:
        """Offer what `staff` can receive; another staff member brings their own draft (this one is kept)."""
        previous = self._staff
        if changed and previous is not None:
            self.keep_draft(previous)
        self._staff = staff
        toggle = self.toggle
        toggle.offer(sms_unavailable, toggle.method if not changed else staff.default_method)
        if changed:
            self._fill(self.drafts.get(staff.id))
        self.update_hint()

    def _fill(self, draft: DraftState) -> None:
        composer = self.composer
        if composer.text != draft.body:  # an unchanged text is not set again (that would redraw it)
            composer.text = draft.body
        self.tray.set_files(draft.files)
        toggle = self.toggle
        if draft.method is not None and toggle.unavailable is None:
            toggle.method = draft.method
        self.set_error(draft.problem)

    @on(DraftsLoaded)
    def _drafts_loaded(self, event: DraftsLoaded) -> None:
        event.stop()
        self.drafts.loaded(event.drafts)
        if self._staff is not None and self.drafts.has(self._staff.id) and self.current_draft().empty:
            self._fill(self.drafts.get(self._staff.id))

    def current_draft(self) -> DraftState:
        return DraftState(self.composer.text, self.tray.files, self.toggle.method)

    def keep_draft(self, staff: StaffView) -> None:
        self.drafts.keep(staff.id, self.current_draft())

    def save_open_draft_now(self) -> None:
        if self._staff is not None:
            self.drafts.save_now(self._staff.id, self.current_draft())

    def _draft_changed(self) -> None:
        """Save the open draft a moment after the typing stops, so a crash or a closed SSH session loses little."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
        staff = self._staff
        if staff is not None:
            self._draft_timer = self.set_timer(DRAFT_SAVE_DELAY_S, lambda: self.keep_draft(staff))

    def set_error(self, text: str | None) -> None:
        label = self.error_line
        if not text and not label.display:
            return  # already clear: nothing to lay out again
        label.update(Text(text or ""))
        label.display = bool(text)

    # ---- the hint ---------------------------------------------------------------------------------------------

    def update_hint(self) -> None:
        """While SMS is chosen the segment count (`42/160 · 1 segment · GSM-7`), then the keys, as many as fit."""
        label = self.hint_line
        width = label.content_region.width or 1000  # before the first layout: all of it, cropped
        keys = KEYS
        hint = Text()
        if Channel.SMS in self.toggle.method.channels:
            count = count_segments(self.composer.text.rstrip())
            style = "bold" if count.warn or count.too_long else ""
            hint = Text("SMS " + count.describe(), style=style)
            if count.too_long:
                hint.append(f"  · over {MAX_SMS_CHARS} characters: too long to text", style="bold")
            elif count.warn:
                hint.append(f"  · more than {WARN_SEGMENTS} segments", style="bold")
            keys = SMS_KEYS
        separator = "  ·  " if hint.cell_len else ""  # the count, then the keys
        for key in keys:  # in order of use, long or short; from the first that does not fit on, the footer has them
            room = width - hint.cell_len - len(separator)
            fits = [words for words in key if len(words) <= room]
            if not fits:
                break
            hint.append(separator + fits[0])
            separator = " · "
        label.update(hint, layout=False)  # one line, fixed: no re-layout

    def on_resize(self) -> None:
        self.update_hint()

    @on(Composer.Changed)
    def _composer_changed(self) -> None:
        self.update_hint()
        self._draft_changed()

    @on(MethodToggle.Changed)
    def _method_changed(self) -> None:
        self.update_hint()

    def cycle_method(self) -> None:
        self.toggle.action_step(1)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        say_worker_failed(self, event, DRAFT_ERRORS)

    # ---- sending ----------------------------------------------------------------------------------------------

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        if self._staff is None:
            self.set_error("choose a staff member first")
            return
        self.set_error(None)
        draft = self.current_draft()
        typed_path = None if draft.files else pasted_file_path(draft.body)
        if typed_path is not None:
            self._offer_attach(typed_path, sending=True)
            return
        self.post_message(self.SendRequested(self._staff, draft))

    def sent(self, staff: StaffView) -> None:
        """`staff`'s draft was queued: it is cleared (here, if it is the one shown, and in the database)."""
        self.drafts.forget(staff.id)
        if self._staff is not None and self._staff.id == staff.id:
            if self._draft_timer is not None:
                self._draft_timer.stop()
            self.composer.clear()
            self.tray.set_files([])

    def refused(self, reason: str) -> None:
        self.set_error(f"Not sent: {reason}")

    def ask_about_mms(self, staff: StaffView, draft: DraftState, problems: list[str]) -> None:
        def answered(answer: str | None) -> None:
            if answer == "email":
                self.post_message(self.SendRequested(staff, draft, files_by_email=True))
            else:
                self.set_error("Not sent: the files break the MMS limits. Remove some, or send them by email only.")

        body = "\n".join(f"• {p}" for p in problems)
        body += "\n\nThe text can go by SMS without them, and the files by email."
        self.app.push_screen(
            Question("These files cannot go by text", body, {"e": ("email", "send the files by email only")}),
            answered,
        )

    # ---- attachments and the editor ---------------------------------------------------------------------------

    def attach(self) -> None:
        """Ctrl+O: the file picker; chosen files join the tray."""
        if self._staff is None:
            return
        tray = self.tray

        def chosen(files: list[AttachmentFile] | None) -> None:
            if files:
                tray.set_files([*tray.files, *files])
                self.set_error(None)
                self._draft_changed()
            self.screen.set_focus(self.composer)

        scope = self._services.policy.attach  # a locked session picks only under tui.attach_root
        self.app.push_screen(AttachPicker(scope.start_dir(Path.cwd()), tray.files, scope), chosen)

    def _offer_attach(self, raw: str, *, sending: bool = False) -> None:
        tray = self.tray
        composer = self.composer
        try:
            file = self._services.policy.attach.check(raw, Path.cwd(), tray.files)
        except DraftError as exc:
            self.set_error(str(exc))
            return

        def answered(answer: str | None) -> None:
            if answer == "attach":
                tray.set_files([*tray.files, file])
                if sending:
                    composer.clear()
            elif answer == "text":
                if sending and self._staff is not None:
                    self.post_message(self.SendRequested(self._staff, self.current_draft()))
                else:
                    composer.insert(raw)

        self.app.push_screen(
            Question(
                "Attach this file?",
                f"{safe_line(raw)}\n{human_size(file.size)} · {file.mime_type}",
                {"y": ("attach", "attach it"), "n": ("text", "send the path as text" if sending else "paste as text")},
            ),
            answered,
        )

    @on(Composer.PathPasted)
    def _path_pasted(self, event: Composer.PathPasted) -> None:
        event.stop()
        self._offer_attach(event.path)

    @on(AttachmentTray.Removed)
    def _file_removed(self, event: AttachmentTray.Removed) -> None:
        event.stop()
        self._draft_changed()
        self.notify(f"Removed {safe_line(event.file.filename)}.", timeout=2)
        if not event.tray.files:
            self.screen.set_focus(self.composer)

    @on(Composer.EditorRequested)
    def _editor(self, event: Composer.EditorRequested) -> None:
        event.stop()
        composer = event.composer
        try:
            command = self._services.policy.editor_command(os.environ)
        except EditorRefused as exc:  # a locked session starts no program but the one named in tui.editor
            self.set_error(str(exc))
            return
        edited = edit_in_editor(self.app, composer.text, command)
        if edited is None:
            self.set_error("the editor failed or was not found: set $EDITOR (or $VISUAL)")
            return
        composer.text = edited
        composer.move_cursor(composer.document.end)

