"""Snapshots of the composer: three attachments, and the delivery toggle in each state, at 80x24 and 120x40."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from staff_feed_tui.core.draft import check_attachment
from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.services import Services
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.method_toggle import MethodToggle
from staff_feed_tui.tui.widgets.staff_list import StaffList
from tests.waiting import wait_for


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("state", ["email", "sms", "both", "unavailable"])
def test_composer(snap_compare, services: Services, tmp_path: Path, size: tuple[int, int], state: str) -> None:  # type: ignore[no-untyped-def]
    files = []
    for name, length in (("rota-december.pdf", 48_213), ("gate-photo.jpg", 1_204_551), ("notes.txt", 734)):
        path = tmp_path / name
        path.write_bytes(b"x" * length)
        files.append(check_attachment(path))

    async def arrange(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        staff_list = screen.query_one(StaffList)
        await wait_for(pilot, lambda: len(staff_list.staff) == 3, "the staff list")
        if state == "unavailable":
            await pilot.press("ctrl+n")  # Priya has no mobile number
        feed = screen.query_one(FeedView)
        await wait_for(pilot, lambda: any("No messages yet" in line for line in feed.rendered_lines()), "the empty feed")
        await pilot.pause()
        composer = screen.query_one(Composer)
        await pilot.press("i")
        composer.text = "Rota, gate photo and notes attached. See you Monday!"
        composer.move_cursor(composer.document.end)
        screen.query_one(AttachmentTray).set_files(files)
        if state != "unavailable":
            screen.query_one(MethodToggle).method = DeliveryMethod(state)
        await pilot.pause()

    app = make_app(services, embedded_worker=False)
    assert snap_compare(app, terminal_size=size, run_before=arrange)


NOW = __import__("datetime").datetime(2026, 11, 29, 15, 0, tzinfo=__import__("datetime").UTC)


def _feed_fixture(services: Services, tmp_path: Path) -> None:
    from datetime import timedelta

    from staff_feed_tui.store import outbox
    from staff_feed_tui.store.feed import queue_message
    from staff_feed_tui.store.inbound import receive_sms
    from staff_feed_tui.store.reads import mark_read

    dana = 1
    rota = tmp_path / "rota.pdf"
    rota.write_bytes(b"x" * 48_213)
    first = queue_message(services.engine, services.attachments, staff_id=dana, author="alex",
                          body="Welcome aboard! Your rota for December is attached.",
                          files=[check_attachment(rota)], method=DeliveryMethod.BOTH, now=NOW - timedelta(days=12))
    for item in outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="s", now=NOW):
        if item.channel.value == "email":
            outbox.record_sent(services.engine, item.delivery_id, "s", "m1")
        else:
            outbox.record_failed(services.engine, item.delivery_id, "s", "30006 landline or unreachable carrier")
    receive_sms(services.engine, sid="SMa", from_number="+14155550101", body="Thanks! [bold]Got it[/bold].",
                now=NOW - timedelta(days=3, hours=2))
    mark_read(services.engine, "alex", dana, first + 1)
    queue_message(services.engine, services.attachments, staff_id=dana, author="sam",
                  body="Reminder: the Nguyen walk moved to 10:00 tomorrow.", now=NOW - timedelta(hours=5))
    receive_sms(services.engine, sid="SMb", from_number="+14155550101", body="Running 10 min late \x1b[31mtraffic",
                now=NOW - timedelta(minutes=30), note="file 1 is too large (7.2 MB); the limit is 5 MB")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("colour", ["colour", "no-color"])
@pytest.mark.usefixtures("utc")
def test_feed(snap_compare, services: Services, tmp_path: Path, size: tuple[int, int], colour: str,  # type: ignore[no-untyped-def]
              monkeypatch: pytest.MonkeyPatch) -> None:
    if colour == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")
    _feed_fixture(services, tmp_path)

    async def arrange(pilot) -> None:  # type: ignore[no-untyped-def]
        feed = pilot.app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 4, "the four messages")
        await pilot.pause()

    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=size, run_before=arrange)


@pytest.mark.parametrize(
    ("state", "size"),
    [("drawer-closed", (80, 24)), ("drawer-open", (80, 24)), ("drawer-open", (120, 40)), ("history", (80, 24))],
    ids=["drawer-closed-80x24", "drawer-open-80x24", "drawer-open-120x40", "history-80x24"],
)
@pytest.mark.usefixtures("utc")
def test_filters_and_history(snap_compare, services: Services, tmp_path: Path, state: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The drawer closed with two filters in force, the drawer open with them, and History → Conversations."""
    from staff_feed_tui.core.filters import FilterValues
    from staff_feed_tui.store.feed import remove_message
    from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer

    _feed_fixture(services, tmp_path)
    remove_message(services.engine, 1, "jordan", now=NOW - timedelta(hours=2))

    async def arrange(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        feed = screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 3, "the three messages")
        if state.startswith("drawer"):
            drawer = screen.query_one(FilterDrawer)
            drawer.post_message(FilterDrawer.Applied(drawer, FilterValues(since="7d", direction="received")))
            await wait_for(pilot, lambda: len(feed.messages) == 2, "the filtered feed")
            if state == "drawer-open":
                await pilot.press("backslash")
        else:
            await pilot.press("tab", "H")
            entries = screen.query_one("#removed")
            await wait_for(pilot, lambda: entries.option_count and "jordan" in str(entries.get_option_at_index(0).prompt),
                           "the removed message under History")
        await pilot.pause()

    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=size, run_before=arrange)

