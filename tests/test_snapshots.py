"""Snapshots of the composer: three attachments, and the delivery toggle in each state, at 80x24 and 120x40."""

from __future__ import annotations

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
        while len(staff_list.staff) < 3:
            await pilot.pause(0.01)
        if state == "unavailable":
            await pilot.press("ctrl+n")  # Priya has no mobile number
        feed = screen.query_one(FeedView)
        while not any("No messages yet" in line for line in feed.rendered_lines()):
            await pilot.pause(0.01)  # the feed has loaded (polled, as the other tests do)
        await pilot.pause()
        composer = screen.query_one(Composer)
        composer.cursor_blink = False
        await pilot.press("i")
        composer.text = "Rota, gate photo and notes attached. See you Monday!"
        composer.move_cursor(composer.document.end)
        screen.query_one(AttachmentTray).set_files(files)
        if state != "unavailable":
            screen.query_one(MethodToggle).method = DeliveryMethod(state)
        await pilot.pause()

    app = make_app(services, embedded_worker=False)
    assert snap_compare(app, terminal_size=size, run_before=arrange)
