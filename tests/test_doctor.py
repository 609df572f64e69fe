from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from tests.fake_twilio import FakeTwilio
from tests.smtp_server import SmtpServer, reserve_port


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port where nothing listens, held for the test so no other program can start listening there."""
    with reserve_port() as sock:
        yield sock.getsockname()[1]


def _config(tmp_path: Path, smtp_port: int, twilio: FakeTwilio, token: str, password: str, public_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / 'data'}"
[company]
text_messaging = true
[email]
transport = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = "dispatch"
password = "{password}"
timeout_s = 5
[sms]
transport = "twilio"
account_sid = "{twilio.account_sid}"
auth_token = "{token}"
from_number = "+14155550100"
api_base_url = "{twilio.base_url}"
[gateway]
public_url = "{public_url}"
"""
    )
    return config


def test_doctor_all_good(tmp_path: Path, capsys: pytest.CaptureFixture[str], health_server: str) -> None:
    smtp = SmtpServer(username="dispatch", password="right").start()
    twilio = FakeTwilio().start()
    try:
        config = _config(tmp_path, smtp.port, twilio, twilio.auth_token, "right", health_server)
        assert main(["--config", str(config), "doctor"]) == 0
    finally:
        smtp.stop()
        twilio.stop()
    out = capsys.readouterr().out
    lines = out.splitlines()
    # configuration, data dir, database file, attachments, database, email, sms, gateway, inbound email, delivery
    assert [line.split()[0] for line in lines] == ["ok"] * 10
    assert "inbound email" in lines[-2] and "off" in lines[-2]  # mail-in is off unless configured
    assert lines[-1].split() == ["ok", "delivery", "no", "channel", "paused", "(no", "worker", "alive:", "an", "app",
                                 "starts", "its", "own)"]
    assert "logged in as dispatch" in out
    assert "account 'Test account' is active" in out
    assert "/healthz answered 200 (not https" in out
    assert smtp.handler.messages == []  # nothing was sent
    assert "right" not in out and twilio.auth_token not in out


def test_doctor_reports_each_problem_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str], refused_port: int) -> None:
    smtp = SmtpServer(username="dispatch", password="right").start()
    twilio = FakeTwilio().start()
    try:
        config = _config(tmp_path, smtp.port, twilio, "wrong-token", "wrong", f"http://127.0.0.1:{refused_port}")
        assert main(["--config", str(config), "doctor"]) == 1
    finally:
        smtp.stop()
        twilio.stop()
    out = capsys.readouterr().out
    assert "FAIL  email (SMTP)     127.0.0.1" in out and "refused the login for dispatch: 535" in out
    assert "FAIL  sms (Twilio)     Twilio refused the credentials: 401 20003" in out
    assert "FAIL  gateway          cannot reach http://127.0.0.1:" in out


def test_doctor_smtp_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str], refused_port: int) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path / "d"}"\n[email]\nhost = "127.0.0.1"\nport = {refused_port}\n'
                      'security = "none"\ntimeout_s = 3\n')
    assert main(["--config", str(config), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  email (SMTP)     cannot connect to 127.0.0.1:" in out
    assert "ok    sms              texting is off for the company" in out


def test_doctor_names_a_paused_channel_and_the_live_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.core.types import Channel
    from staff_feed_tui.services import open_services
    from staff_feed_tui.store import delivery_state
    from staff_feed_tui.store.models import utcnow

    services = open_services(load_settings(data_dir=tmp_path / "d", email={"transport": "file"}), dispatcher="alex")
    delivery_state.pause_channel(services.engine, Channel.EMAIL, "SMTP unreachable (smtp.example.com:587)",
                                 failures=4, retry_at=utcnow())
    delivery_state.beat(services.engine, "host:1:abc", delivery_state.SERVICE)
    services.close()
    assert main(["--data-dir", str(tmp_path / "d"), "doctor"]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "delivery" in x]
    assert line.startswith("FAIL  delivery         email: SMTP unreachable (smtp.example.com:587) since ")
    assert line.endswith(", 0 waiting (1 service worker alive)")
