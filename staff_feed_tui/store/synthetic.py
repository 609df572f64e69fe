"""Synthetic data at scale for benchmarks and trials: `staff-feed demo-data --staff N --messages M`.

Rows go in with plain sqlite3 `executemany` inside one transaction, with the message and delivery indexes and the
change-log triggers dropped first and rebuilt after the load (building an index once over sorted data is much
faster than keeping it up to date row by row). The same seed gives the same database.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST = ["Dana", "Sam", "Priya", "Marcus", "Lena", "Tomás", "Grace", "Owen", "Aisha", "Ben", "Chloe", "Diego", "Emma",
         "Farah", "Hiro", "Isla", "Jamal", "Kate", "Liam", "Maya", "Nina", "Oscar", "Ruby", "Theo", "Zoe"]
LAST = ["Reyes", "Okafor", "Natarajan", "Bell", "Fischer", "Alvarez", "Kim", "Murphy", "Rahman", "Carter", "Dubois",
        "Santos", "Lindqvist", "Haddad", "Tanaka", "McGregor", "Wright", "Novak", "O'Connor", "Patel", "Petrova"]
PETS = ["Biscuit", "Mochi", "Max", "Luna", "Pepper", "Rex", "Willow", "Ziggy", "Nala", "Bruno"]
OUT = [
    "Reminder: {pet}'s walk moved to {time} tomorrow.",
    "Can you cover the {client} visit on {day}? Same routine as last time.",
    "The key for the {client} place is in the lockbox, code {code}.",
    "Thanks for the update on {pet}, I'll let the {client} family know.",
    "New booking: {client}, {day} at {time}. Notes attached.",
]
IN = [
    "Running {mins} min late to the {client} visit, traffic.",
    "All done at {client}. {pet} ate everything and had a good walk.",
    "Can I swap {day}'s walks? I have an appointment at {time}.",
    "Where is the spare key for the {client} place?",
    "{pet} pulled a lot near the park today, might need a harness.",
    "OK",
]
CLIENTS = ["Henderson", "Lopez", "Nguyen", "Parker", "Schmidt", "Okoro", "Rossi", "Kowalski", "Haddad", "Murray"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
DISPATCHERS = ["alex", "sam", "jordan", "casey", "riley"]


@dataclass(frozen=True, slots=True)
class BuildReport:
    staff: int
    messages: int
    deliveries: int
    seconds: float
    busiest_staff_id: int
    busiest_count: int


FAILURES = {  # why a failed delivery failed, as the senders word it
    "email": "recipient refused by the mail server: 550 5.1.1 mailbox unavailable",
    "sms": "30006 landline or unreachable carrier",
}


def _body(rng: random.Random, templates: list[str]) -> str:
    return rng.choice(templates).format(
        pet=rng.choice(PETS), client=rng.choice(CLIENTS), day=rng.choice(DAYS),
        time=f"{rng.randint(7, 18)}:{rng.choice(['00', '15', '30', '45'])}", code=rng.randint(1000, 9999),
        mins=rng.choice([5, 10, 15, 20]),
    )


def build(
    db_path: Path,
    *,
    staff: int,
    messages: int,
    seed: int = 1,
    progress: Callable[[str], None] = lambda _: None,
) -> BuildReport:
    """Fill an empty, migrated database. The first staff member gets a tenth of all messages (the long-serving
    one), the rest are spread unevenly over everyone else."""
    start = time.perf_counter()
    rng = random.Random(seed)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    if conn.execute("SELECT count(*) FROM message").fetchone()[0]:
        raise ValueError("demo-data fills an empty database; this one already has messages")
    saved = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('message', 'delivery', 'attachment', 'staff') "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
    ).fetchall()
    conn.execute("BEGIN IMMEDIATE")
    for kind, name, _ in saved:
        conn.execute(f"DROP {kind.upper()} {name}")
    now = datetime.now(UTC).replace(microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    conn.executemany("INSERT INTO dispatcher (name, created_at) VALUES (?, ?)",
                     [(d, now.strftime(fmt)) for d in DISPATCHERS])
    staff_rows = []
    for n in range(1, staff + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        texts = rng.random() < 0.7
        staff_rows.append((n, f"{first} {last}", f"{first.lower()}.{last.lower().replace(chr(39), '')}.{n}@example.com",
                           f"+1415{rng.randint(2000000, 9999999)}" if texts else None, texts, 0,
                           rng.choice(["email", "sms", "both"]) if texts else "email", 1, now.strftime(fmt)))
    conn.executemany(
        "INSERT INTO staff (id, name, email, phone, accepts_texts, sms_opted_out, default_method, active, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        staff_rows,
    )
    progress(f"{staff} staff")
    span = timedelta(days=3 * 365).total_seconds()
    busiest = messages // 10 if staff > 1 else messages
    weights = [1.0 / (i ** 0.6) for i in range(1, staff)]  # a few busy staff, a long tail of quiet ones
    others = rng.choices(range(2, staff + 1), weights=weights, k=messages - busiest) if staff > 1 else []
    owners = [1] * busiest + others
    rng.shuffle(owners)
    # Ids in time order, as in a real database (a message is stored when it is sent or received).
    ages = sorted((rng.random() * span for _ in owners), reverse=True)
    message_rows = []
    delivery_rows = []
    delivery_id = 0
    statuses = ["delivered"] * 85 + ["sent"] * 10 + ["failed"] * 5
    for message_id, (staff_id, age) in enumerate(zip(owners, ages, strict=True), start=1):
        created = now - timedelta(seconds=age)
        out = rng.random() < 0.55
        created_text = created.strftime(fmt)
        message_rows.append((message_id, staff_id, "out" if out else "in",
                             rng.randint(1, len(DISPATCHERS)) if out else None,
                             _body(rng, OUT if out else IN), created_text, 1,
                             None if out else f"SMsynth{message_id:012d}"))
        if out:
            channels = ("email",) if rng.random() < 0.6 else (("sms",) if rng.random() < 0.7 else ("email", "sms"))
            for channel in channels:
                delivery_id += 1
                status = rng.choice(statuses)
                delivery_rows.append((delivery_id, message_id, channel, status, 1, created_text,
                                      f"prov{delivery_id}" if status != "failed" else None,
                                      FAILURES[channel] if status == "failed" else None,
                                      created_text, created_text))
        if len(message_rows) >= 100_000:
            _flush(conn, message_rows, delivery_rows)
            progress(f"{message_id:,} messages")
    _flush(conn, message_rows, delivery_rows)
    progress("rebuilding indexes and triggers")
    for _, _, sql in saved:
        conn.execute(sql)
    has_fts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_fts'").fetchone()
    if has_fts:  # the search index was not kept up to date during the load (its triggers were dropped)
        progress("rebuilding the search index")
        conn.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
    conn.execute("INSERT INTO change (staff_id, message_id) VALUES (0, NULL)")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return BuildReport(staff, messages, delivery_id, time.perf_counter() - start, 1, busiest)


def _flush(conn: sqlite3.Connection, messages: list[tuple], deliveries: list[tuple]) -> None:  # type: ignore[type-arg]
    conn.executemany(
        "INSERT INTO message (id, staff_id, direction, author_id, body, created_at, revision, external_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    conn.executemany(
        "INSERT INTO delivery (id, message_id, channel, status, attempts, next_attempt_at, provider_id, last_error,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        deliveries,
    )
    messages.clear()
    deliveries.clear()
