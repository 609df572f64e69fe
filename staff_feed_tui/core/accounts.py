"""Dispatcher accounts on a shared host: names, and the service account's `authorized_keys` lines.

Pure text: `services.dispatchers` reads and writes the file; this module says what goes in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"[a-z0-9._-]{1,32}")


class AccountError(ValueError):
    """A dispatcher account problem, in one sentence."""


def check_account_name(name: str) -> str:
    """The name of a dispatcher account, or AccountError: `[a-z0-9._-]{1,32}`, not `.`/`..` and not starting with
    `-`. Stricter than any `--as` name (core.validation): it names a drop folder and goes into `authorized_keys`."""
    if not NAME_PATTERN.fullmatch(name) or set(name) == {"."} or name.startswith("-"):
        shown = name.encode("unicode_escape").decode("ascii")[:40]
        raise AccountError(
            f"dispatcher name {shown!r} is not valid: use 1 to 32 of a-z, 0-9, '.', '_' and '-', not starting with '-'"
        )
    return name


# ---- public keys -----------------------------------------------------------------------------------------------

KEY_TYPES = frozenset({
    "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa",
})


@dataclass(frozen=True, slots=True)
class PublicKey:
    kind: str
    blob: str  # base64, as in the key file

    @property
    def fingerprint(self) -> str:
        """As `ssh-keygen -l` prints it: SHA256 of the key, base64 without padding."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def parse_public_key(text: str) -> PublicKey:
    """One OpenSSH public key (`type base64 [comment]`), or AccountError. A line with options (`command=…`) is
    refused: the options are this program's to write. The comment is dropped (it would reach `authorized_keys`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise AccountError(f"a public key file holds one key on one line; this one has {len(lines)} lines")
    fields = lines[0].split()
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        shown = fields[0].encode("unicode_escape").decode("ascii")[:40] if fields else ""
        raise AccountError(f"not an OpenSSH public key: it starts with {shown!r}, not a key type such as ssh-ed25519"
                           " (give the .pub file, without options)")
    kind, blob = fields[0], fields[1]
    try:
        raw = base64.b64decode(blob, validate=True)
        length = struct.unpack(">I", raw[:4])[0]
        named = raw[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise AccountError(f"the {kind} key is damaged: its base64 body cannot be read") from None
    if named != kind:
        raise AccountError(f"the key says it is {kind} but its body is a {named or 'different'} key")
    return PublicKey(kind, blob)


# ---- the managed block of authorized_keys ------------------------------------------------------------------------

BEGIN_MARK = "# staff-feed: BEGIN dispatcher keys (written by `staff-feed dispatcher`; edits here are lost)"
END_MARK = "# staff-feed: END dispatcher keys"
# Paths written into a forced command: nothing that would need quoting or could end the quoted command.
_SAFE_PATH = re.compile(r"[A-Za-z0-9/._+-]+")


def key_line(program: str, name: str, key: PublicKey, config: str | None = None) -> str:
    """`command="<program> --as NAME",restrict,pty <type> <key> staff-feed:NAME`: the key opens only the app, as
    NAME, with a terminal; `restrict` turns off forwarding of ports, agent and X11, and ~/.ssh/rc."""
    check_account_name(name)
    for path in (program, config):
        if path is not None and not _SAFE_PATH.fullmatch(path):
            raise AccountError(f"the path {path!r} cannot go into a forced command: use one without spaces or quotes")
    config_part = f" --config {config}" if config else ""
    return f'command="{program}{config_part} --as {name}",restrict,pty {key.kind} {key.blob} staff-feed:{name}'


def splice_managed_block(existing: str, lines: Sequence[str]) -> str:
    """`existing` with the block between the marks replaced by `lines` (appended when there are no marks); every
    line outside the marks is kept as it was."""
    block = [BEGIN_MARK, *lines, END_MARK]
    current = existing.splitlines()
    try:
        start = current.index(BEGIN_MARK)
        end = current.index(END_MARK, start)
    except ValueError:
        kept = [line for line in current if line not in (BEGIN_MARK, END_MARK)]
        return "\n".join([*kept, *block]) + "\n"
    return "\n".join([*current[:start], *block, *current[end + 1 :]]) + "\n"


def check_acting_as(as_name: str | None, *, os_user: str, euid: int, data_owner: int) -> None:
    """`--as NAME` naming someone other than the OS user is for root and for the service account (the owner of the
    data dir, whose forced commands name the dispatcher); a dispatcher with an OS account of their own is themself."""
    if as_name is None or as_name == os_user or euid in (0, data_owner):
        return
    raise AccountError(f"--as {as_name!r} is refused: {os_user} may act only as {os_user} (only root or the account "
                       "that owns the data dir may act as another dispatcher)")
