"""Run the IMAP watcher and kill the process (SIGKILL, as kill -9) right after the first email is stored and before
it is flagged: `python -m tests.mail_in_crash CONFIG`."""

from __future__ import annotations

import os
import signal
import sys

from staff_feed_tui.config import load_settings
from staff_feed_tui.mail_in.imap import ImapWatcher
from staff_feed_tui.services import open_services


def main() -> None:
    services = open_services(load_settings(sys.argv[1]))
    ImapWatcher(services, services.settings.inbound_email,
                after_store=lambda uid: os.kill(os.getpid(), signal.SIGKILL)).run()


if __name__ == "__main__":
    main()
