"""Both engines from one Alembic history: the same schema by reflection, the same search, a URL never printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from staff_feed_tui.config import load_settings
from staff_feed_tui.core.db_url import normalize_url, redact_url
from staff_feed_tui.store.db import make_engine
from staff_feed_tui.store.migrations import HEAD, current_revision, ensure_schema
from tests import postgres

# Each engine's search index is its own: FTS5's virtual table and shadow tables, PostgreSQL's tsvector table.
SEARCH_TABLES = {"message_fts", "message_fts_data", "message_fts_idx", "message_fts_docsize", "message_fts_config",
                 "message_search"}


def schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns (generic type, nullability), keys, uniques and indexes, as reflection reports them."""
    found = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(set(found.get_table_names()) - SEARCH_TABLES):
        uniques = {tuple(u["column_names"]) for u in found.get_unique_constraints(table)}
        tables[table] = {
            "columns": {c["name"]: (type(c["type"].as_generic()).__name__, c["nullable"])
                        for c in found.get_columns(table)},
            "primary key": tuple(found.get_pk_constraint(table)["constrained_columns"]),
            "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"])) for f in found.get_foreign_keys(table)),
            "uniques": uniques,
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in found.get_indexes(table)
                              if not i.get("duplicates_constraint") and tuple(i["column_names"]) not in uniques),
        }
    return tables


@pytest.mark.postgresql
@pytest.mark.skipif(postgres.server_url() is None, reason=f"{postgres.ENV} is not set")
def test_both_engines_migrate_to_the_same_schema(tmp_path: Path) -> None:
    sqlite = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    ensure_schema(sqlite)
    url = postgres.new_database()
    server = make_engine(url)
    try:
        assert current_revision(server) == current_revision(sqlite) == HEAD
        ours, theirs = schema(sqlite), schema(server)
        assert ours.keys() == theirs.keys()
        for table in ours:
            assert ours[table] == theirs[table], table
    finally:
        server.dispose()
        postgres.drop_database(url)


def test_postgres_aliases_are_read_as_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h:5433/db?sslmode=require") == "postgresql+psycopg://u@h:5433/db?sslmode=require"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    settings = load_settings(database={"url": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://dispatch:s3cr3t@db.example/feed", "postgresql+psycopg://dispatch:***@db.example/feed"),
        ("postgres://dispatch:p@ss/w:rd@db/feed", "postgresql+psycopg://dispatch:***@db/feed"),
        ("postgresql://db/feed?sslmode=require&password=s3cr3t", "postgresql+psycopg://db/feed?sslmode=require&password=***"),
        ("postgresql://dispatch@db/feed", "postgresql+psycopg://dispatch@db/feed"),
    ],
)
def test_a_password_in_the_url_is_never_shown(url: str, shown: str) -> None:
    assert redact_url(normalize_url(url)) == shown
    assert load_settings(database={"url": url}).database_url_shown == shown


def test_password_from_a_file_and_pool_size(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("s3cr3t\n")
    settings = load_settings(database={"url": "postgresql://dispatch@db/feed", "password_file": str(secret),
                                       "pool_size": 3})
    assert settings.database.password is not None and settings.database.password.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)
    engine = make_engine(settings.database_url, password="s3cr3t", pool_size=settings.database.pool_size)
    assert engine.url.password == "s3cr3t" and engine.pool.size() == 3  # type: ignore[attr-defined]
    assert "s3cr3t" not in str(engine.url) and "s3cr3t" not in repr(engine)


def test_a_server_that_does_not_answer_is_one_sentence_without_the_password(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import socket

    from staff_feed_tui.cli import main

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://dispatch:s3cr3t@127.0.0.1:{port}/feed"
    assert main(["--data-dir", str(tmp_path), "--db", url, "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("staff-feed: cannot open the database postgresql+psycopg://dispatch:***@127.0.0.1")
    assert "s3cr3t" not in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
