"""The session's policy (see core/lockdown.py), worked out from the settings and the environment at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from staff_feed_tui.config import Settings
from staff_feed_tui.core.accounts import check_account_name
from staff_feed_tui.core.lockdown import DROP_DIR, AttachScope, SessionPolicy, session_is_locked
from staff_feed_tui.store.db import prepare_data_dir, sqlite_path


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path.expanduser()))


def session_policy(
    settings: Settings, dispatcher: str, *, as_name: str | None, os_user: str, env: Mapping[str, str] | None = None
) -> SessionPolicy:
    """Locked or not, the editor, and the attach scope; a locked session's drop folder is created (0700)."""
    env = os.environ if env is None else env
    locked = session_is_locked(env, configured=settings.tui.locked, as_name=as_name, os_user=os_user)
    data_dir = _real(settings.data_dir)
    never = [data_dir]
    db = sqlite_path(settings.database_url)
    if db is not None:
        never += [_real(db.with_name(db.name + suffix)) for suffix in ("", "-wal", "-shm")]
    if settings.config_file is not None:
        never.append(_real(settings.config_file.parent))
    never += [_real(path) for path in settings.secret_files]
    root = settings.tui.attach_root.expanduser() if settings.tui.attach_root else None
    if root is None and locked:
        # The drop folders' folder is shared like the data dir (each dispatcher makes their own in it); a
        # dispatcher's own folder is theirs alone.
        prepare_data_dir(settings.data_dir / DROP_DIR, settings.shared_group)
        root = settings.data_dir / DROP_DIR / check_account_name(dispatcher)
        root.mkdir(exist_ok=True, mode=0o700)
    # The drop folders are the one part of the data dir that may be attached from.
    allowed = (data_dir / DROP_DIR,)
    return SessionPolicy(
        locked=locked, editor=settings.tui.editor, attach=AttachScope(root=root, never=tuple(never), allowed=allowed)
    )
