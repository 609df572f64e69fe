"""The content-addressed attachment store: files copied in at send time, named by their sha256.

A file attached once and edited or deleted later leaves the history unchanged. Two messages with the same file
share one copy. Its directories and files get the database's modes: 0700/0600 for one account, or with
`shared_group` 2770/0660 and that group, so that every dispatcher's account in the group (and a worker running as
another member) can add and read files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from staff_feed_tui.store.db import DiskFull, is_disk_full, set_access

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    relative_path: str


class AttachmentStore:
    def __init__(self, root: Path, *, shared_group: str | None = None) -> None:
        self.root = root
        self.shared_group = shared_group
        self._dir_mode = 0o770 if shared_group else 0o700
        self._file_mode = 0o660 if shared_group else 0o600

    def _make_dir(self, path: Path) -> None:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            set_access(path, self._dir_mode, self.shared_group)  # mkdir's mode is cut by the umask

    def share(self) -> None:
        """Give a store made before `shared_group` was set (or by an older version) the group's modes, once:
        what this account owns is changed, the rest is left to its owners."""
        if not self.shared_group or not self.root.is_dir() or self.root.stat().st_mode & 0o7777 == 0o2770:
            return
        for directory, _, files in os.walk(self.root):
            for name in files:
                set_access(Path(directory, name), self._file_mode, self.shared_group)
            set_access(Path(directory), self._dir_mode, self.shared_group)

    def put(self, source: Path) -> StoredFile:
        """Copy `source` in, hashing as it goes. Atomic: a reader never sees half a file."""
        self._make_dir(self.root)
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
            self._make_dir(target.parent)
            if target.exists():
                os.unlink(tmp_name)
            else:
                set_access(Path(tmp_name), self._file_mode, self.shared_group)
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
        self._make_dir(self.root)
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
