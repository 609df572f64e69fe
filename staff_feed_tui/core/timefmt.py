"""How times read in the feed: recent ones short, older ones with their date."""

from __future__ import annotations

from datetime import datetime, timedelta


def format_when(when: datetime, now: datetime) -> str:
    """Today `14:05`, this week `Mon 14:05`, older `2026-03-02`. Both times are shown in local time."""
    local = when.astimezone()
    local_now = now.astimezone()
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    if timedelta(0) <= local_now.date() - local.date() < timedelta(days=7):
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d")


def format_day(when: datetime, now: datetime) -> str:
    """The label of a day separator: `Today`, `Yesterday`, or `Mon 2 Nov 2026`."""
    local = when.astimezone().date()
    today = now.astimezone().date()
    if local == today:
        return "Today"
    if local == today - timedelta(days=1):
        return "Yesterday"
    return f"{local:%a} {local.day} {local:%b %Y}"
