"""Dispatcher accounts on a shared host (the gitolite model): every dispatcher logs in to one service account, and
their SSH key says who they are. Each command changes the database, then writes the service account's
`authorized_keys` again from it: the block between the marks, atomically, every other line kept.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from staff_feed_tui.core.accounts import (
    AccountError,
    check_account_name,
    key_line,
    parse_public_key,
    splice_managed_block,
)
from staff_feed_tui.services.context import Services
from staff_feed_tui.store.accounts import (
    AccountView,
    add_account,
    add_key,
    disable_account,
    list_accounts,
    remove_key,
)


def default_authorized_keys() -> Path:
    return Path("~/.ssh/authorized_keys").expanduser()


def app_program() -> str:
    """The absolute path of this installation's `staff-feed`, for the forced command."""
    beside = Path(sys.executable).parent / "staff-feed"
    return str(beside if beside.exists() else Path(sys.argv[0]).absolute())


def read_key_file(path: str | os.PathLike[str]) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(64 * 1024)
    except FileNotFoundError:
        raise AccountError(f"public key file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountError(f"cannot read the public key file {path}: {getattr(exc, 'strerror', None) or exc}") from None


def write_authorized_keys(services: Services, path: Path, program: str | None = None) -> int:
    """Write the managed block of `path` from the database; returns how many keys it holds.

    Written to a temporary file beside it (0600, the old file's owner), synced, then renamed over it: sshd reads
    either the old file or the new one, never half of one.
    """
    config = services.settings.config_file
    program = program or app_program()
    lines = [
        key_line(program, account.name, key, str(config) if config else None)
        for account in list_accounts(services.engine)
        if not account.disabled
        for _, key in account.keys
    ]
    try:
        existing = path.read_text(encoding="utf-8")
        owner = path.stat()
    except FileNotFoundError:
        existing, owner = "", None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    text = splice_managed_block(existing, lines)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".authorized_keys.", dir=path.parent)
    except OSError as exc:
        raise AccountError(f"cannot write beside {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        if owner is not None and os.geteuid() == 0:
            os.chown(temp, owner.st_uid, owner.st_gid)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise AccountError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(lines)


def add_dispatcher(services: Services, name: str, key_file: str | None) -> str:
    check_account_name(name)
    key = parse_public_key(read_key_file(key_file)) if key_file else None
    created = add_account(services.engine, name)
    if key is not None:
        add_key(services.engine, name, key)
    state = "added" if created else "already there"
    return f"dispatcher {name} {state}" + (f", key {key.fingerprint}" if key else "")


def add_dispatcher_key(services: Services, name: str, key_file: str) -> str:
    key = parse_public_key(read_key_file(key_file))
    add_key(services.engine, name, key)
    return f"key {key.fingerprint} added for {name}"


def remove_dispatcher_key(services: Services, name: str, fingerprint: str) -> str:
    remove_key(services.engine, name, fingerprint)
    return f"key {fingerprint} removed from {name}"


def disable_dispatcher(services: Services, name: str) -> str:
    removed = disable_account(services.engine, name)
    return f"dispatcher {name} disabled, {removed} key(s) removed"


def dispatcher_accounts(services: Services) -> list[AccountView]:
    return list_accounts(services.engine)
