"""The composer: attachment checks, the tray, the Email/SMS toggle, drafts, $EDITOR and the MMS question."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staff_feed_tui.core.draft import DraftError, check_attachment, check_attachments, mms_problems, pasted_file_path
from staff_feed_tui.core.texting import sms_unavailable_reason
from staff_feed_tui.core.types import DeliveryMethod, StaffView
from staff_feed_tui.services import MmsLimitError, Services, queue_outgoing
from staff_feed_tui.store.feed import get_messages, iter_feed
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.screens.pickers import AttachPicker, Question, complete_path
from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.method_toggle import MethodToggle
from tests.test_tui import _ready, feed_text, wait_for


def _file(path: Path, size: int = 100, data: bytes | None = None) -> Path:
    path.write_bytes(data if data is not None else os.urandom(size))
    return path


# ---- every attachment check, with its sentence ------------------------------------------------------------------


def test_attachment_checks_name_the_file_and_the_limit(tmp_path: Path) -> None:
    with pytest.raises(DraftError, match=f"^attachment not found: {tmp_path}/nope.pdf$"):
        check_attachment(tmp_path / "nope.pdf")
    with pytest.raises(DraftError, match="^attachment is a directory, not a file: "):
        check_attachment(tmp_path)
    with pytest.raises(DraftError, match="^attachment is empty: .*empty.txt$"):
        check_attachment(_file(tmp_path / "empty.txt", data=b""))
    one = _file(tmp_path / "one.jpg")
    with pytest.raises(DraftError, match="^attachment is already attached: one.jpg$"):
        check_attachments([one, str(one)])
    big = _file(tmp_path / "big.bin", 3000)
    with pytest.raises(DraftError, match=r"^attachments too large for email: 3\.1 KB in total, the limit is 3\.0 KB"
                                          r" \(largest: big.bin, 3\.0 KB\)$"):
        check_attachments([big, _file(tmp_path / "small.bin", 100)], email_limit_bytes=3000)


def test_unreadable_attachment() -> None:
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="staff-feed-unreadable-", dir="/tmp"))
    shared.chmod(0o755)
    secret = _file(shared / "secret.pdf")
    secret.chmod(0)
    # As root every file is readable, so the check runs in a forked child that drops to an unprivileged user.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no exec, the modules are already loaded
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                check_attachment(secret)
                message = "no error"
            except DraftError as exc:
                message = str(exc)
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    message = os.read(read_end, 4096).decode()
    os.waitpid(pid, 0)
    assert message == f"attachment cannot be read (permission denied): {secret}"


def test_mms_limits(tmp_path: Path) -> None:
    photos = [check_attachment(_file(tmp_path / f"p{n}.jpg", 10)) for n in range(11)]
    assert mms_problems(photos[:10]) == []
    assert mms_problems(photos) == ["11 files is too many for a text: MMS takes at most 10"]
    large = check_attachment(_file(tmp_path / "video.mp4", 6_000_000))
    assert mms_problems([large]) == [
        "attachments too large for a text: 6.0 MB in total, the MMS limit is 5.0 MB (largest: video.mp4, 6.0 MB)"
    ]
    zipped = check_attachment(_file(tmp_path / "photos.zip", 10))
    assert mms_problems([zipped]) == ["photos.zip (application/zip) is not a file type a text can carry"]


def test_cli_and_composer_share_the_sentences(services: Services, tmp_path: Path) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    zipped = _file(tmp_path / "photos.zip", 10)
    with pytest.raises(MmsLimitError, match="photos.zip .application/zip. is not a file type a text can carry"):
        queue_outgoing(services, staff=dana, body="x", attachments=[zipped], method=DeliveryMethod.SMS)
    with pytest.raises(DraftError, match="text too long for SMS: 1601 characters, the limit is 1600"):
        queue_outgoing(services, staff=dana, body="a" * 1601, method=DeliveryMethod.SMS)
    assert list(iter_feed(services.engine, dana.id)) == []


def test_files_by_email_keeps_the_text_by_sms(services: Services, tmp_path: Path) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    zipped = _file(tmp_path / "photos.zip", 10)
    message_id = queue_outgoing(services, staff=dana, body="see email", attachments=[zipped],
                                method=DeliveryMethod.SMS, files_by_email=True)
    (message,) = get_messages(services.engine, [message_id])
    assert [d.channel.value for d in message.deliveries] == ["email", "sms"]
    from staff_feed_tui.store import outbox

    claimed = {c.channel.value: c for c in outbox.claim_due_deliveries(services.engine, services.attachments.root,
                                                                        owner="t")}
    assert [f.filename for f in claimed["email"].files] == ["photos.zip"]
    assert claimed["sms"].files == ()


def test_tab_completion(tmp_path: Path) -> None:
    _file(tmp_path / "rota-december.pdf")
    _file(tmp_path / "rota-november.pdf")
    (tmp_path / "photos").mkdir()
    assert complete_path(f"{tmp_path}/ro") == f"{tmp_path}/rota-"
    assert complete_path(f"{tmp_path}/rota-d") == f"{tmp_path}/rota-december.pdf"
    assert complete_path(f"{tmp_path}/ph") == f"{tmp_path}/photos/"
    assert complete_path(f"{tmp_path}/zzz") == f"{tmp_path}/zzz"


# ---- the toggle availability matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("company", [True, False])
@pytest.mark.parametrize("accepts", [True, False])
@pytest.mark.parametrize("phone", ["+14155550101", None])
@pytest.mark.parametrize("opted_out", [True, False])
def test_toggle_availability_matrix(company: bool, accepts: bool, phone: str | None, opted_out: bool) -> None:
    from datetime import UTC, datetime

    staff = StaffView(1, "Dana Reyes", "dana@example.com", phone, accepts, opted_out, DeliveryMethod.BOTH,
                      sms_opted_out_at=datetime(2026, 11, 2, 9, tzinfo=UTC))
    reason = sms_unavailable_reason(company, staff)
    if not company:
        assert reason == "texting is off for the company"
    elif phone is None:
        assert reason == "Dana has no mobile number"
    elif not accepts:
        assert reason == "Dana does not accept texts"
    elif opted_out:
        assert reason == "Dana replied STOP on 2026-11-02"
    else:
        assert reason is None
    toggle = MethodToggle()
    toggle.offer(reason, DeliveryMethod.BOTH)
    assert toggle.method is (DeliveryMethod.BOTH if reason is None else DeliveryMethod.EMAIL)


async def test_toggle_in_the_app_follows_the_staff_member(services: Services) -> None:
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        toggle = app.screen.query_one(MethodToggle)
        assert toggle.method is DeliveryMethod.BOTH and toggle.unavailable is None  # Dana: both, accepts texts
        await pilot.press("ctrl+t")
        assert toggle.method is DeliveryMethod.EMAIL
        await pilot.press("ctrl+n")  # Priya: no mobile number
        assert toggle.method is DeliveryMethod.EMAIL
        assert toggle.unavailable == "Priya has no mobile number"
        await pilot.press("ctrl+t")
        assert toggle.method is DeliveryMethod.EMAIL  # cannot be switched to SMS
        assert "SMS unavailable: Priya has no mobile number" in toggle.render().plain


async def test_why_sms_is_unavailable_is_shown_whole_at_80_columns(services: Services) -> None:
    """At 80x24 the reason does not fit beside the choices: it takes a line of its own instead of being cut off."""
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        toggle = app.screen.query_one(MethodToggle)
        assert toggle.region.height == 1  # Dana accepts texts: one line
        await pilot.press("ctrl+n")  # Priya: no mobile number
        await wait_for(pilot, lambda: toggle.region.height == 2, "the reason on a second line")
        lines = [line.text.rstrip() for line in app.screen._compositor.render_strips()[toggle.region.y:][:2]]
        assert lines[0].endswith("Via: (•) Email  (-) SMS  (-) Both")
        assert lines[1].endswith("SMS unavailable: Priya has no mobile number")


@pytest.mark.parametrize(("size", "expected"), [
    ((80, 24), "Enter send · ^J new line · ^O attach"),
    ((140, 30), "Enter send · ^J new line · ^O attach (Tab, Del removes) · ^T Email/SMS · F4 editor · Esc leave"),
])
async def test_the_key_hint_under_the_composer_shows_whole_keys(services: Services, size: tuple[int, int],
                                                                 expected: str) -> None:
    """As many keys as fit, in order of use, none cut in half; a narrow pane gets the short form of attach."""
    from textual.widgets import Static

    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n")  # Priya: email only, so the keys rather than an SMS count
        hint = app.screen.query_one("#composer-hint", Static)
        await wait_for(pilot, lambda: str(hint.render()).strip() == expected, f"the hint {expected!r}")
        assert len(expected) <= hint.content_region.width


# ---- the tray, drafts, the editor, the MMS question -------------------------------------------------------------


async def _attach(pilot, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+o")
    assert isinstance(pilot.app.screen, AttachPicker)
    field = pilot.app.screen.query_one("#path")
    for path in paths:
        field.value = str(path)  # typing a whole path key by key is slow under the test pilot
        await pilot.press("enter")
    await pilot.press("ctrl+s")


async def test_remove_one_of_three_and_send(services: Services, tmp_path: Path) -> None:
    files = [_file(tmp_path / name, 200) for name in ("a.pdf", "b.jpg", "c.txt")]
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t")  # Both -> Email -> SMS -> Both ... back to Email
        await pilot.press("i", *"three files")
        await _attach(pilot, files)
        tray = app.screen.query_one(AttachmentTray)
        assert [f.filename for f in tray.files] == ["a.pdf", "b.jpg", "c.txt"]
        await pilot.press("tab")  # composer -> tray
        assert app.focused is tray
        await pilot.press("down", "delete")
        assert [f.filename for f in tray.files] == ["a.pdf", "c.txt"]
        await pilot.press("shift+tab", "enter")
        await wait_for(pilot, lambda: "three files" in feed_text(pilot), "the sent message")
    dana = find_staff(services.engine, "dana@example.com")
    (message,) = list(iter_feed(services.engine, dana.id))
    assert [a.filename for a in message.attachments] == ["a.pdf", "c.txt"]


async def test_draft_survives_a_restart(services: Services, tmp_path: Path) -> None:
    rota = _file(tmp_path / "rota.pdf", 300)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", *"half written", "ctrl+j", *"second line")
        await _attach(pilot, [rota])
        await pilot.press("ctrl+q")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        composer = app.screen.query_one(Composer)
        await wait_for(pilot, lambda: composer.text == "half written\nsecond line", "the restored draft")
        assert [f.filename for f in app.screen.query_one(AttachmentTray).files] == ["rota.pdf"]
        # Another dispatcher does not see it.
    other = Services(services.settings, services.engine, services.attachments, "sam")
    app = make_app(other, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.pause()
        assert app.screen.query_one(Composer).text == ""


async def test_editor_round_trip(services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\nopen(p, 'w').write(t + ' -- edited\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", *"draft", "f4")
        composer = app.screen.query_one(Composer)
        await wait_for(pilot, lambda: composer.text == "draft -- edited", "the edited draft")
        monkeypatch.setenv("EDITOR", "/no/such/editor")
        await pilot.press("f4")
        error = app.screen.query_one("#composer-error")
        await wait_for(pilot, lambda: error.display, "the editor error")
        assert composer.text == "draft -- edited"


async def test_mms_limit_question(services: Services, tmp_path: Path) -> None:
    video = _file(tmp_path / "walk.mp4", 6_000_000)
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        toggle = app.screen.query_one(MethodToggle)
        await pilot.press("ctrl+t")  # Both -> Email
        await pilot.press("ctrl+t")  # -> SMS
        assert toggle.method is DeliveryMethod.SMS
        await pilot.press("i", *"video of the walk")
        await _attach(pilot, [video])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the MMS question")
        await pilot.press("escape")  # cancel: nothing sent
        error = app.screen.query_one("#composer-error")
        await wait_for(pilot, lambda: error.display, "the cancelled note")
        dana = find_staff(services.engine, "dana@example.com")
        assert list(iter_feed(services.engine, dana.id)) == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the question again")
        await pilot.press("e")
        await wait_for(pilot, lambda: "video of the walk" in feed_text(pilot), "the sent message")
    (message,) = list(iter_feed(services.engine, dana.id))
    assert {d.channel.value for d in message.deliveries} == {"email", "sms"}
    assert [a.filename for a in message.attachments] == ["walk.mp4"]


async def test_pasting_a_path_offers_to_attach(services: Services, tmp_path: Path) -> None:
    from textual import events

    rota = _file(tmp_path / "rota.pdf")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i")
        composer = app.screen.query_one(Composer)
        app.post_message(events.Paste(f"'{rota}'"))
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the offer")
        await pilot.press("y")
        tray = app.screen.query_one(AttachmentTray)
        await wait_for(pilot, lambda: [f.filename for f in tray.files] == ["rota.pdf"], "the attached file")
        assert composer.text == ""
        app.post_message(events.Paste("just words\non two lines"))
        await wait_for(pilot, lambda: composer.text == "just words\non two lines", "an ordinary paste")




# ---- a message is never taken for a path it cannot be ---------------------------------------------------------


@given(st.text(max_size=600))
@settings(max_examples=200, deadline=None)
def test_pasted_file_path_never_raises(text: str) -> None:
    path = pasted_file_path(text)
    assert path is None or os.path.isfile(os.path.expanduser(path))


def test_pasted_file_path_names_only_an_existing_file(tmp_path: Path) -> None:
    rota = _file(tmp_path / "rota.pdf")
    assert pasted_file_path(f"  '{rota}'\n") == str(rota)
    assert pasted_file_path(str(tmp_path)) is None  # a directory is text
    assert pasted_file_path("x" * 300) is None  # one name over 255 bytes: ENAMETOOLONG from the OS
    assert pasted_file_path("/" + "a/" * 3000) is None  # over PATH_MAX
    assert pasted_file_path(f"{rota}\0") is None


async def test_a_long_one_line_message_is_sent(services: Services) -> None:
    """A one-line message over 255 bytes was tried as a file name on Enter, and the OSError ended the app."""
    body = "Please call the Hendersons back about the gate code " + "and the side door " * 20
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("i")
        composer = app.screen.query_one(Composer)
        composer.insert(body)
        await pilot.press("enter")
        await wait_for(pilot, lambda: composer.text == "", "the composer to clear")
        assert app.is_running
    dana = find_staff(services.engine, "dana@example.com")
    (message,) = list(iter_feed(services.engine, dana.id))
    assert message.body == body.rstrip()
