"""SMTP over TLS is checked strictly (VERIFY_X509_STRICT) on every Python, and `doctor` says what a rejected
certificate lacks. The certificates are made with trustme; a CA lacking Key Usage is made by hand."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from staff_feed_tui.config import Settings
from staff_feed_tui.delivery.doctor import Check, check_smtp
from staff_feed_tui.delivery.tls import certificate_problem, tls_context
from tests.smtp_server import SmtpServer, make_certificates, make_certificates_lacking_key_usage


def _email(settings: Settings, server: SmtpServer, ca_file: Path, security: str) -> Settings:
    email = settings.email.model_copy(update={"transport": "smtp", "host": "127.0.0.1", "port": server.port,
                                              "security": security, "ca_file": str(ca_file)})
    return settings.model_copy(update={"email": email})


def test_the_context_is_strict_on_every_version(tmp_path: Path) -> None:
    ca_file, _ = make_certificates(tmp_path)
    assert tls_context(str(ca_file)).verify_flags & ssl.VERIFY_X509_STRICT
    assert tls_context().verify_flags & ssl.VERIFY_X509_STRICT
    assert tls_context().check_hostname


async def _doctor(settings: Settings, security: str, certificates: tuple[Path, ssl.SSLContext]) -> tuple[Check, int]:
    ca_file, server_context = certificates
    server = SmtpServer(**{security: server_context}).start()
    try:
        return await check_smtp(_email(settings, server, ca_file, security)), server.port
    finally:
        server.stop()


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_doctor_accepts_proper_certificates_under_strict_checking(settings: Settings, tmp_path: Path,
                                                                       security: str) -> None:
    check, port = await _doctor(settings, security, make_certificates(tmp_path))
    assert check.ok, check.detail
    assert check.detail == f"connected to 127.0.0.1:{port} ({security}) (no login configured)"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_doctor_says_what_a_rejected_certificate_lacks(settings: Settings, tmp_path: Path,
                                                            security: str) -> None:
    check, port = await _doctor(settings, security, make_certificates_lacking_key_usage(tmp_path))
    assert not check.ok
    assert check.detail == (f"127.0.0.1:{port} ({security}) was refused over TLS: the certificate's CA lacks "
                            "the Key Usage extension that strict checking requires")


def test_certificate_problems_in_words() -> None:
    def rejected(message: str) -> BaseException:
        error = ssl.SSLCertVerificationError(1, "certificate verify failed")
        error.verify_message = message
        wrapper = ConnectionError("TLS handshake failed")
        wrapper.__cause__ = error
        return wrapper

    assert certificate_problem(rejected("Missing Authority Key Identifier")) == (
        "the certificate lacks the Authority Key Identifier extension that strict checking requires")
    assert certificate_problem(rejected("unable to get local issuer certificate")) == (
        "the certificate is not signed by a CA this host trusts (set email.ca_file to the company's CA)")
    assert certificate_problem(rejected("something new")) == "the certificate was rejected: something new"
    assert certificate_problem(ConnectionRefusedError("refused")) is None
