"""Dispatcher accounts and their SSH keys in the database (the `staff-feed dispatcher` commands)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from staff_feed_tui.core.accounts import AccountError, PublicKey
from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.models import Dispatcher, DispatcherKey, utcnow


@dataclass(frozen=True, slots=True)
class AccountView:
    name: str
    disabled: bool
    keys: tuple[tuple[str, PublicKey], ...]  # (fingerprint, key), oldest first


def _get(session: Session, name: str) -> Dispatcher:
    row = session.exec(select(Dispatcher).where(Dispatcher.name == name)).first()
    if row is None:
        raise AccountError(f"no dispatcher named {name!r} (see `staff-feed dispatcher list`)")
    return row


def add_account(engine: Engine, name: str) -> bool:
    """Create the dispatcher, or enable one that was disabled; False when they were there and enabled already.

    A name that has written messages already exists (the app records authors by name) and simply becomes an account.
    """
    with write_session(engine) as session:
        row = session.exec(select(Dispatcher).where(Dispatcher.name == name)).first()
        if row is None:
            session.add(Dispatcher(name=name))
            return True
        if row.disabled_at is None:
            return False
        row.disabled_at = None
        session.add(row)
        return True


def add_key(engine: Engine, name: str, key: PublicKey) -> None:
    with write_session(engine) as session:
        row = _get(session, name)
        if row.disabled_at is not None:
            raise AccountError(f"dispatcher {name!r} is disabled: `staff-feed dispatcher add {name}` enables them")
        taken = session.exec(select(DispatcherKey).where(DispatcherKey.fingerprint == key.fingerprint)).first()
        if taken is not None:
            owner = session.get(Dispatcher, taken.dispatcher_id)
            whose = "theirs already" if owner is not None and owner.id == row.id else f"{owner.name if owner else '?'}'s"
            raise AccountError(f"the key {key.fingerprint} is {whose}: one key is one dispatcher")
        session.add(DispatcherKey(dispatcher_id=row.id, fingerprint=key.fingerprint, kind=key.kind, blob=key.blob))


def remove_key(engine: Engine, name: str, fingerprint: str) -> None:
    with write_session(engine) as session:
        row = _get(session, name)
        key = session.exec(
            select(DispatcherKey).where(DispatcherKey.dispatcher_id == row.id, DispatcherKey.fingerprint == fingerprint)
        ).first()
        if key is None:
            raise AccountError(f"dispatcher {name!r} has no key {fingerprint} (see `staff-feed dispatcher list`)")
        session.delete(key)


def disable_account(engine: Engine, name: str) -> int:
    """Disable the dispatcher and delete their keys; returns how many keys went."""
    with write_session(engine) as session:
        row = _get(session, name)
        keys = session.exec(select(DispatcherKey).where(DispatcherKey.dispatcher_id == row.id)).all()
        for key in keys:
            session.delete(key)
        row.disabled_at = row.disabled_at or utcnow()
        session.add(row)
        return len(keys)


def list_accounts(engine: Engine) -> list[AccountView]:
    with read_session(engine) as session:
        rows = session.exec(select(Dispatcher).order_by(Dispatcher.name)).all()
        keys = session.exec(select(DispatcherKey).order_by(DispatcherKey.id)).all()
    by_owner: dict[int, list[tuple[str, PublicKey]]] = {}
    for key in keys:
        by_owner.setdefault(key.dispatcher_id, []).append((key.fingerprint, PublicKey(key.kind, key.blob)))
    return [AccountView(r.name, r.disabled_at is not None, tuple(by_owner.get(r.id or 0, ()))) for r in rows]


def is_disabled(engine: Engine, name: str) -> bool:
    with read_session(engine) as session:
        row = session.exec(select(Dispatcher).where(Dispatcher.name == name)).first()
        return row is not None and row.disabled_at is not None
