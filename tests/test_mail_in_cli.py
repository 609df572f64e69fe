"""`staff-feed mail-in` and `doctor` for inbound email, and the [inbound_email] settings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.config import load_settings
from staff_feed_tui.services.demo import demo_settings


def _config(tmp_path: Path, section: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[email]\ntransport = "file"\n[inbound_email]\n{section}\n')
    return config


def test_inbound_email_is_off_by_default_and_mail_in_says_so_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_settings(data_dir=tmp_path).inbound_email.transport == "off"
    assert main(["mail-in", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err == 'staff-feed: inbound email is off: set [inbound_email] transport = "imap" or "lmtp" in the config\n'


def test_the_settings_read_their_password_file_and_default_ports(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("s3cret\n")
    config = _config(tmp_path, f'transport = "imap"\nhost = "imap.example.com"\nusername = "replies"\n'
                               f'password_file = "{secret}"\nprocessed_folder = "Done"')
    settings = load_settings(config)
    inbound = settings.inbound_email
    assert inbound.password is not None and inbound.password.get_secret_value() == "s3cret"
    assert secret in settings.secret_files  # never attachable from a locked session
    assert (inbound.effective_port, inbound.folder, inbound.processed_folder) == (993, "INBOX", "Done")
    assert "s3cret" not in repr(inbound)
    assert load_settings(_config(tmp_path, 'transport = "lmtp"')).inbound_email.effective_port == 2424


def test_the_demo_signs_replies_with_a_fixed_secret(tmp_path: Path) -> None:
    demo = demo_settings(load_settings(data_dir=tmp_path))
    assert demo.email.reply_domain == "replies.paws.example"
    assert demo.gateway.media_secret is not None and demo.gateway.media_secret.get_secret_value()


def test_doctor_checks_the_imap_login_and_the_lmtp_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    config = _config(tmp_path, f'transport = "imap"\nport = {port}\nsecurity = "none"\nusername = "u"\n'
                               'password = "p"\ntimeout_s = 5')
    assert main(["doctor", "--config", str(config)]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if "inbound" in x)
    assert line.startswith("FAIL") and f"cannot log in to 127.0.0.1:{port}" in line
    busy = socket.create_server(("127.0.0.1", 0))  # another program holds the LMTP port and says nothing
    try:
        held = busy.getsockname()[1]
        config = _config(tmp_path, f'transport = "lmtp"\nport = {held}')
        main(["doctor", "--config", str(config)])
        line = next(x for x in capsys.readouterr().out.splitlines() if "inbound" in x)
        assert line.startswith("FAIL") and f"cannot listen on 127.0.0.1:{held}" in line
    finally:
        busy.close()
    config = _config(tmp_path, f'transport = "lmtp"\nport = {port}')
    main(["doctor", "--config", str(config)])
    line = next(x for x in capsys.readouterr().out.splitlines() if "inbound" in x)
    assert line.startswith("ok") and "is free" in line
