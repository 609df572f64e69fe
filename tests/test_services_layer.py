"""The services layer: its re-exported names resolve, importing it loads nothing heavy, and the use cases that
are more than one store call (the opt-out policy, the media lookup, retry and cancel of several deliveries, search
across staff, the History list) do what the TUI, the CLI and the gateway rely on."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import staff_feed_tui.services as services_package
from staff_feed_tui.services import Services, feeds, inbound, queue_outgoing
from staff_feed_tui.services import staff as staff_cases
from staff_feed_tui.services.demo import shipped_data_dir
from staff_feed_tui.services.inbound import opt_keyword
from staff_feed_tui.store import inbound as store_inbound
from staff_feed_tui.store import outbox
from staff_feed_tui.store.db import write_session
from staff_feed_tui.store.feed import get_messages
from staff_feed_tui.store.models import Staff
from staff_feed_tui.store.staff import find_staff, get_staff
from staff_feed_tui.tui.app import StaffFeedApp

pytestmark = pytest.mark.both_engines


def test_every_exported_name_resolves_to_its_module() -> None:
    assert sorted(services_package.__all__) == sorted(services_package._EXPORTS)
    for name, module in services_package._EXPORTS.items():
        value = getattr(services_package, name)
        assert value.__module__ == f"staff_feed_tui.services.{module}", name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_use_case"):
        services_package.no_such_use_case  # noqa: B018


def test_importing_the_package_loads_no_orm() -> None:
    """The app imports light modules of `services` before its first paint: the package itself must stay light."""
    code = (
        "import sys, staff_feed_tui.services\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_shipped_demo_data_is_found_from_inside_the_package() -> None:
    assert (shipped_data_dir() / "demo_staff.csv").is_file()
    assert (shipped_data_dir() / "demo_conversations.json").is_file()


# ---- the opt-out policy lives in services, not in the store ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "opted"),
    [("STOP", True), (" stop. ", True), ("Unsubscribe!", True), ("start", False), ("UNSTOP", False),
     ("please stop texting me", None), ("", None), ("STOP\x1b[31m", None), ("ＳＴＯＰ", None)],
)
def test_an_opt_keyword_counts_only_alone(body: str, opted: bool | None) -> None:
    assert opt_keyword(body) is opted


def test_the_store_stores_a_stop_text_without_acting_on_it(services: Services) -> None:
    """The store only applies what the caller decided; the policy (STOP opts out) is `services.inbound`'s."""
    dana = find_staff(services.engine, "dana@example.com")
    store_inbound.receive_sms(services.engine, sid="SMstore", from_number=dana.phone or "", body="STOP")
    assert not get_staff(services.engine, dana.id).sms_opted_out
    received = inbound.receive_sms(services.engine, sid="SMsvc", from_number=dana.phone or "", body="stop")
    assert received.opted_out is True
    assert get_staff(services.engine, dana.id).sms_opted_out
    received = inbound.receive_sms(services.engine, sid="SMsvc2", from_number=dana.phone or "", body="START")
    assert received.opted_out is False
    assert not get_staff(services.engine, dana.id).sms_opted_out


def test_a_stop_from_an_unknown_number_goes_to_triage_and_opts_nobody_out(services: Services) -> None:
    received = inbound.receive_sms(services.engine, sid="SMunknown", from_number="+14155559999", body="STOP")
    assert received.outcome is inbound.Outcome.TRIAGE
    assert [t.body for t in inbound.list_triage(services)] == ["STOP"]
    assert not any(s.sms_opted_out for s in staff_cases.list_staff(services))


# ---- the gateway's media lookup: a small view, never an ORM row -------------------------------------------------


def test_media_file_is_a_frozen_view_or_none(services: Services, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    dana = find_staff(services.engine, "dana@example.com")
    message_id = queue_outgoing(services, staff=dana, body="a photo", attachments=[photo])
    (attachment,) = get_messages(services.engine, [message_id])[0].attachments
    found = inbound.media_file(services.engine, services.attachments, attachment.id)
    assert found is not None and found.mime_type == "image/jpeg"
    assert found.path.read_bytes() == photo.read_bytes()
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.mime_type = "text/html"  # type: ignore[misc]
    assert inbound.media_file(services.engine, services.attachments, attachment.id + 1000) is None
    found.path.chmod(0o600)
    found.path.unlink()  # the stored file is gone (a full disk cleaned by hand, say): no file, not a crash
    assert inbound.media_file(services.engine, services.attachments, attachment.id) is None


# ---- feeds: each delivery of a retry or a cancel succeeds or fails alone ----------------------------------------


def test_one_delivery_that_cannot_be_retried_among_good_ones(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    for body in ("one", "two"):
        queue_outgoing(services, staff=dana, body=body)
    claimed = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="test")
    assert len(claimed) == 2
    for item in claimed:
        outbox.record_failed(services.engine, item.delivery_id, "test", "550 mailbox unavailable")
    ids = [claimed[0].delivery_id, 999_999, claimed[1].delivery_id]
    result = feeds.retry_deliveries(services, ids)
    assert result.done == 2
    assert result.problems == ["that delivery no longer exists"]
    again = feeds.retry_deliveries(services, [claimed[0].delivery_id])  # queued now: a sentence, not a change
    assert again.done == 0 and "only a failed delivery can be retried" in again.problems[0]
    cancelled = feeds.cancel_deliveries(services, [d.delivery_id for d in claimed])
    assert cancelled.done == 2 and cancelled.problems == []


def test_search_across_staff_names_an_inactive_staff_member(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    queue_outgoing(services, staff=dana, body="the gate code is 4417")
    with write_session(services.engine) as session:
        row = session.get(Staff, dana.id)
        assert row is not None
        row.active = False
        session.add(row)
    hits, names = feeds.search_all_staff(services, "gate code")
    assert [m.body for m in hits] == ["the gate code is 4417"]
    assert names[dana.id] == "Dana Reyes"
    assert feeds.search_all_staff(services, "nothing like this") == ([], {})


def test_removed_messages_latest_removal_first(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    first = queue_outgoing(services, staff=dana, body="first")
    second = queue_outgoing(services, staff=dana, body="second")
    feeds.remove_message(services, second)
    feeds.remove_message(services, first)
    assert [m.id for m in feeds.removed_messages(services, dana.id)] == [first, second]
    assert all(m.deleted_by == "alex" for m in feeds.removed_messages(services, dana.id))
    feeds.restore_message(services, first)
    with pytest.raises(LookupError):
        feeds.restore_message(services, first)  # restored already (by another dispatcher, say)
    assert [m.id for m in feeds.removed_messages(services, dana.id)] == [second]


# ---- the app's typed way to its services ------------------------------------------------------------------------


def test_the_app_says_when_its_services_are_not_open_yet(services: Services) -> None:
    booting = StaffFeedApp(None, opener=lambda: services, boot_names=["Dana Reyes"])
    assert not booting.opened
    with pytest.raises(RuntimeError, match="not open yet"):
        _ = booting.services
    ready = StaffFeedApp(services, embedded_worker=False)
    assert ready.opened and ready.services is services
