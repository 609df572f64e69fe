"""P2: peak memory (RSS) after scrolling the busiest feed from its first message to its last: 100k messages in a
1M-message database, against the same walk in a 10k-message database (1k-message feed), each in a fresh process.
Target: <= 120 MB, and flat between the two.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
from pathlib import Path

from common import ROOT, machine

DBS = {"10k": Path("/tmp/staff-feed-10k.db"), "1M": Path("/tmp/staff-feed-1m.db")}


def current_rss_mb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


async def walk(db: Path) -> tuple[int, int, list[int]]:
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.services import open_services
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.feed_view import FeedView

    services = open_services(load_settings(database={"url": f"sqlite:///{db}"}), dispatcher="bench")
    app = make_app(services, embedded_worker=False)
    seen = 0
    samples: list[int] = []  # RSS after each page of the walk, to see whether it keeps growing
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        while not screen.query_one("StaffList").staff:
            await pilot.pause(0.05)
        samples.append(current_rss_mb())  # the staff list is up, no feed open yet
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
                samples.append(current_rss_mb())
            if feed.at_newest and feed.scroll_offset.y >= feed.max_scroll_y:
                break
            await pilot.pause(0.005)
    services.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, seen, samples


def main() -> None:
    if len(sys.argv) == 2:  # the child: one walk, in a fresh process
        rss, pages, samples = asyncio.run(walk(Path(sys.argv[1])))
        listed, walked = samples[0], samples[1:]
        marks = [walked[min(len(walked) - 1, round(f * (len(walked) - 1)))] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
        print(rss, pages, listed, *marks)
        return
    print(f"P2 memory after scrolling a whole feed · {machine()}")
    if not DBS["10k"].exists():
        subprocess.run([sys.executable, "-m", "staff_feed_tui", "--db", f"sqlite:///{DBS['10k']}", "demo-data",
                        "--staff", "100", "--messages", "10000"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    if not DBS["1M"].exists():
        raise SystemExit(f"build {DBS['1M']} first (see p1_p4_feed_and_staff.py)")
    results, listing = {}, {}
    for name, db in DBS.items():
        out = subprocess.run([sys.executable, __file__, str(db)], capture_output=True, text=True, check=True)
        rss, pages, listed, *marks = map(int, out.stdout.split())
        results[name] = rss
        listing[name] = listed
        print(f"  {name} database: peak RSS {rss} MB after {pages} pages of the busiest feed; {listed} MB with the "
              f"staff list up before any feed; along the walk (10/25/50/75/100%): {' / '.join(map(str, marks))} MB")
    growth = results["1M"] - results["10k"]
    print(f"  1M vs 10k: {growth:+d} MB; target <= 120 MB: {'MET' if results['1M'] <= 120 else 'NOT MET'}")
    feed_growth = (results["1M"] - listing["1M"]) - (results["10k"] - listing["10k"])
    print(f"  what the feed walk adds over the staff list: {results['10k'] - listing['10k']} MB (10k) vs "
          f"{results['1M'] - listing['1M']} MB (1M), {feed_growth:+d} MB; the rest of the difference is the staff list "
          f"(10,000 staff in the 1M database, 100 in the 10k one)")


if __name__ == "__main__":
    main()
