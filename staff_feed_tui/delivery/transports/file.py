"""File transports, as Django's email backends have: email as .eml files, SMS as JSON lines, in `<data dir>/outbox/`.

They serve the demo and offline use. A file written is a delivery sent; its name is the provider id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from staff_feed_tui.delivery.email import prepare_email
from staff_feed_tui.delivery.results import SendResult
from staff_feed_tui.store.outbox import ClaimedDelivery


class FileEmailTransport:
    concurrency = 1
    rate_per_s = 0.0
    timeout_s = 5.0  # a local file write

    def __init__(self, outbox_dir: Path, build: Callable[[ClaimedDelivery], EmailMessage]) -> None:
        self.directory = outbox_dir / "email"
        self._build = build

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def send(self, item: ClaimedDelivery) -> SendResult:
        mail = prepare_email(self._build, item)
        if isinstance(mail, SendResult):
            return mail
        name = f"{item.message_id:08d}-{item.delivery_id:08d}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(bytes(mail))
        os.replace(tmp, self.directory / name)
        return SendResult.sent(name)

    async def close(self) -> None:
        return None


class FileSmsTransport:
    concurrency = 1
    rate_per_s = 0.0
    timeout_s = 5.0  # a local file write

    def __init__(self, outbox_dir: Path, from_number: str | None) -> None:
        self.path = outbox_dir / "sms.jsonl"
        self._from = from_number

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def send(self, item: ClaimedDelivery) -> SendResult:
        if not item.staff_phone:
            return SendResult.permanent(f"{item.staff_name} has no mobile number")
        provider_id = f"FILE{item.delivery_id:010d}"
        record = {
            "sid": provider_id,
            "to": item.staff_phone,
            "from": self._from,
            "body": item.body,
            "media": [f.filename for f in item.files],
        }
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return SendResult.sent(provider_id)

    async def close(self) -> None:
        return None
