"""A real SMTP server on loopback (aiosmtpd) that records what it receives and can refuse or defer on cue."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import weakref
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A port that was free a moment ago, for a server in a child process, which must bind it itself. In-process
    servers use `reserve_port` instead: between this call and the child's bind another program may take it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reserve_port(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1 (on an ephemeral port unless `port` is given) and not listening. While it is
    held, connections to the port are refused (a server that is down) and no other program can take the port; a
    server then listens on this very socket."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class _Controller(Controller):
    """aiosmtpd's controller, listening on a socket bound beforehand (`reserve_port`) rather than binding a port
    number itself, so no other program can take the port between choosing it and listening on it."""

    def __init__(self, handler: object, sock: socket.socket, **kwargs: object) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)  # type: ignore[arg-type]
        self._sock = sock

    def _create_server(self):  # type: ignore[no-untyped-def]
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@dataclass
class Recorder:
    """The aiosmtpd handler. `refuse` gets 550 at RCPT; `defer` gets 451 at RCPT that many times."""

    messages: list[EmailMessage] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    sessions: int = 0
    refuse: set[str] = field(default_factory=set)
    defer: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    received: threading.Condition = field(default_factory=threading.Condition)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)  # (MAIL FROM, RCPT TOs) of each mail
    delay_s: float = 0.0  # a slow server: each DATA is answered this much later


    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.received:
            message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
            self.messages.append(message)
            self.message_ids.append(str(message["Message-ID"]))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.received:
            if not self.received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
            return list(self.messages)


class SmtpServer:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        port: int | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.handler = Recorder()
        self._smtputf8 = smtputf8
        # Held from here: until `start`, a client is refused (the server is down), and the port stays ours.
        self._sock = reserve_port(port or 0)
        self._closer = weakref.finalize(self, self._sock.close)
        self.port: int = self._sock.getsockname()[1]
        self._credentials = (username, password)
        self._tls = tls
        self._starttls = starttls
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        if isinstance(auth_data, LoginPassword):
            user, pw = auth_data.login.decode(), auth_data.password.decode()
            self.handler.logins.append((user, pw))
            return AuthResult(success=(user, pw) == self._credentials, handled=False)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        kwargs: dict[str, object] = {}
        if self._credentials[0]:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        if self._starttls is not None:
            kwargs.update(tls_context=self._starttls, require_starttls=True)
        if self._tls is not None:
            kwargs["ssl_context"] = self._tls
        # Whether SMTPUTF8 is offered (international local parts such as `josé@…` are then taken); aiosmtpd's
        # Controller offers it unless told otherwise.
        kwargs["enable_SMTPUTF8"] = self._smtputf8
        self._controller = _Controller(self.handler, self._sock, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening and give the port up (a server for the same port is a new SmtpServer(port=...))."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._closer()


def make_certificates(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with trustme: proper certificates
    (key usage, key identifiers, critical basic constraints) that strict X.509 checking accepts.

    Returns the CA file (for the client to trust) and a server-side SSL context.
    """
    import trustme

    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return ca_file, context


def make_certificates_lacking_key_usage(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """As make_certificates, but the CA lacks the Key Usage extension, as a company's own CA may: strict checking
    (Python 3.13's default) refuses it."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staff-feed test CA without key usage")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "weak-ca.pem", directory / "weak.pem", directory / "weak.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


class SilentServer:
    """A socket that accepts connections and never says a word: the server that hangs every client."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read from or written to

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the other thread
        self._listener.close()
        for conn in self.accepted:
            conn.close()
