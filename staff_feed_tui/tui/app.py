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
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import get_current_worker

from staff_feed_tui.services.changes import ChangeSource, WalWatch, open_change_feed, open_commit_watch
from staff_feed_tui.tui.messages import FeedsChanged
from staff_feed_tui.tui.screens.help import HelpScreen

if TYPE_CHECKING:
    from textual.widget import Widget

    from staff_feed_tui.delivery.worker import OutboxWorker
    from staff_feed_tui.services.context import Services

CHANGE_POLL_S = 0.25  # the look for changes right after one ...
CHANGE_POLL_MAX_S = 2.0  # ... backing off to this while nothing changes, so an idle app costs next to nothing
CHANGE_POLL_WATCHED_S = 5.0  # ... or to this where inotify on the database wakes the app on every commit
DELIVERY_LOOK_S = 10.0  # how often the app reads the channels' state, and whether it should run the worker itself
# The longest a key waits for the one before it while that one's widget is still there. A key whose widget went away
# is let go at once; this bound is only for a key lost some other way. It is not a guess at how long handling takes:
# on a loaded machine a key took over a second to bubble up to the bindings, and the keys let go after it landed first.
KEY_WAIT_S = 10.0
# On hangup the draft is saved and the process ends within a second: a dead session must not linger. The embedded
# worker gets this long to record the sends in flight; a send cut short is retried once its lease runs out.
HANGUP_WORKER_S = 0.4
EXIT_HANGUP = 129  # 128 + SIGHUP, as a shell reports it


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StaffFeedApp(App[int]):
    CSS_PATH = "app.tcss"
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
        # Keys in arrival order: see `on_event`.
        self._key_in_flight: events.Key | None = None
        self._key_target: Widget | None = None  # the widget the key in flight was handed to
        self._key_in_flight_since = 0.0
        self._keys_waiting: deque[events.Key] = deque()
        self._key_timer: Timer | None = None
        self._worker_stop = threading.Event()
        self._worker_thread: threading.Thread | None = None
        self.outbox_worker: OutboxWorker | None = None
        self._changes: ChangeSource | None = None
        self._change_wait = CHANGE_POLL_S
        self._wal: WalWatch | None = None
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

    # ---- keys in arrival order --------------------------------------------------------------------------------
    # Textual hands a key to the widget focused when it arrives. Over a slow link several keys arrive in one read
    # ("Enter Tab x"), and a key that moves focus has not been handled yet when the next one is handed out, so
    # the next one would go to the old widget. Here a key waits until the one before it has been handled (stopped
    # by a widget, or back at the App for the bindings), then goes to whatever has focus by then.

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if not self.opened and event.key != "ctrl+q":
                self._keys_waiting.append(event)  # still starting: kept for the staff list once it is there
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
            # A commit by any process wakes the app at once where inotify is there; the timer is then a safety net.
            self._wal = open_commit_watch(self.services)
            if self._wal is not None:
                asyncio.get_running_loop().add_reader(self._wal.fileno(), self._committed)
            self.set_timer(CHANGE_POLL_S, self._look_for_changes)
        if self.screen_stack and type(self.screen).__name__ == "BootScreen":
            self.switch_screen(MainScreen())
        else:
            self.push_screen(MainScreen())
        # The sender starts after the first paint, so start-up shows the staff list first.
        self.call_after_refresh(self._look_at_delivery)
        self.set_interval(DELIVERY_LOOK_S, self._look_at_delivery)

    def release_keys(self) -> None:
        """The staff list is there: hand out the keys typed while the app was starting."""
        if self._keys_waiting:
            self.call_later(self._next_key)  # a message to the app (this may be called from a screen's task)

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

    @property
    def delivery_by_service(self) -> bool:
        """This account may not read the senders' secrets (kept with the worker service): no embedded worker."""
        return self.opened and bool(self.services.settings.unreadable_secrets)

    def _look_at_delivery(self) -> None:
        running = self._worker_thread is not None and self._worker_thread.is_alive()
        self._read_delivery(want_worker=self.embedded_worker and not running and not self.delivery_by_service)

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
        if self.delivery_by_service:
            return "delivery by the service worker"
        if self._worker_elsewhere:
            return "delivery: by another worker"
        return "delivery: starting" if self.embedded_worker else "delivery: external worker"

    def _committed(self) -> None:
        if self._wal is not None:
            self._wal.drain()
            self._change_wait = CHANGE_POLL_S
            self.call_later(self._look_now)

    def _look_now(self) -> None:
        if self._changes is not None and self._changes.changed():
            self.poll_changes()

    def _look_for_changes(self) -> None:
        """The change check: one PRAGMA on this thread, a thread only when something changed; it backs off while
        nothing does."""
        if self._changes is None:
            return
        if self._changes.changed():
            self._change_wait = CHANGE_POLL_S
            self.poll_changes()
        else:
            ceiling = CHANGE_POLL_MAX_S if self._wal is None else CHANGE_POLL_WATCHED_S
            self._change_wait = min(ceiling, self._change_wait * 1.5)
        self.set_timer(self._change_wait, self._look_for_changes)

    @property
    def connection_note(self) -> str:
        """A dropped or restored database connection, in words for the top bar ("" when all is well)."""
        return self._changes.connection_note if self._changes is not None else ""

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
        if self._wal is not None:
            asyncio.get_running_loop().remove_reader(self._wal.fileno())
            self._wal.close()
            self._wal = None
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
        from staff_feed_tui.tui.widgets.composer import Composer
        from staff_feed_tui.tui.widgets.feed_view import FeedView
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
                    ("Profile tab", ProfilePane.BINDINGS),
                    ("History tab", HistoryPane.BINDINGS),
                ]
            )
        )


def make_app(services: Services, **kwargs: object) -> StaffFeedApp:
    return StaffFeedApp(services, **kwargs)  # type: ignore[arg-type]
