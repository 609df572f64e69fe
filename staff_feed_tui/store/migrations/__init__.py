"""Alembic migrations, run from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

# The newest revision. `ensure_schema` compares against it so a start-up at head never imports Alembic;
# a test checks that it matches the scripts' head.
HEAD = "0009"

SCRIPT_LOCATION = Path(__file__).parent


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            has_table = conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
        else:
            has_table = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).first()
        if not has_table:
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return row[0] if row else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(engine: Engine) -> bool:
    """Upgrade to head if needed. Returns True when an upgrade ran."""
    if current_revision(engine) == HEAD:
        return False
    upgrade(engine)
    return True
