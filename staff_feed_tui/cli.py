"""The `staff-feed` command: wires config -> services -> delivery, gateway -> tui.

Imports stay inside the functions so `staff-feed --help` and the TUI's first paint do not wait for SQLModel or the
senders' libraries. Every failure a person can cause ends in one sentence on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from staff_feed_tui.core.safe_text import safe_json, safe_line

EXIT_ERROR = 1


class CommandError(Exception):
    """A failure worded for the person at the terminal."""


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="PATH", default=default, help="TOML config file")
    parser.add_argument("--data-dir", metavar="DIR", default=default, help="data directory (database, attachments)")
    parser.add_argument("--db", metavar="URL", default=default, help="database URL (default: sqlite in the data dir)")
    parser.add_argument("--as", dest="as_name", metavar="NAME", default=default, help="dispatcher name (default: OS user)")
    parser.add_argument(
        "--demo",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="use the demo database (seeded once) with texting on and the file transports",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="staff-feed", description="Message staff by email and SMS, from a terminal.")
    _common(parser, top=True)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common(p, top=False)
        return p

    db = command("db", "database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="upgrade the schema to the newest revision")

    staff = command("staff", "the staff roster")
    staff_sub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    imp = staff_sub.add_parser("import", help="import a roster CSV: name,email,phone,accepts_texts,default_method")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--skip-invalid", action="store_true", help="import the valid rows and report the others")
    lst = staff_sub.add_parser("list", help="list staff members")
    lst.add_argument("--json", action="store_true", help="print JSON")

    send = command("send", "queue a message, exactly as the composer does; prints the new message's id")
    send.add_argument("--staff", required=True, metavar="ID|EMAIL|NAME")
    send.add_argument("--body", required=True, metavar="TEXT")
    send.add_argument("--attach", action="append", default=[], metavar="PATH", help="attach a file (repeatable)")
    send.add_argument("--via", choices=["email", "sms", "both"], default=None, help="default: email")
    send.add_argument("--files-by-email", action="store_true",
                      help="files a text cannot carry (MMS limits) go by email only")

    feed = command("feed", "print a staff member's feed, oldest first")
    feed.add_argument("staff", metavar="STAFF", help="id, email or name")
    feed.add_argument("--json", action="store_true", help="print JSON (the only format for now)")
    feed.add_argument("--since", metavar="WHEN", help="from a date: 2026-11-01, 7d, 2w, today")
    feed.add_argument("--until", metavar="WHEN", help="up to a date (that whole day)")
    feed.add_argument("--has-attachments", action="store_true")
    feed.add_argument("--direction", choices=["sent", "received", "out", "in"])
    feed.add_argument("--channel", choices=["email", "sms"])
    feed.add_argument("--status", choices=["pending", "delivered", "failed", "bounced"],
                      help="failed includes bounced")
    feed.add_argument("--author", metavar="DISPATCHER")
    feed.add_argument("--text", metavar="WORDS", help='words or "a phrase", matched with full-text search')
    feed.add_argument("--deleted", action="store_true", help="only removed messages")

    command("gateway", "serve Twilio's webhooks (inbound texts, delivery receipts) and MMS media")
    command("mail-in", "read replies and bounces ([inbound_email] transport: imap or lmtp) into the feeds")

    demo = command("demo-data", "build a large, realistic, reproducible database (for trials and benchmarks)")
    demo.add_argument("--staff", type=int, default=500, metavar="N")
    demo.add_argument("--messages", type=int, default=100_000, metavar="M")
    demo.add_argument("--seed", type=int, default=1)

    command("doctor", "check the configuration, SMTP, Twilio and the gateway URL, without sending anything")

    accounts = command("dispatcher", "dispatcher accounts on a shared host: names and the SSH keys that log in as them")
    accounts.add_argument("--authorized-keys", metavar="FILE", default=None,
                          help="the service account's authorized_keys (default: ~/.ssh/authorized_keys)")
    accounts.add_argument("--program", metavar="PATH", default=None,
                          help="the staff-feed the keys run (default: this one)")
    accounts_sub = accounts.add_subparsers(dest="dispatcher_command", metavar="ACTION", required=True)
    add = accounts_sub.add_parser("add", help="add a dispatcher (or enable a disabled one), with a key")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--ssh-key", metavar="FILE", help="their public key (.pub)")
    key = accounts_sub.add_parser("key", help="add or remove a dispatcher's key")
    key_sub = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    key_add = key_sub.add_parser("add", help="add a public key (.pub)")
    key_add.add_argument("name", metavar="NAME")
    key_add.add_argument("file", metavar="FILE")
    key_remove = key_sub.add_parser("remove", help="remove a key by its fingerprint (as `dispatcher list` shows it)")
    key_remove.add_argument("name", metavar="NAME")
    key_remove.add_argument("fingerprint", metavar="FINGERPRINT")
    disable = accounts_sub.add_parser("disable", help="disable a dispatcher and remove their keys")
    disable.add_argument("name", metavar="NAME")
    accounts_sub.add_parser("list", help="list dispatchers and their keys")

    worker = command("worker", "run the outbox worker (the TUI embeds one too)")
    worker.add_argument("--once", action="store_true",
                        help="one pass over what is due now, then exit (never waits out a pause or a backoff)")

    retry = command("retry", "put failed deliveries back in the queue, due now; prints how many")
    retry.add_argument("--channel", choices=["email", "sms"])
    retry.add_argument("--since", metavar="WHEN", help="failed on or after: 2026-11-01, 7d, 2w, today")
    retry.add_argument("--staff", metavar="ID|EMAIL|NAME", help="only this staff member's")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from staff_feed_tui import __version__

        print(f"staff-feed {__version__}")
        return 0
    try:
        return _dispatch(args)
    except CommandError as exc:
        print(f"staff-feed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `staff-feed staff list | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        sentence = _failure_sentence(exc)
        if sentence is None:
            raise
        print(f"staff-feed: {sentence}", file=sys.stderr)
        return EXIT_ERROR


def _account() -> str:
    from staff_feed_tui.services.context import current_user

    return current_user()


def _failure_sentence(exc: Exception) -> str | None:
    """Failures that any command can meet (a full disk, a busy database) in words; None for a real bug."""
    from staff_feed_tui.store.db import DatabaseBusy, DiskFull, is_disk_full

    if isinstance(exc, DiskFull | DatabaseBusy):
        return str(exc)
    if isinstance(exc, PermissionError) and exc.filename:
        return (f"this account ({_account()}) has no permission for {exc.filename}: the data dir must be shared with "
                "every dispatcher's account (shared_group, see 'Dispatchers over SSH' in the README)")
    if is_disk_full(exc):
        where = exc.filename if isinstance(exc, OSError) and exc.filename else "the data dir"
        return str(DiskFull(where, "what was being written was not saved"))
    return None


def _settings(args: argparse.Namespace) -> Any:
    from staff_feed_tui.config import ConfigError, load_settings

    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.db:
        overrides["database"] = {"url": args.db}
    try:
        settings = load_settings(args.config, **overrides)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    if args.demo:
        from staff_feed_tui.services.demo import demo_settings

        settings = demo_settings(settings)
    return settings


def _dispatcher_name(name: str) -> str:
    """A dispatcher name with a control character is refused before anything is opened or written."""
    from staff_feed_tui.core.validation import InvalidContact, check_dispatcher_name

    try:
        return check_dispatcher_name(name)
    except InvalidContact as exc:
        raise CommandError(str(exc)) from None


def _require_secrets(settings: Any, what: str) -> None:
    from staff_feed_tui.config import ConfigError

    try:
        settings.require_secrets(what)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def _services(args: argparse.Namespace) -> Any:
    from staff_feed_tui.services.context import DatabaseBusy, open_services

    if args.as_name is not None:
        _dispatcher_name(args.as_name)
    settings = _settings(args)
    try:
        services = open_services(settings, dispatcher=args.as_name)
        _dispatcher_name(services.dispatcher)  # the OS user's name, when --as is not given
    except (DatabaseBusy, PermissionError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:
        from sqlalchemy.exc import DatabaseError

        from staff_feed_tui.store.db import shown_url, sqlite_path

        if not isinstance(exc, DatabaseError):
            raise
        path = sqlite_path(settings.database_url)
        if path is not None and "not a database" in str(exc.orig):
            raise CommandError(f"{path} is not a SQLite database file (check --db or database.url)") from None
        why = " ".join(str(exc.orig).split())  # libpq's hint comes on a second, tab-indented line
        raise CommandError(f"cannot open the database {shown_url(settings.database_url)}: {why}") from None
    if args.demo:
        from staff_feed_tui.services.demo import seed_demo_once

        seed_demo_once(services)
    return services


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        return _run_tui(args)
    if command == "db":
        services = _services(args)  # opening migrates to head
        from staff_feed_tui.store.migrations import current_revision

        print(f"database is at revision {current_revision(services.engine)} (head)")
        return 0
    if command == "staff":
        return _staff(args)
    if command == "send":
        return _send(args)
    if command == "feed":
        return _feed(args)
    if command == "worker":
        return _worker(args)
    if command == "retry":
        return _retry(args)
    if command == "dispatcher":
        return _dispatcher(args)
    if command == "doctor":
        return _doctor(args)
    if command == "gateway":
        return _gateway(args)
    if command == "mail-in":
        return _mail_in(args)
    if command == "demo-data":
        return _demo_data(args)
    raise CommandError(f"unknown command {command}")


def _staff(args: argparse.Namespace) -> int:
    from staff_feed_tui.services.staff import import_staff, list_staff

    if args.staff_command == "list":
        services = _services(args)
        staff = list_staff(services)
        if args.json:
            print(safe_json([_staff_json(s) for s in staff], indent=2))
        else:
            for s in staff:
                texts = "texts" if s.accepts_texts and s.phone else "-"
                if s.sms_opted_out:
                    texts = "opted out"
                print(f"{s.id:>5}  {safe_line(s.name):<28} {s.email:<34} {s.phone or '':<14} {texts}")
        return 0

    from staff_feed_tui.core.roster import RosterError, parse_roster

    try:
        with open(args.file, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise CommandError(f"roster file not found: {args.file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the roster {args.file}: {exc}") from None
    settings = _settings(args)
    try:
        rows, errors = parse_roster(text, region=settings.company.default_region)
    except RosterError as exc:
        raise CommandError(f"{args.file}: {exc}") from None
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if errors and not args.skip_invalid:
        raise CommandError(
            f"{len(errors)} invalid row(s) in {args.file}; nothing was imported (fix them, or use --skip-invalid)"
        )
    services = _services(args)
    result = import_staff(services, [row for _, row in rows])
    skipped = f", skipped {len(errors)} invalid row(s)" if errors else ""
    cleaned = f", {result.cleaned} name(s) had control characters, now spaces" if result.cleaned else ""
    print(f"imported {result.added + result.updated} staff ({result.added} new, {result.updated} updated){skipped}"
          f"{cleaned}")
    return 0


def _staff_json(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "email": s.email,
        "phone": s.phone,
        "accepts_texts": s.accepts_texts,
        "sms_opted_out": s.sms_opted_out,
        "default_method": s.default_method.value,
    }


def _find(services: Any, ref: str) -> Any:
    from staff_feed_tui.services.staff import StaffNotFound, find_staff

    try:
        return find_staff(services, ref)
    except StaffNotFound as exc:
        raise CommandError(str(exc)) from None


def _send(args: argparse.Namespace) -> int:
    from staff_feed_tui.core.draft import DraftError
    from staff_feed_tui.core.types import DeliveryMethod
    from staff_feed_tui.services.context import DatabaseBusy
    from staff_feed_tui.services.outgoing import queue_outgoing

    services = _services(args)
    staff = _find(services, args.staff)
    method = DeliveryMethod(args.via) if args.via else DeliveryMethod.EMAIL
    try:
        message_id = queue_outgoing(services, staff=staff, body=args.body, attachments=args.attach, method=method,
                                    files_by_email=args.files_by_email)
    except (DraftError, DatabaseBusy) as exc:
        raise CommandError(str(exc)) from None
    print(message_id)
    return 0


def _feed(args: argparse.Namespace) -> int:
    from staff_feed_tui.services.feeds import iter_feed

    only = _feed_filter(args)
    services = _services(args)
    staff = _find(services, args.staff)
    out = [message_json(m) for m in iter_feed(services, staff.id, only=only, deleted_only=args.deleted)]
    print(safe_json(out, indent=2))
    return 0


def _feed_filter(args: argparse.Namespace) -> Any:
    """The flags as a query line, parsed by the one filter parser the app uses too."""
    from datetime import UTC, datetime

    from staff_feed_tui.core.filters import FeedFilter, FilterSyntaxError, parse_filter

    parts = []
    for flag in ("since", "until", "direction", "channel", "status", "author"):
        value = getattr(args, flag)
        if value:
            parts += [f"--{flag}", '"' + value.replace('"', "") + '"']
    if args.has_attachments:
        parts.append("-a")
    line = " ".join(parts)
    if args.text:
        line += " " + args.text
    if not line.strip():
        return None
    try:
        only = parse_filter(line, datetime.now(UTC))
    except FilterSyntaxError as exc:
        raise CommandError(f"filter: {exc.message}") from None
    return only if isinstance(only, FeedFilter) and only.active else None


def message_json(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "direction": m.direction.value,
        "channel": m.channel,
        "author": m.author,
        "body": m.body,
        "created_at": m.created_at.isoformat(),
        "deleted_at": m.deleted_at.isoformat() if m.deleted_at else None,
        "attachments": [
            {"filename": a.filename, "mime_type": a.mime_type, "size": a.size, "sha256": a.sha256} for a in m.attachments
        ],
        "deliveries": [
            {
                "channel": d.channel.value,
                "status": d.status.value,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "provider_id": d.provider_id,
            }
            for d in m.deliveries
        ],
    }


def _dispatcher(args: argparse.Namespace) -> int:
    from pathlib import Path

    from staff_feed_tui.core.accounts import AccountError
    from staff_feed_tui.core.safe_text import safe_line
    from staff_feed_tui.services import dispatchers as accounts

    services = _services(args)
    action = args.dispatcher_command
    try:
        if action == "list":
            for account in accounts.dispatcher_accounts(services):
                state = "disabled" if account.disabled else f"{len(account.keys)} key(s)"
                print(f"{safe_line(account.name):<32} {state}")
                for fingerprint, key in account.keys:
                    print(f"    {fingerprint}  {key.kind}")
            return 0
        if action == "add":
            said = accounts.add_dispatcher(services, args.name, args.ssh_key)
        elif action == "disable":
            said = accounts.disable_dispatcher(services, args.name)
        elif args.key_command == "add":
            said = accounts.add_dispatcher_key(services, args.name, args.file)
        else:
            said = accounts.remove_dispatcher_key(services, args.name, args.fingerprint)
        path = Path(args.authorized_keys).expanduser() if args.authorized_keys else accounts.default_authorized_keys()
        count = accounts.write_authorized_keys(services, path, args.program)
    except AccountError as exc:
        raise CommandError(str(exc)) from None
    print(f"{said}; {path} holds {count} dispatcher key(s)")
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from staff_feed_tui.delivery.factory import make_worker
    from staff_feed_tui.store.db import DiskFull

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = _services(args)
    _require_secrets(services.settings, "the worker")
    worker = make_worker(services.settings, services.engine)
    # SIGTERM and Ctrl+C: no new sends, what is on the wire finishes, the other claims go back to the queue.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.request_stop())
    if args.once:
        try:
            handled = asyncio.run(worker.drain())
        except DiskFull as exc:
            what = "the results of the sends just made were not recorded, so those go out again when their lease ends"
            raise CommandError(str(DiskFull(exc.where, what))) from None
        print(f"handled {handled} deliveries ({worker.state.sent} sent, {worker.state.retried} to retry, "
              f"{worker.state.failed} failed)")
        from staff_feed_tui.services.delivery import delivery_status

        paused = delivery_status(services)
        if paused:
            print(f"paused: {paused}")
        return 0
    logging.getLogger(__name__).info("worker %s started", worker.owner)
    asyncio.run(worker.run())
    return 0


def _retry(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from staff_feed_tui.core.filters import parse_when
    from staff_feed_tui.core.types import Channel
    from staff_feed_tui.services.delivery import retry_failed
    from staff_feed_tui.store.db import DatabaseBusy

    since = None
    if args.since:
        try:
            since = parse_when(args.since, datetime.now(UTC))
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from None
    services = _services(args)
    staff = _find(services, args.staff) if args.staff else None
    try:
        count = retry_failed(services, channel=Channel(args.channel) if args.channel else None, since=since,
                             staff_id=staff.id if staff else None)
    except DatabaseBusy as exc:
        raise CommandError(str(exc)) from None
    print(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import asyncio

    from staff_feed_tui.delivery.doctor import Check, check_delivery, run_checks
    from staff_feed_tui.services.access import check_access
    from staff_feed_tui.store.migrations import current_revision

    try:
        settings = _settings(args)
    except CommandError as exc:
        print(Check("configuration", False, str(exc)).line())
        return EXIT_ERROR
    where = settings.config_file or "no config file, defaults and STAFF_FEED_*"
    print(Check("configuration", True, f"{where}; data dir {settings.data_dir}").line(), flush=True)
    access = [Check(a.name, a.ok, a.detail) for a in check_access(settings)]
    for check in access:
        print(check.line(), flush=True)
    try:
        services = _services(args)
    except CommandError as exc:
        print(Check("database", False, str(exc)).line())
        return EXIT_ERROR
    print(Check("database", True, f"{settings.database_url_shown} at revision {current_revision(services.engine)}").line(),
          flush=True)
    from staff_feed_tui.mail_in.service import check_mail_in

    results = [
        *access,
        *asyncio.run(run_checks(settings)),
        Check(*check_mail_in(settings.inbound_email)),
        check_delivery(services),
    ]
    for check in results[len(access):]:
        print(check.line(), flush=True)
    return 0 if all(c.ok for c in results) else EXIT_ERROR


def _mail_in(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from staff_feed_tui.mail_in.service import MailInOff, run_mail_in

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = _services(args)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        run_mail_in(services, stop)
    except MailInOff as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"mail-in could not start: {exc.strerror or exc}") from None
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    from staff_feed_tui.store.synthetic import build

    if args.staff < 1 or args.messages < 0:
        raise CommandError("--staff must be at least 1 and --messages at least 0")
    services = _services(args)
    if services.db_path is None:
        raise CommandError("demo-data needs a SQLite database")
    try:
        report = build(services.db_path, staff=args.staff, messages=args.messages, seed=args.seed,
                       progress=lambda text: print(f"  {text}", flush=True))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"built {report.staff:,} staff, {report.messages:,} messages and {report.deliveries:,} deliveries in "
          f"{report.seconds:.1f} s into {services.db_path} (staff {report.busiest_staff_id} has "
          f"{report.busiest_count:,} messages)")
    return 0


def _gateway(args: argparse.Namespace) -> int:
    import logging

    services = _services(args)
    settings = services.settings
    _require_secrets(settings, "the gateway")
    missing = [
        name
        for name, value in (
            ("sms.auth_token", settings.sms.auth_token),
            ("sms.account_sid", settings.sms.account_sid),
            ("gateway.public_url", settings.gateway.public_url),
        )
        if not value
    ]
    if missing:
        raise CommandError(f"the gateway needs {', '.join(missing)} to check Twilio's signatures")
    import asyncio

    from staff_feed_tui.gateway.app import make_gateway_app
    from staff_feed_tui.gateway.guard import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = make_gateway_app(settings, services.engine, services.attachments)

    def ready(host: str, port: int) -> None:
        print(f"staff-feed gateway on http://{host}:{port} for {settings.gateway.public_url}", flush=True)

    try:
        asyncio.run(serve(app, settings.gateway.host, settings.gateway.port, ready))
    except OSError as exc:  # the port is taken, or the host is not this machine's
        raise CommandError(f"the gateway cannot listen on {settings.gateway.host}:{settings.gateway.port}: "
                           f"{exc.strerror or exc}") from None
    return 0


def _run_tui(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Without a terminal the app would wait on an input that never comes (and ssh's scp, sftp or a command
        # sent to the service account's forced command would leave it running). A configuration mistake is still
        # said first, in the same sentence every command uses; nothing is opened or written either way.
        from staff_feed_tui.store.db import DatabaseUrlError, check_database_url

        settings = _settings(args)
        try:
            check_database_url(settings.database_url)
        except DatabaseUrlError as exc:
            raise CommandError(str(exc)) from None
        raise CommandError("the app needs a terminal: connect with `ssh -t`, or run one of the commands in --help")
    from staff_feed_tui.store.quick import read_staff_names

    path = _quick_database_path(args)
    names = read_staff_names(path) if path is not None else None
    if names is None:  # a first start, another database, or anything unusual: open everything first
        services = _services(args)
        from staff_feed_tui.tui.app import make_app

        app = make_app(services)
    else:
        # Paint the staff names at once; the settings, the ORM and the database open in a thread meanwhile.
        from staff_feed_tui.tui.app import StaffFeedApp

        app = StaffFeedApp(None, opener=lambda: _services(args), boot_names=names)
    app.run()
    if app.startup_error is not None:
        raise CommandError(app.startup_error)
    return app.return_code or 0


def _quick_database_path(args: argparse.Namespace) -> Any:
    """The SQLite file the settings will name, worked out with the standard library (no pydantic) for the first
    paint. The same precedence as `config.load_settings` for the keys that place the database (CLI flags, then
    `STAFF_FEED_*`, then the TOML file, then the default); None when it cannot be told this way. If it were ever
    wrong, the full settings still win: the staff list is loaded again from them a moment later.
    """
    import os
    import tomllib
    from pathlib import Path

    env = os.environ
    try:
        config_file = args.config or env.get("STAFF_FEED_CONFIG")
        if config_file:
            toml = tomllib.loads(Path(config_file).expanduser().read_text(encoding="utf-8"))
        else:
            from platformdirs import user_config_dir

            default = Path(user_config_dir("staff-feed")) / "config.toml"
            if not default.exists():
                default = Path("/etc/staff-feed/config.toml")  # config.SYSTEM_CONFIG_PATH, without pydantic
            toml = tomllib.loads(default.read_text(encoding="utf-8")) if default.is_file() else {}
    except (OSError, ValueError):
        return None
    url = None if args.demo else (
        args.db or env.get("STAFF_FEED_DATABASE__URL") or (toml.get("database") or {}).get("url")
    )
    if url:
        return Path(url.removeprefix("sqlite:///")).expanduser() if url.startswith("sqlite:///") else None
    data_dir = args.data_dir or env.get("STAFF_FEED_DATA_DIR") or toml.get("data_dir")
    if not data_dir:
        from platformdirs import user_data_dir

        data_dir = user_data_dir("staff-feed")
    path = Path(data_dir).expanduser()
    return (path / "demo" if args.demo else path) / "staff_feed.db"
