"""The app factory and the App. The factory receives opened services; nothing is built at import time.

This module imports Textual and the standard library only (the screens, the ORM and the sender load when they are
first needed), so `staff-feed` can paint the staff names before the heavy parts have loaded: see `boot_names`.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import TextArea
from textual.worker import get_current_worker

from staff_feed_tui.services.changes import ChangeSource, open_change_feed
from staff_feed_tui.tui.compat import KeysInArrivalOrder
from staff_feed_tui.tui.messages import FeedsChanged
from staff_feed_tui.tui.screens.help import HelpScreen

if TYPE_CHECKING:

    from staff_feed_tui.delivery.worker import OutboxWorker
    from staff_feed_tui.services.context import Services

CHANGE_POLL_S = 0.25  # the look for changes right after one ...
CHANGE_POLL_MAX_S = 1.0  # ... backing off to this while nothing changes, so an idle app costs next to nothing
DELIVERY_LOOK_S = 5.0  # how often the app reads the channels' state, and whether it should run the worker itself
# On hangup the draft is saved and the process ends within a second: a dead session must not linger. The embedded
# worker gets this long to record the sends in flight; a send cut short is retried once its lease runs out.
HANGUP_WORKER_S = 0.4
EXIT_HANGUP = 129  # 128 + SIGHUP, as a shell reports it


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StaffFeedApp(KeysInArrivalOrder):
    CSS_PATH = ["app.tcss", "panes/conversation.tcss", "panes/compose_area.tcss"]
    TITLE = "staff-feed"
    # Ctrl+P is "previous staff member" (as in weechat); the palette moves to Ctrl+K.
    COMMAND_PALETTE_BINDING = "ctrl+k"
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        services: Services | None,
        *,
        embedded_worker: bool | None = None,
        clock: Callable[[], datetime] = _utcnow,
        opener: Callable[[], Services] | None = None,
        boot_names: list[str] | None = None,
    ) -> None:
        """With `services`, start at once. Without, show `boot_names` (read with the standard library) while
        `opener` loads the settings and opens the database in a thread; keys typed meanwhile are kept."""
        super().__init__()
        self._services = services  # None while booting: set by `_opened`
        self.clock = clock
        self._embedded_worker_choice = embedded_worker
        self.embedded_worker = (
            services.settings.delivery.embedded_worker if embedded_worker is None else embedded_worker
        ) if services is not None else False
        self._opener = opener
        self._boot_names = boot_names
        self.startup_error: str | None = None
        self._worker_stop = threading.Event()
        self._worker_thread: threading.Thread | None = None
        self.outbox_worker: OutboxWorker | None = None
        self._changes: ChangeSource | None = None
        self._change_wait = CHANGE_POLL_S
        self.delivery_paused: str | None = None  # the paused channels in words, for the top bar
        self._worker_elsewhere = False  # another worker (a service, another app's) is alive
        self._hung_up = False
        self._terminal_watch_stop = threading.Event()

    @property
    def services(self) -> Services:
        """The opened services, for every screen and widget (they declare `app: StaffFeedApp` to see this type).
        Asked for before they are open (only a bug can), it raises rather than hand out None."""
        if self._services is None:
            raise RuntimeError("the services are not open yet")
        return self._services

    @property
    def opened(self) -> bool:
        """Whether the services are open (at once, or once the booting app has opened them)."""
        return self._services is not None

    def keys_on_hold(self) -> bool:
        return not self.opened  # still starting: kept for the staff list once it is there

    def on_mount(self) -> None:
        self._watch_for_hangup()
        if not self.opened:
            from staff_feed_tui.tui.screens.boot import BootScreen

            self.push_screen(BootScreen(self._boot_names or []))
            self.call_after_refresh(self._open)  # after the names are painted
            return
        self._start()

    def _start(self) -> None:
        from staff_feed_tui.tui.screens.main import MainScreen

        # The change feed starts before the first query, so no write can fall between a load and the first poll.
        self._changes = open_change_feed(self.services)
        if self._changes is not None:
            self.set_timer(CHANGE_POLL_S, self._look_for_changes)
        main = MainScreen(self.services, self.clock, self.delivery_text)
        if self.screen_stack and type(self.screen).__name__ == "BootScreen":
            self.switch_screen(main)
        else:
            self.push_screen(main)
        # The sender starts after the first paint, so start-up shows the staff list first.
        self.call_after_refresh(self._look_at_delivery)
        self.set_interval(DELIVERY_LOOK_S, self._look_at_delivery)

    @work(thread=True, exit_on_error=False, group="open")
    def _open(self) -> None:
        assert self._opener is not None
        try:
            services = self._opener()
            # Loaded here, off the event loop: importing them when the main screen and the sender start would
            # hold the screen still for most of a second just after the names showed.
            import staff_feed_tui.delivery.factory
            import staff_feed_tui.tui.screens.main  # noqa: F401
        except Exception as exc:  # noqa: BLE001 - shown to the operator on the way out, as the CLI would
            self.call_from_thread(self._failed_to_open, str(exc) or type(exc).__name__)
            return
        self.call_from_thread(self._opened, services)

    def _opened(self, services: Services) -> None:
        self._services = services
        choice = self._embedded_worker_choice
        self.embedded_worker = services.settings.delivery.embedded_worker if choice is None else choice
        self._start()

    def _failed_to_open(self, problem: str) -> None:
        self.startup_error = problem
        self.exit(return_code=2)

    def _look_at_delivery(self) -> None:
        running = self._worker_thread is not None and self._worker_thread.is_alive()
        self._read_delivery(want_worker=self.embedded_worker and not running)

    @work(thread=True, exclusive=True, exit_on_error=False, group="delivery")
    def _read_delivery(self, want_worker: bool) -> None:
        """The channels' state for the top bar, and whether to start the embedded worker: only when no other worker
        (a service, another app's) is alive. One worker per database; an embedded one hands over on its own when
        a service worker appears."""
        from staff_feed_tui.services import delivery

        owner = None
        if want_worker:
            from staff_feed_tui.delivery.worker import new_owner

            owner = new_owner()
            if not delivery.claim_embedded_worker(self.services, owner):
                owner = None
        elsewhere = delivery.worker_running_elsewhere(self.services, owner)
        self.call_from_thread(self._delivery_read, delivery.delivery_status(self.services), owner, elsewhere)

    def _delivery_read(self, paused: str | None, owner: str | None, elsewhere: bool) -> None:
        self.delivery_paused = paused
        self._worker_elsewhere = elsewhere
        if owner is not None and not self._worker_stop.is_set():
            self._start_worker(owner)

    def _start_worker(self, owner: str) -> None:
        from staff_feed_tui.delivery.factory import make_worker

        worker = make_worker(self.services.settings, self.services.engine, owner=owner, kind="embedded")
        self.outbox_worker = worker
        self._worker_thread = threading.Thread(
            target=lambda: asyncio.run(worker.run(self._worker_stop)), name="outbox-worker", daemon=True
        )
        self._worker_thread.start()

    def delivery_text(self) -> str:
        """The top bar's words on delivery: a paused channel first, whoever's worker met it."""
        if self.delivery_paused:
            return self.delivery_paused
        worker, thread = self.outbox_worker, self._worker_thread
        if worker is not None and thread is not None and thread.is_alive():
            return f"delivery: {worker.state.text}"
        if self._worker_elsewhere:
            return "delivery: by another worker"
        return "delivery: starting" if self.embedded_worker else "delivery: external worker"

    def _look_for_changes(self) -> None:
        """The change check: one PRAGMA on this thread, a thread only when something changed; it backs off while
        nothing does."""
        if self._changes is None:
            return
        if self._changes.changed():
            self._change_wait = CHANGE_POLL_S
            self.poll_changes()
        else:
            self._change_wait = min(CHANGE_POLL_MAX_S, self._change_wait * 1.5)
        self.set_timer(self._change_wait, self._look_for_changes)

    @work(thread=True, exclusive=True, exit_on_error=False, group="changes")
    def poll_changes(self) -> None:
        if self._changes is None or get_current_worker().is_cancelled:
            return
        feeds = self._changes.poll()
        if feeds:
            self.screen.post_message(FeedsChanged(feeds))

    # ---- hangup: the client went away ---------------------------------------------------------------------------

    def _watch_for_hangup(self) -> None:
        """SIGHUP, and the terminal reporting a hangup (for a session where SIGHUP is ignored), both end the app."""
        if self.is_headless:
            return
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.hang_up)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        try:
            fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        except (OSError, ValueError):
            fd = -1
        if fd >= 0 and os.isatty(fd):
            threading.Thread(target=self._watch_terminal, args=(fd,), name="hangup-watch", daemon=True).start()

    def _watch_terminal(self, fd: int) -> None:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked for: poll reports only a hangup or an error
        while not self._terminal_watch_stop.is_set():
            if poller.poll(200):
                self.call_from_thread(self.hang_up)
                return

    def hang_up(self) -> None:
        """The client is gone: save the open draft and end the process. Nothing can be drawn any more, so the
        usual way out (unmounting every widget, restoring a terminal that is gone) is skipped; only the embedded
        worker gets a moment to record the sends in flight."""
        if self._hung_up:
            return
        self._hung_up = True
        self.save_open_drafts()
        self._worker_stop.set()
        if self.is_headless:  # a test's app: leave it to the test
            self.exit(return_code=EXIT_HANGUP)
            return
        threading.Thread(target=self._end_after_hangup, name="hangup-exit", daemon=True).start()

    def _end_after_hangup(self) -> None:
        if self._worker_thread is not None:
            self._worker_thread.join(HANGUP_WORKER_S)
        os._exit(EXIT_HANGUP)

    # ---- a locked session starts no program ----------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self.opened and self.services.policy.locked

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if self.locked and command.title == "Screenshot":
                continue  # it writes files into the service account's home
            yield command

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """A link would start a browser on the host: not in a locked session."""
        if self.locked:
            self.notify("links are not opened in this session", severity="warning")
            return
        super().open_url(url, new_tab=new_tab)

    async def on_unmount(self) -> None:
        self._terminal_watch_stop.set()
        if not self.is_headless:
            try:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        self._worker_stop.set()
        if self.outbox_worker is not None:
            self.outbox_worker.request_stop()
        if self._worker_thread is not None:
            await asyncio.to_thread(self._worker_thread.join, 5)
        if self._changes is not None:
            self._changes.close()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast is plain text: names, bodies and errors in it are untrusted, so markup is always off."""
        super().notify(str(message), title=title, severity=severity, timeout=timeout, markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the composer Ctrl+K deletes to the end of the line, as in readline: there the palette stands down.
        return not (action == "command_palette" and isinstance(self.focused, TextArea))

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (it copies in a text field); say how to, in plain words (Textual's own notice is
        markup, and every toast here is plain text)."""
        self.notify("Press Ctrl+Q to quit the app.", title="Do you want to quit?")

    async def action_quit(self) -> None:
        """The open draft is written before the app exits."""
        self.save_open_drafts()
        self.exit()

    def save_open_drafts(self) -> None:
        if not self.opened:
            return
        from staff_feed_tui.tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if not isinstance(screen, MainScreen):
                continue
            try:
                screen.save_open_draft_now()
            except Exception:  # noqa: BLE001 - leaving must not fail; the draft saved a second ago stays
                self.log.error("could not save the open draft on exit")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen) or not self.opened:
            return
        from staff_feed_tui.tui.screens.main import MainScreen
        from staff_feed_tui.tui.screens.pickers import AttachPicker
        from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
        from staff_feed_tui.tui.widgets.composer import Composer
        from staff_feed_tui.tui.widgets.feed_view import FeedView
        from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
        from staff_feed_tui.tui.widgets.history import HistoryPane
        from staff_feed_tui.tui.widgets.profile import ProfilePane
        from staff_feed_tui.tui.widgets.staff_list import StaffList

        self.push_screen(
            HelpScreen(
                [
                    ("Everywhere", [*MainScreen.BINDINGS, *self.BINDINGS,
                                    Binding(self.COMMAND_PALETTE_BINDING, "command_palette", "Command palette")]),
                    ("Staff list (Ctrl+F to find)", StaffList.BINDINGS),
                    ("Feed", FeedView.BINDINGS),
                    ("Composer", Composer.BINDINGS),
                    ("Composer line editing", Composer.READLINE_KEYS),
                    ("Attachment tray (Tab from the composer)", AttachmentTray.BINDINGS),
                    ("File picker (Ctrl+O)", [*AttachPicker.HELP_KEYS, *AttachPicker.BINDINGS]),
                    ("Filter drawer (\\)", FilterDrawer.HELP_KEYS),
                    ("Profile tab", ProfilePane.BINDINGS),
                    ("History tab", HistoryPane.BINDINGS),
                ]
            )
        )


def make_app(services: Services, **kwargs: object) -> StaffFeedApp:
    return StaffFeedApp(services, **kwargs)  # type: ignore[arg-type]
