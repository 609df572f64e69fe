"""PostgreSQL for the tests, when STAFF_FEED_TEST_POSTGRES_URL names a server (`.ci/run` sets it).

One database per test process is migrated once and kept as a template; each test gets its own database cloned from
it (`CREATE DATABASE … TEMPLATE …`, a file copy: about 0.1 s) and dropped afterwards. Every name starts `sf_pg_`.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy.engine import make_url

ENV = "STAFF_FEED_TEST_POSTGRES_URL"
# Read once, when conftest imports this: every test then runs with no STAFF_FEED_* variable set.
_SERVER = os.environ.get(ENV)
_template: str | None = None


def server_url() -> str | None:
    url = _SERVER
    if not url:
        return None
    from staff_feed_tui.core.db_url import normalize_url

    return normalize_url(url)


def url_for(database: str) -> str:
    server = server_url()
    assert server is not None
    return make_url(server).set(database=database).render_as_string(hide_password=False)


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(url_for("postgres").replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _template_name() -> str:
    """The migrated template of this test process, made on first use."""
    global _template
    if _template is None:
        from staff_feed_tui.store.db import make_engine
        from staff_feed_tui.store.migrations import upgrade

        name = f"sf_pg_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _admin(f"CREATE DATABASE {name}")
        engine = make_engine(url_for(name))
        upgrade(engine)
        engine.dispose()
        _template = name
    return _template


def new_database() -> str:
    """A fresh migrated database's URL (its name is the URL's last part; give it to `drop_database`)."""
    name = f"sf_pg_t_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {_template_name()}")
    return url_for(name)


def drop_database(url: str) -> None:
    _admin(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")


def drop_template() -> None:
    global _template
    if _template is not None:
        _admin(f"DROP DATABASE IF EXISTS {_template} WITH (FORCE)")
        _template = None
