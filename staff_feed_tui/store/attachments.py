"""The content-addressed attachment store: files copied in at send time, named by their sha256.

A file attached once and edited or deleted later leaves the history unchanged. Two messages with the same file
share one copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from staff_feed_tui.store.db import DiskFull, is_disk_full

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    relative_path: str


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Path) -> StoredFile:
        """Copy `source` in, hashing as it goes. Atomic: a reader never sees half a file."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            relative = f"{sha[:2]}/{sha}"
            target = self.root / relative
            target.parent.mkdir(exist_ok=True, mode=0o700)
            if target.exists():
                os.unlink(tmp_name)
            else:
                os.chmod(tmp_name, 0o600)
                os.replace(tmp_name, target)
        except BaseException as exc:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            if is_disk_full(exc):
                raise DiskFull(f"the attachments {self.root}",
                               f"{source.name} could not be stored, so nothing was saved") from None
            raise
        return StoredFile(sha256=sha, size=size, relative_path=relative)

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes that arrived over the network (an inbound MMS file)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
            except OSError as exc:
                if is_disk_full(exc):
                    raise DiskFull(f"the attachments {self.root}", "the file was not stored") from None
                raise
            return self.put(Path(tmp_name))
        finally:
            os.unlink(tmp_name)

    def path_of(self, relative_path: str) -> Path:
        return self.root / relative_path
