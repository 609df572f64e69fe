"""P3: free-text search over 1M messages through FTS5, beside a LIKE '%word%' scan of the same query, same run.

What is timed is what the app runs:
- across all staff (`S`): `search_all`, the latest 60 matches;
- in one feed (`/`): `search_feed` on the busiest staff member (100k messages), every match up to 2,000;
each beside a LIKE '%word%' query giving the same rows. Words common in the synthetic data (40k-110k matches) and
words that match nothing (the LIKE scan then reads every row) are reported apart. Target: FTS median <= 50 ms.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from common import machine

DB = Path("/tmp/staff-feed-1m.db")
COMMON = ["harness", "spare key", "Henderson", "lockbox code", "appointment", "Mochi"]
RARE = ["giraffe", "snorkel", "xylophone"]
ROUNDS = 5


def main() -> None:
    from sqlalchemy import func, select

    from staff_feed_tui.store.db import make_engine
    from staff_feed_tui.store.feed import search_all, search_feed
    from staff_feed_tui.store.migrations import ensure_schema
    from staff_feed_tui.store.models import Message

    print(f"P3 full-text search over 1M messages · {machine()}")
    if not DB.exists():
        raise SystemExit(f"build {DB} first: staff-feed --db sqlite:///{DB} demo-data --staff 10000 --messages 1000000")
    engine = make_engine(f"sqlite:///{DB}")
    ensure_schema(engine)  # adds and back-fills the search index on a database built before it existed

    def like_all(conn, words: str) -> list[int]:  # type: ignore[no-untyped-def]
        query = select(Message.id).where(Message.deleted_at.is_(None))
        for word in words.lower().split():
            query = query.where(func.lower(Message.body).like(f"%{word}%"))
        return [r[0] for r in conn.execute(query.order_by(Message.id.desc()).limit(60))]

    def like_feed(conn, words: str) -> list[int]:  # type: ignore[no-untyped-def]
        query = select(Message.id).where(Message.staff_id == 1, Message.deleted_at.is_(None))
        for word in words.lower().split():
            query = query.where(func.lower(Message.body).like(f"%{word}%"))
        return [r[0] for r in conn.execute(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(2000))]

    results: dict[tuple[str, str, str], list[float]] = {}

    def timed(key: tuple[str, str, str], call):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        out = call()
        results.setdefault(key, []).append(time.perf_counter() - start)
        return out

    with engine.connect() as conn:
        for _ in range(ROUNDS):
            for kind, words_list in (("common", COMMON), ("no match", RARE)):
                for words in words_list:
                    found = timed(("all staff", kind, "FTS5"), lambda words=words: search_all(engine, words, limit=60))
                    scanned = timed(("all staff", kind, "LIKE"), lambda words=words: like_all(conn, words))
                    assert kind != "no match" or (not found and not scanned)
                    hits = timed(("one feed", kind, "FTS5"), lambda words=words: search_feed(engine, 1, words))
                    liked = timed(("one feed", kind, "LIKE"), lambda words=words: like_feed(conn, words))
                    del hits, liked
    met = True
    for scope in ("all staff", "one feed"):
        for kind in ("common", "no match"):
            fts = statistics.median(results[(scope, kind, "FTS5")]) * 1000
            like = statistics.median(results[(scope, kind, "LIKE")]) * 1000
            met &= fts <= 50
            print(f"  {scope:9} · {kind:8}: FTS5 median {fts:7.1f} ms · LIKE median {like:7.1f} ms"
                  f" · LIKE/FTS {like / fts:6.1f}x")
    print(f"  target FTS median <= 50 ms in every case: {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
