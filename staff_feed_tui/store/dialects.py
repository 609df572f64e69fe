"""Each engine's specifics, behind one small interface: everything else in `store` is one code path.

SQLite (the embedded default) and PostgreSQL (several hosts, one server) differ in:
- connection set-up (`db.make_engine`): SQLite gets its pragmas on every connection (WAL, busy timeout, foreign keys,
  synchronous=NORMAL); PostgreSQL needs none, and its pool checks a connection before handing it out;
- the write transaction: `BEGIN IMMEDIATE` on SQLite (measured: 0 "database is locked" in 1,000 read-then-write
  pairs, against 419 with a deferred BEGIN); READ COMMITTED with row locks on PostgreSQL, where the outbox claim
  locks with `FOR UPDATE SKIP LOCKED` so workers on several hosts never wait on, or take, each other's rows;
- driver-level statements: written once with `:name` parameters (SQLite's style), turned into psycopg's `%(name)s`
  as they run (`db.make_engine` hooks `sql` in, so every `exec_driver_sql` in the code is one text);
- a list of ids as one parameter: `json_each` on SQLite, `= ANY(array)` on PostgreSQL;
- which errors mean "try the transaction again" (serialization failure, deadlock) or "busy".
Search and the change feed have their own modules (`search.py`, `changes.py`), which ask `dialect_of`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine

# SQLSTATEs worth running a transaction again for: serialization_failure, deadlock_detected.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str  # "sqlite" or "postgresql"

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def sql(self, statement: str) -> str:
        """A driver-level statement written with `:name` parameters, in this driver's parameter style."""
        return _pyformat(statement) if self.is_postgres else statement

    def id_list(self, column: str, param: str) -> str:
        """`column` is one of the ids in the parameter `param` (given as `id_values(...)`)."""
        if self.is_postgres:
            return f"{column} = ANY(:{param})"
        return f"{column} IN (SELECT value FROM json_each(:{param}))"

    def id_values(self, values: Sequence[int | str]) -> Any:
        return list(values) if self.is_postgres else json.dumps(list(values))

    @property
    def skip_locked(self) -> str:
        """What a claim's inner SELECT ends with: SQLite's BEGIN IMMEDIATE already holds the only write lock."""
        return "FOR UPDATE OF d SKIP LOCKED" if self.is_postgres else ""

    def is_retryable(self, exc: BaseException) -> bool:
        """A serialization failure or a deadlock: the transaction did nothing and may be run again."""
        return getattr(getattr(exc, "orig", None), "sqlstate", None) in RETRY_SQLSTATES

    def is_busy(self, exc: BaseException) -> bool:
        """SQLite's write lock held past the busy timeout."""
        text = str(getattr(exc, "orig", exc))
        return not self.is_postgres and ("locked" in text or "busy" in text)


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgresql")


def dialect_of(engine: Engine | Connection) -> Dialect:
    return POSTGRES if engine.dialect.name == "postgresql" else SQLITE


@lru_cache(maxsize=128)
def _pyformat(statement: str) -> str:
    return _NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))


def serialize(connection: Connection, name: str) -> None:
    """Hold a lock named `name` until this write transaction ends: a check-then-write that must not interleave with
    another host's. SQLite's BEGIN IMMEDIATE already holds the only write lock."""
    if dialect_of(connection).is_postgres:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(:name))", {"name": name})
