"""What a session may reach beyond the app: which editor may run, which files may be attached.

A dispatcher who reaches the host through the service account's forced command must not leave the app: any program
the app starts runs as the account that owns the database, the secrets and `~/.ssh/authorized_keys`. So a *locked*
session starts no program except an editor in a restricted mode that reads and writes only the file it was given,
and attaches only files under its attach root. The rules are plain functions here, so they are tested without a
terminal; the TUI calls them where it would start the editor or take a path.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from staff_feed_tui.core.draft import AttachmentFile, DraftError, check_attachment
from staff_feed_tui.core.safe_text import safe_line

# Editors that, in the mode their name selects, neither start a program nor touch a file other than the one given.
# rnano: "don't read or write any file not specified on the command line", and no ^T (spell/execute). rvim is not
# here: vim's restricted mode blocks shell commands only; `:w ~/.ssh/authorized_keys` would still work, and as the
# service account that is a way to a shell.
RESTRICTED_EDITORS = frozenset({"rnano"})

DROP_DIR = "drop"  # <data dir>/drop/<dispatcher>: a locked session's attach root unless `[tui] attach_root` says


class EditorRefused(Exception):
    """No editor may run in this session; the text is one sentence for the dispatcher."""


def session_is_locked(env: Mapping[str, str], *, configured: bool, as_name: str | None, os_user: str) -> bool:
    """A session is locked when the operator says so, when sshd ran a forced command in place of the client's one
    (`SSH_ORIGINAL_COMMAND`), or when it came over SSH with `--as` naming a dispatcher other than the OS account
    (the service account's keys: sshd sets `SSH_ORIGINAL_COMMAND` only when the client sent a command)."""
    if configured or "SSH_ORIGINAL_COMMAND" in env:
        return True
    over_ssh = bool(env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or env.get("SSH_TTY"))
    return over_ssh and bool(as_name) and as_name != os_user


def editor_command(env: Mapping[str, str], *, locked: bool, configured: str | None) -> list[str]:
    """The command line of the external editor, or EditorRefused with the reason.

    Unlocked: `[tui] editor`, else $VISUAL, else $EDITOR, else vi. Locked: only `[tui] editor`, and only when it
    names an editor in its restricted mode; the environment is never consulted.
    """
    if not locked:
        return shlex.split(configured or env.get("VISUAL") or env.get("EDITOR") or "vi")
    if not configured:
        raise EditorRefused("no external editor in this session: write in the composer (Ctrl+J for a new line)")
    try:
        command = shlex.split(configured)
    except ValueError:
        command = []
    if not command or os.path.basename(command[0]) not in RESTRICTED_EDITORS:
        raise EditorRefused(
            f"the editor {safe_line(configured)!r} may not run in this session: only an editor in its restricted "
            f"mode ({', '.join(sorted(RESTRICTED_EDITORS))}) may; write in the composer"
        )
    return command


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


@dataclass(frozen=True)
class AttachScope:
    """Where files may be attached from. `root` None: anywhere this account can read, except `never`.

    `never` holds the data dir, the database, the config and the secret files, resolved; `allowed` holds folders
    inside `never` that are still open (a dispatcher's drop folder in the data dir).
    """

    root: Path | None = None
    never: tuple[Path, ...] = ()
    allowed: tuple[Path, ...] = field(default_factory=tuple)

    def start_dir(self, cwd: Path) -> Path:
        return self.root if self.root is not None else cwd

    def resolve(self, raw: str | os.PathLike[str], cwd: Path) -> Path:
        """The real path that `raw` names (symlinks followed), or DraftError when it may not be reached."""
        text = os.fspath(raw).strip()
        shown = safe_line(text)
        if not text:
            raise DraftError("attachment path is empty")
        if "\x00" in text:
            raise DraftError(f"attachment path is not valid: {shown}")
        base = self.root if self.root is not None else cwd
        given = Path(text) if self.root is not None else Path(text).expanduser()
        real = Path(os.path.realpath(base / given))
        if self.root is not None and not _within(real, Path(os.path.realpath(self.root))):
            raise DraftError(f"only files in {safe_line(str(self.root))} can be attached here: {shown} is outside")
        for never in self.never:
            if _within(real, never) and not any(_within(real, ok) for ok in self.allowed):
                raise DraftError(f"this file cannot be attached: {shown} is the app's own data or configuration")
        return real

    def check(self, raw: str | os.PathLike[str], cwd: Path, already: Sequence[AttachmentFile] = ()) -> AttachmentFile:
        """`check_attachment` on the path, once it is known to be reachable."""
        return check_attachment(self.resolve(raw, cwd), already)

    def visible(self, path: Path) -> bool:
        """Whether the picker's tree may show `path` (a symlink out of the root, or the data dir, is hidden)."""
        try:
            self.resolve(path, path.parent)
        except DraftError:
            return False
        return True


@dataclass(frozen=True)
class SessionPolicy:
    """The session's answers, worked out once at start-up from the settings and the environment."""

    locked: bool = False
    editor: str | None = None
    attach: AttachScope = AttachScope()

    def editor_command(self, env: Mapping[str, str]) -> list[str]:
        return editor_command(env, locked=self.locked, configured=self.editor)
