"""The staff names read with the standard library alone, for the first paint at start-up.

The app paints the staff list from this before SQLAlchemy, SQLModel and the settings are even imported (they take
most of a second here); the full list replaces it a moment later. Read-only: nothing is created or migrated here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def read_staff_names(path: Path) -> list[str] | None:
    """Active staff names in the staff list's order, or None when the file cannot be read that way."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
        try:
            rows = conn.execute("SELECT name FROM staff WHERE active ORDER BY lower(name), id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return [name for (name,) in rows]
