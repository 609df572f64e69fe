"""P3: free-text search over 1M messages through FTS5, beside a LIKE '%word%' scan of the same query, same run.
Target: FTS median <= 50 ms.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from common import machine

DB = Path("/tmp/staff-feed-1m.db")
QUERIES = ["harness", "spare key", "Henderson", "lockbox code", "appointment", "Mochi"]
ROUNDS = 5


def main() -> None:
    from sqlalchemy import func, select

    from staff_feed_tui.core.filters import FeedFilter
    from staff_feed_tui.store.db import make_engine
    from staff_feed_tui.store.feed import apply_filter
    from staff_feed_tui.store.migrations import ensure_schema
    from staff_feed_tui.store.models import Message

    print(f"P3 full-text search over 1M messages · {machine()}")
    if not DB.exists():
        raise SystemExit(f"build {DB} first (see p1_p4_feed_and_staff.py)")
    engine = make_engine(f"sqlite:///{DB}")
    ensure_schema(engine)  # adds and back-fills the search index on a database built before it existed
    fts, like = [], []
    with engine.connect() as conn:
        for _ in range(ROUNDS):
            for words in QUERIES:
                # The feed's query: the newest 60 matches across all staff, as the cross-staff search asks.
                query = apply_filter(select(Message.id), FeedFilter(text=words))
                query = query.order_by(Message.created_at.desc()).limit(60)
                start = time.perf_counter()
                found = conn.execute(query).all()
                fts.append(time.perf_counter() - start)
                pattern = select(Message.id).where(func.lower(Message.body).like(f"%{words.lower()}%"))
                start = time.perf_counter()
                scanned = conn.execute(pattern.order_by(Message.created_at.desc()).limit(60)).all()
                like.append(time.perf_counter() - start)
                del found, scanned
    f, lk = statistics.median(fts) * 1000, statistics.median(like) * 1000
    print(f"  FTS5: median {f:.1f} ms, p95 {sorted(fts)[int(len(fts) * 0.95) - 1] * 1000:.1f} ms")
    print(f"  LIKE '%word%': median {lk:.1f} ms ({lk / f:.0f}x slower)")
    print(f"  target FTS median <= 50 ms: {'MET' if f <= 50 else 'NOT MET'}")


if __name__ == "__main__":
    main()
