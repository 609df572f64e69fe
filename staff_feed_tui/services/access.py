"""Can this OS account use each path the app needs? For `staff-feed doctor`: owner, group, mode and membership of the
data dir, the database and its WAL files, the attachment store, the outbox and the secret files, and what this
account's app will lack where it cannot.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from staff_feed_tui.config import SECRET_KEYS, Settings
from staff_feed_tui.store.db import sqlite_path


@dataclass(frozen=True, slots=True)
class PathAccess:
    name: str
    ok: bool
    detail: str


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _owner(info: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        user = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return f"{user}:{group} {stat.S_IMODE(info.st_mode):04o}"


def _membership(info: os.stat_result) -> str:
    """Whether this account is in the path's group, said when the group is what would grant access."""
    if info.st_uid == os.geteuid():
        return ""
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    member = info.st_gid in os.getgroups() or info.st_gid == os.getegid()
    return f"; {_user()} is {'' if member else 'not '}in group {group}"


def _check(name: str, path: Path, mode: int, lacks: str, *, directory: bool) -> PathAccess:
    """`mode` is what this account needs (os.R_OK | os.W_OK ...); `lacks` is what its app goes without."""
    try:
        info = path.stat()
    except FileNotFoundError:
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent  # created along with the data dir: what counts is the nearest existing folder
        if os.access(parent, os.W_OK | os.X_OK):
            return PathAccess(name, True, f"{path} does not exist yet; {_user()} can create it")
        return PathAccess(name, False, f"{path} does not exist and {_user()} cannot create it in {parent}: {lacks}")
    except PermissionError:
        return PathAccess(name, False, f"{path} cannot be reached by {_user()} (a folder above it is closed): {lacks}")
    if directory and not stat.S_ISDIR(info.st_mode):
        return PathAccess(name, False, f"{path} is not a directory: {lacks}")
    wanted = mode | (os.X_OK if directory else 0)
    if os.access(path, wanted):
        return PathAccess(name, True, f"{path} ({_owner(info)})")
    missing = [word for bit, word in ((os.R_OK, "read"), (os.W_OK, "write")) if mode & bit and not os.access(path, bit)]
    cannot = " or ".join(missing) or "enter"
    return PathAccess(name, False, f"{path} ({_owner(info)}){_membership(info)}: {_user()} cannot {cannot} it, "
                                   f"so {lacks}")


def check_access(settings: Settings) -> list[PathAccess]:
    """One line per path this account's app needs."""
    rw = os.R_OK | os.W_OK
    checks = [_check("data dir", settings.data_dir, rw, "the app cannot start", directory=True)]
    db = sqlite_path(settings.database_url)
    if db is not None:
        if db.parent != settings.data_dir:
            checks.append(_check("database dir", db.parent, rw, "SQLite cannot make its WAL files", directory=True))
        checks.append(_check("database", db, rw, "the app cannot start", directory=False))
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            if side.exists():
                checks.append(_check(f"database {suffix[1:].upper()}", side, rw, "the app cannot open the database",
                                     directory=False))
    checks.append(_check("attachments", settings.attachments_dir, rw, "files cannot be attached or sent",
                         directory=True))
    if "file" in (settings.email.transport, settings.sms.transport):
        checks.append(_check("outbox", settings.outbox_dir, rw, "the file transports cannot write", directory=True))
    for section, key in SECRET_KEYS:
        path = getattr(getattr(settings, section), f"{key}_file")
        if path is not None:
            checks.append(_check(f"secret {section}", path.expanduser(), os.R_OK,
                                 "this account's app will not send (delivery by the service worker)", directory=False))
    return checks
