"""The filter language, FTS5 search, and soft removal, checked against plain Python over the same rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staff_feed_tui.cli import main
from staff_feed_tui.core.filters import FeedFilter, FilterSyntaxError, parse_filter
from staff_feed_tui.core.fts import fts_query
from staff_feed_tui.core.types import Channel, DeliveryMethod, Direction, MessageView
from staff_feed_tui.services import Services
from staff_feed_tui.store import outbox
from staff_feed_tui.store.db import make_engine
from staff_feed_tui.store.feed import feed_page, iter_feed, queue_message, remove_message, restore_message
from staff_feed_tui.store.inbound import receive_sms
from staff_feed_tui.store.migrations import upgrade
from staff_feed_tui.store.staff import find_staff

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def test_query_line() -> None:
    f = parse_filter(':filter -d 7d -a -c sms -s failed key "under the mat"', NOW)
    assert f.has_attachments and f.channel is Channel.SMS and f.status == "failed"
    assert f.text == 'key "under the mat"'
    assert f.since is not None and f.since <= NOW - timedelta(days=6)
    assert f.label() == "5 Filters Applied"
    assert FeedFilter().label() == "No Filters Applied"
    assert parse_filter("-r received --author Alex", NOW).direction is Direction.IN


@pytest.mark.parametrize(
    ("line", "message", "column"),
    [
        (":filter -x 3", "unknown option -x", 9),
        ("-c fax", "-c takes email or sms, not 'fax'", 4),
        ("-s lost", "-s takes pending, delivered, failed or bounced, not 'lost'", 4),
        ("key -d", "-d needs a value", 5),
        ('key "open', "unclosed quote", 5),
        ("-d 2026-13-45", "not a date: '2026-13-45' (use 2026-11-01, 7d, 2w, today)", 4),
    ],
)
def test_parse_errors_name_the_position(line: str, message: str, column: int) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(line, NOW)
    assert caught.value.message == message
    assert caught.value.position + 1 == column


@given(st.text(max_size=60))
def test_parsing_never_crashes(line: str) -> None:
    try:
        parse_filter(line, NOW)
    except FilterSyntaxError:
        pass


def _rows(services: Services, tmp_path: Path) -> int:
    """A varied feed for Dana: directions, channels, statuses, files, authors and days."""
    dana = find_staff(services.engine, "dana@example.com")
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(b"\xff\xd8\xff" * 10)
    from staff_feed_tui.core.draft import check_attachment

    specs = [
        ("alex", "The key is under the mat", DeliveryMethod.EMAIL, True, 1, "sent"),
        ("sam", "Gate code changed, see photo", DeliveryMethod.SMS, True, 3, "failed"),
        ("alex", "Walk moved to 10:00", DeliveryMethod.BOTH, False, 9, "queued"),
        ("jordan", "Thanks for covering NEAR the park", DeliveryMethod.SMS, False, 20, "delivered"),
    ]
    for n, (author, body, method, files, days, status) in enumerate(specs):
        message_id = queue_message(services.engine, services.attachments, staff_id=dana.id, author=author, body=body,
                                   files=[check_attachment(photo)] if files else [], method=method,
                                   now=NOW - timedelta(days=days))
        claimed = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner=f"t{n}", now=NOW)
        for item in claimed:
            if status == "failed":
                outbox.record_failed(services.engine, item.delivery_id, f"t{n}", "30006 landline")
            elif status in ("sent", "delivered"):
                outbox.record_sent(services.engine, item.delivery_id, f"t{n}", f"p{item.delivery_id}")
            else:
                outbox.record_retry(services.engine, item.delivery_id, f"t{n}", "SMTP unreachable",
                                    NOW + timedelta(days=1))  # stays queued: later claims do not take it
        del message_id
    receive_sms(services.engine, sid="SMf1", from_number="+14155550101", body="Where is the key?",
                now=NOW - timedelta(days=2))
    receive_sms(services.engine, sid="SMf2", from_number="+14155550101", body="OK, see you at 10",
                now=NOW - timedelta(days=15))
    return dana.id


def _python_match(m: MessageView, f: FeedFilter) -> bool:
    if f.since and m.created_at < f.since:
        return False
    if f.until and m.created_at >= f.until:
        return False
    if f.has_attachments and not m.attachments:
        return False
    if f.direction and m.direction is not f.direction:
        return False
    # A received message has the channel it came in by; an outgoing one, its deliveries'.
    if f.channel and m.received_by is not f.channel and all(d.channel is not f.channel for d in m.deliveries):
        return False
    if f.status:
        wanted = {"pending": {"queued", "sending"}, "delivered": {"sent", "delivered"},
                  "failed": {"failed", "bounced"}, "bounced": {"bounced"}}[f.status]
        if not any(d.status.value in wanted and (f.channel is None or d.channel is f.channel) for d in m.deliveries):
            return False
    if f.author and (m.author or "").lower() != f.author.lower():
        return False
    if f.text:  # words as FTS5's unicode61 tokenizer splits them
        words = set(re.findall(r"\w+", m.body.lower()))
        if not all(w in words for w in re.findall(r"\w+", f.text.lower())):
            return False
    return True


FILTERS = [
    "-a", "-r received", "-r sent", "-c sms", "-c email", "-s failed", "-s pending", "-s delivered", "-u alex",
    "-u SAM", "key", "key mat", "-d 7d", "--until 2026-11-20", "-d 2026-11-10 --until 2026-11-27",
    "-c sms -s failed", "-a -r sent -d 7d", "-r received key", "near", "-c email -s delivered", "10",
]


@pytest.mark.parametrize("line", FILTERS)
def test_each_filter_matches_plain_python(services: Services, tmp_path: Path, line: str) -> None:
    dana = _rows(services, tmp_path)
    everything = list(iter_feed(services.engine, dana))
    f = parse_filter(line, NOW)
    expected = [m.id for m in everything if _python_match(m, f)]
    assert [m.id for m in iter_feed(services.engine, dana, only=f, page=2)] == expected
    assert expected  # every filter here matches something, so none passes by matching nothing


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_no_typed_text_is_an_fts_error(services: Services, typed: str) -> None:
    feed_page(services.engine, 1, only=FeedFilter(text=typed))


def test_fts_escaping() -> None:
    assert fts_query('key NEAR "under the" -mat * OR (') == '"key" "NEAR" "under the" "-mat" "OR"'
    assert fts_query('say "hi" to Dana') == '"say" "hi" "to" "Dana"'
    assert fts_query('***  ()') is None


def test_search_backfills_existing_messages(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO staff (id, name, email, accepts_texts, sms_opted_out, default_method,"
                             " active, created_at) VALUES (1, 'Dana', 'd@example.com', 0, 0, 'email', 1,"
                             " '2026-01-01 00:00:00.000000')")
        conn.exec_driver_sql("INSERT INTO message (staff_id, direction, body, created_at, revision)"
                             " VALUES (1, 'in', 'written before search existed', '2026-01-02 00:00:00.000000', 1)")
    upgrade(engine)
    (found,) = feed_page(engine, 1, only=FeedFilter(text="before search"))
    assert found.body == "written before search existed"


def test_remove_cancels_queued_and_restore(services: Services, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    dana = find_staff(services.engine, "dana@example.com")
    sent = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="already out")
    (item,) = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="t")
    outbox.record_sent(services.engine, item.delivery_id, "t", "x")
    queued = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="not yet",
                           method=DeliveryMethod.BOTH)
    assert remove_message(services.engine, sent, "sam") == ["email"]  # gone out: cannot be recalled
    assert remove_message(services.engine, queued, "sam") == []
    assert outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="t") == []  # cancelled
    assert [m.body for m in iter_feed(services.engine, dana.id)] == []
    removed = list(iter_feed(services.engine, dana.id, deleted_only=True))
    assert [(m.body, m.deleted_by) for m in removed] == [("already out", "sam"), ("not yet", "sam")]
    assert main(["--data-dir", str(services.settings.data_dir), "feed", "dana@example.com", "--json",
                 "--deleted"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["body"] for m in out] == ["already out", "not yet"] and all(m["deleted_at"] for m in out)
    assert [d["status"] for d in out[1]["deliveries"]] == ["cancelled", "cancelled"]
    restore_message(services.engine, queued, "alex")
    assert [m.body for m in iter_feed(services.engine, dana.id)] == ["not yet"]
    with pytest.raises(LookupError):
        restore_message(services.engine, queued, "alex")


def test_cli_filters(services: Services, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _rows(services, tmp_path)
    data = str(services.settings.data_dir)
    assert main(["--data-dir", data, "feed", "dana@example.com", "--json", "--direction", "received",
                 "--text", "key"]) == 0
    assert [m["body"] for m in json.loads(capsys.readouterr().out)] == ["Where is the key?"]
    assert main(["--data-dir", data, "feed", "dana@example.com", "--json", "--channel", "sms", "--status",
                 "failed", "--has-attachments"]) == 0
    assert [m["body"] for m in json.loads(capsys.readouterr().out)] == ["Gate code changed, see photo"]
    assert main(["--data-dir", data, "feed", "dana@example.com", "--json", "--since", "soon"]) == 1
    assert "filter: not a date: 'soon'" in capsys.readouterr().err


async def test_filter_drawer_query_line_and_fields_in_the_app(services: Services, tmp_path: Path) -> None:
    from textual.widgets import Button

    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.choice import Choice, Tick
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
    from tests.test_tui import _ready, wait_for

    dana_id = _rows(services, tmp_path)
    everything = list(iter_feed(services.engine, dana_id))
    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        button = app.screen.query_one("#filters", Button)
        drawer = app.screen.query_one(FilterDrawer)
        await wait_for(pilot, lambda: len(feed.messages) == 6, "Dana's whole feed")
        assert str(button.label) == "No Filters Applied" and not drawer.display
        await pilot.press("tab", "backslash")
        line = app.screen.query_one("#filter-line")
        assert drawer.display and app.focused is line
        # A mistake is shown under the line with a caret at its column, and nothing changes.
        line.value = "-r received -c fax"
        await pilot.press("enter")
        problem = app.screen.query_one("#filter-problem")
        shown = str(problem.render())
        assert problem.display and "-c takes email or sms, not 'fax'" in shown
        assert shown.splitlines()[1].index("^") == len("-r received -c ")
        assert len(feed.messages) == 6 and drawer.display
        # The typed line applies, fills the fields and closes the drawer.
        line.value = "-r received -d 7d key"
        await pilot.press("enter")
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["Where is the key?"], "the filtered feed")
        assert str(button.label) == "3 Filters Applied" and not drawer.display
        assert app.focused is feed
        assert app.screen.query_one("#filter-direction", Choice).value == "received"
        assert app.screen.query_one("#filter-since").value == "7d"  # type: ignore[attr-defined]
        assert app.screen.query_one("#filter-text").value == "key"  # type: ignore[attr-defined]
        # Clear filters resets every field and the feed.
        await pilot.click("#filters")
        assert drawer.display
        await pilot.click("#filter-clear")
        await wait_for(pilot, lambda: len(feed.messages) == 6, "the whole feed again")
        assert str(button.label) == "No Filters Applied" and line.value == ""  # type: ignore[attr-defined]
        # The fields, by keyboard: received, with attachments, the last 7 days (the dispatcher's example).
        tick = app.screen.query_one("#filter-attachments", Tick)
        app.screen.set_focus(tick)
        await pilot.press("space")
        direction = app.screen.query_one("#filter-direction", Choice)
        app.screen.set_focus(direction)
        await pilot.press("right", "right")
        await pilot.click("#preset-7d")
        expected = [m.id for m in everything if m.direction is Direction.IN and m.attachments
                    and m.created_at >= parse_filter("-d 7d", NOW).since]  # type: ignore[operator]
        await wait_for(pilot, lambda: str(button.label) == "3 Filters Applied", "three filters")
        await wait_for(pilot, lambda: [m.id for m in feed.messages] == expected, "received + files + 7 days")
        assert line.value == "-d 7d -a -r received"  # type: ignore[attr-defined]
        # The sent ones with files in the last 7 days, by the same fields: the Python filter agrees.
        app.screen.set_focus(direction)
        await pilot.press("left")
        want = parse_filter("-d 7d -a -r sent", NOW)
        expected = [m.id for m in everything if _python_match(m, want)]
        assert expected  # the case is not empty
        await wait_for(pilot, lambda: [m.id for m in feed.messages] == expected, "sent + files + 7 days")
        # A date that is not one is refused in words; the filters in force stay.
        since = app.screen.query_one("#filter-since")
        app.screen.set_focus(since)
        since.value = "last tuesday"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert "From: not a date: 'last tuesday'" in str(problem.render())
        assert [m.id for m in feed.messages] == expected
        await pilot.press("escape")
        assert not drawer.display and app.focused is feed


async def test_remove_with_confirmation_and_undo_in_the_app(services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.screens.pickers import Question
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from tests.test_tui import _ready, wait_for

    dana = find_staff(services.engine, "dana@example.com")
    queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="keep me")
    queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="remove me")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 2, "the feed")
        await pilot.press("tab", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the confirmation")
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "This removes the message from the feed. An email already delivered cannot be recalled." in shown
        await pilot.press("y")
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["keep me"], "the message gone")
        removed = list(iter_feed(services.engine, dana.id, deleted_only=True))
        assert [(m.body, m.deleted_by) for m in removed] == [("remove me", "alex")]
        await pilot.press("u")
        await wait_for(pilot, lambda: [m.body for m in feed.messages] == ["keep me", "remove me"], "undone")


async def test_removing_a_message_already_sent_says_it_cannot_be_recalled(services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.screens.pickers import Question
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from tests.test_tui import _ready, wait_for

    dana = find_staff(services.engine, "dana@example.com")
    queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="out already",
                  method=DeliveryMethod.BOTH)
    for item in outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="t"):
        outbox.record_sent(services.engine, item.delivery_id, "t", "x")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == 1, "the feed")
        await pilot.press("tab", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, Question), "the confirmation")
        await pilot.press("y")
        said = re.compile(r"Removed 'out already' \(.+\)\. It had already gone out by email and SMS; that cannot be"
                          r" recalled\. Press u to undo\.")
        await wait_for(pilot, lambda: any(said.fullmatch(str(n.message)) for n in app._notifications), "what was said")


async def test_history_tab_lists_removed_messages_and_restores(services: Services) -> None:
    import sqlite3

    from textual.widgets import TabbedContent

    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from staff_feed_tui.tui.widgets.history import RemovedList
    from tests.test_tui import _ready, wait_for

    dana = find_staff(services.engine, "dana@example.com")
    kept = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="kept")
    gone = queue_message(services.engine, services.attachments, staff_id=dana.id, author="sam", body="gate [b]4417[/b]")
    remove_message(services.engine, gone, "jordan")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        tabs = app.screen.query_one("#staff-tabs", TabbedContent)
        assert [str(t.label) for t in tabs.query("ContentTab")] == ["Conversation Feed", "Profile", "History",
                                                                     "Conversations"]
        await wait_for(pilot, lambda: [m.id for m in feed.messages] == [kept], "the feed without it")
        await pilot.press("tab", "H")
        assert tabs.active == "tab-history"
        entries = app.screen.query_one(RemovedList)
        assert app.focused is entries
        await wait_for(pilot, lambda: entries.option_count == 1 and "jordan" in str(
            entries.get_option_at_index(0).prompt), "the removed message listed")
        text = entries.get_option_at_index(0).prompt.plain  # type: ignore[union-attr]
        assert "by jordan" in text and "sent" in text and "by sam" in text and "gate [b]4417[/b]" in text
        assert "at removal: email: cancelled" in text
        await pilot.press("r")
        await wait_for(pilot, lambda: "No removed messages" in str(entries.get_option_at_index(0).prompt),
                       "the entry gone from History")
        await wait_for(pilot, lambda: [m.id for m in feed.messages] == [kept, gone], "back in the feed")
        await pilot.press("escape")
        assert tabs.active == "tab-feed" and app.focused is feed
    with sqlite3.connect(services.settings.data_dir / "staff_feed.db") as conn:
        restored = conn.execute("SELECT m.restored_at IS NOT NULL, d.name FROM message m JOIN dispatcher d"
                                " ON d.id = m.restored_by_id WHERE m.id = ?", (gone,)).fetchone()
    assert restored == (1, "alex")  # the restore is recorded


def test_a_removed_message_leaves_unread_counts_filters_and_search(services: Services) -> None:
    from staff_feed_tui.store.feed import search_all, search_feed
    from staff_feed_tui.store.reads import unread_counts

    dana = find_staff(services.engine, "dana@example.com")
    kept = receive_sms(services.engine, sid="SMk", from_number="+14155550101", body="gate key found", now=NOW)
    gone = receive_sms(services.engine, sid="SMg", from_number="+14155550101", body="gate key lost", now=NOW)
    assert unread_counts(services.engine, "alex")[dana.id] == 2
    assert {k[1] for k in search_feed(services.engine, dana.id, "gate")} == {kept.message_id, gone.message_id}
    remove_message(services.engine, gone.message_id, "alex")
    assert unread_counts(services.engine, "alex")[dana.id] == 1
    assert [k[1] for k in search_feed(services.engine, dana.id, "gate")] == [kept.message_id]
    assert [m.id for m in search_all(services.engine, "gate")] == [kept.message_id]
    only = parse_filter("-r received lost", NOW)
    assert feed_page(services.engine, dana.id, only=only) == []


def test_a_quoted_phrase_matches_the_words_in_that_order(services: Services, tmp_path: Path) -> None:
    dana_id = _rows(services, tmp_path)
    bodies = lambda line: [m.body for m in feed_page(services.engine, dana_id, only=parse_filter(line, NOW))]  # noqa: E731
    assert bodies('"under the mat"') == ["The key is under the mat"]
    assert bodies('"mat the under"') == []  # the same words in another order are not the phrase
    assert bodies("mat the under") == ["The key is under the mat"]  # as words, the order does not matter


async def test_a_date_typed_in_the_drawer_is_never_read_as_markup(services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
    from tests.test_tui import _ready

    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("tab", "backslash")
        since = app.screen.query_one("#filter-since")
        app.screen.set_focus(since)
        since.value = "[bold red]soon[/]"  # type: ignore[attr-defined]
        await pilot.press("enter")
        shown = app.screen.query_one(FilterDrawer).query_one("#filter-problem").render()
        assert "From: not a date: '[bold red]soon[/]'" in str(shown)


async def test_the_author_field_completes_a_dispatchers_name(services: Services, tmp_path: Path) -> None:
    """Typing the start of a dispatcher's name shows the rest; Enter takes it and applies the filter."""
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from tests.test_tui import _ready, wait_for

    dana_id = _rows(services, tmp_path)
    everything = list(iter_feed(services.engine, dana_id))
    app = make_app(services, embedded_worker=False, clock=lambda: NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(feed.messages) == len(everything), "Dana's feed")
        await pilot.press("tab", "backslash")
        author = app.screen.query_one("#filter-author")
        app.screen.set_focus(author)
        await pilot.press("j", "O")  # any case
        await wait_for(pilot, lambda: author._suggestion == "jordan", "the completion")  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert author.value == "jordan"  # type: ignore[attr-defined]
        expected = [m.id for m in everything if m.author == "jordan"]
        assert expected
        await wait_for(pilot, lambda: [m.id for m in feed.messages] == expected, "jordan's messages")
        assert app.screen.query_one("#filter-line").value == "-u jordan"  # type: ignore[attr-defined]


def test_a_search_within_a_text_filter_matches_both(services: Services) -> None:
    """A search in a feed filtered by Text matched the filter's words instead of its own (the two shared one SQL
    parameter), so `1 of 2` landed on a message without the searched word."""
    from staff_feed_tui.store.feed import search_feed

    dana = find_staff(services.engine, "dana@example.com")
    ids = {body: queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=body)
           for body in ("gate code", "side door", "gate and door", "nothing here")}
    hits = search_feed(services.engine, dana.id, "door", only=FeedFilter(text="gate"))
    assert [message_id for _, message_id in hits] == [ids["gate and door"]]
    assert [m for _, m in search_feed(services.engine, dana.id, "door")] == [ids["gate and door"], ids["side door"]]
