"""P2: peak memory (RSS) after scrolling the busiest feed from its first message to its last: 100k messages in a
1M-message database, against the same walk in a 10k-message database (1k-message feed), each in a fresh process.
Target: <= 120 MB, and flat between the two.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
from pathlib import Path

from common import ROOT, machine

DBS = {"10k": Path("/tmp/staff-feed-10k.db"), "1M": Path("/tmp/staff-feed-1m.db")}


async def walk(db: Path) -> tuple[int, int]:
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.services import open_services
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.feed_view import FeedView

    services = open_services(load_settings(database={"url": f"sqlite:///{db}"}), dispatcher="bench")
    app = make_app(services, embedded_worker=False)
    seen = 0
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        while not screen.query_one("StaffList").staff:
            await pilot.pause(0.05)
        busiest = next(s for s in screen.query_one("StaffList").staff if s.id == 1)
        screen.choose_staff(busiest)
        feed = screen.query_one(FeedView)
        while not (feed.messages and feed.messages[-1].staff_id == 1):
            await pilot.pause(0.01)
        feed.action_first()
        while not (feed.at_oldest and feed.selected is not None and feed.selected is feed.messages[0]):
            await pilot.pause(0.01)
        last_id = None
        while True:
            feed.scroll_end(animate=False, immediate=True)
            await pilot.pause()
            if feed.messages[-1].id != last_id:
                seen += 1
                last_id = feed.messages[-1].id
            if feed.at_newest and feed.scroll_offset.y >= feed.max_scroll_y:
                break
            await pilot.pause(0.005)
    services.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, seen


def main() -> None:
    if len(sys.argv) == 2:  # the child: one walk, in a fresh process
        rss, pages = asyncio.run(walk(Path(sys.argv[1])))
        print(rss, pages)
        return
    print(f"P2 memory after scrolling a whole feed · {machine()}")
    if not DBS["10k"].exists():
        subprocess.run([sys.executable, "-m", "staff_feed_tui", "--db", f"sqlite:///{DBS['10k']}", "demo-data",
                        "--staff", "100", "--messages", "10000"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    if not DBS["1M"].exists():
        raise SystemExit(f"build {DBS['1M']} first (see p1_p4_feed_and_staff.py)")
    results = {}
    for name, db in DBS.items():
        out = subprocess.run([sys.executable, __file__, str(db)], capture_output=True, text=True, check=True)
        rss, pages = map(int, out.stdout.split())
        results[name] = rss
        print(f"  {name} database: peak RSS {rss} MB after {pages} pages of the busiest feed")
    growth = results["1M"] - results["10k"]
    print(f"  1M vs 10k: {growth:+d} MB; target <= 120 MB: {'MET' if results['1M'] <= 120 else 'NOT MET'}")


if __name__ == "__main__":
    main()
