"""Triggers written once for both engines, as SQLite spells them (`AFTER INSERT ON t BEGIN …; END`).

On PostgreSQL the same body becomes a plpgsql function and a FOR EACH ROW trigger that runs it (NEW and OLD mean
the same there). The change log's own NOTIFY is `change_notify` below: one per statement that adds change rows,
which wakes every listening app and worker (`store/changes.py`).
"""

from __future__ import annotations

import re

from alembic import op

CHANGE_CHANNEL = "staff_feed_change"
_HEAD = re.compile(r"^\s*CREATE TRIGGER (\w+) (AFTER [\w ,]+? ON (\w+)) BEGIN\s*(.*?);?\s*END\s*$", re.DOTALL | re.IGNORECASE)


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_trigger(sql: str) -> None:
    """Create the trigger `sql` (SQLite's syntax, one or more statements in its body) on this engine."""
    if not is_postgres():
        op.execute(sql)
        return
    match = _HEAD.match(sql)
    if match is None:
        raise ValueError(f"not a trigger this helper can translate: {sql[:60]}")
    name, timing, _table, body = match.groups()
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$"
    )
    op.execute(f"CREATE TRIGGER {name} {timing} FOR EACH ROW EXECUTE FUNCTION {name}()")


def drop_trigger(name: str, table: str) -> None:
    if is_postgres():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def create_change_notify() -> None:
    """PostgreSQL: every statement that adds rows to `change` sends one NOTIFY (delivered at commit)."""
    op.execute(
        "CREATE FUNCTION change_notify() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_notify('{CHANGE_CHANNEL}', ''); RETURN NULL; END $$"
    )
    op.execute("CREATE TRIGGER change_notify AFTER INSERT ON change FOR EACH STATEMENT EXECUTE FUNCTION change_notify()")
