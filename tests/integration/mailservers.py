"""Real mail servers on loopback for the integration tests, started and stopped by the tests.

- SMTP: aiosmtpd's Controller, in this process, on a free port of 127.0.0.1; it keeps every mail
  it receives (`SmtpSink.messages`), so a test reads exactly the bytes Django's SMTP backend sent.
- IMAP: pymap (pure Python) as a subprocess speaking real IMAP over loopback, with its in-memory
  backend and one user. One server per test session (per xdist worker); each test gets its own
  folder, so tests never see each other's mail.

A missing server package fails the test in CI (CI=true) and skips it on a developer's machine,
like `tests.peers.require_program`; here the check is an import, since both are Python packages
installed in the virtualenv (whose bin folder need not be on PATH).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.peers import in_ci

IMAP_USER = "tugi"
IMAP_PASSWORD = "salasona-123"

# aiosmtpd logs every connection at INFO from its own thread, also after pytest has closed the
# captured streams ("--- Logging error ---" noise); its warnings and errors still show.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def require_module(module: str, package: str) -> None:
    """Skip (locally) or fail (CI) when a Python package a peer needs is not installed."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{package} is not installed (pip install {package}; `make test` installs it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A port of 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pymap exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"pymap did not listen on {port} within {timeout} s:\n{log.read_text()}")


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class Delivered:
    """One mail the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """The aiosmtpd handler: keeps what it receives; `refuse` makes it answer with an error."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Delivered] = field(default_factory=list)
    refuse: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        with self._lock:
            self.messages.append(
                Delivered(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Delivered]:
        """The mails delivered to an address, in order."""
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free loopback port, for this test."""
    require_module("aiosmtpd", "aiosmtpd")
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpSink) -> SmtpSink:
    """Django's SMTP backend pointed at the test's SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    return smtp_server


# --- IMAP -------------------------------------------------------------------------------------


@dataclass
class ImapServer:
    """A running pymap: where it listens and how to log in."""

    host: str
    port: int
    user: str = IMAP_USER
    password: str = IMAP_PASSWORD

    @contextlib.contextmanager
    def mailbox(self, folder: str = "INBOX") -> Iterator[Any]:
        from imap_tools import MailBoxUnencrypted

        box = MailBoxUnencrypted(self.host, self.port, timeout=10)
        box.client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        box.login(self.user, self.password, initial_folder=folder)
        try:
            yield box
        finally:
            box.logout()

    def append(self, folder: str, *raws: bytes) -> None:
        """Deliver mails into a folder, unseen, as an MTA would."""
        with self.mailbox(folder) as box:
            for raw in raws:
                box.append(raw, folder, flag_set=[])

    def uids(self, folder: str, criteria: str = "ALL") -> list[str]:
        with self.mailbox(folder) as box:
            return list(box.uids(criteria))


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """A real IMAP server (pymap, in-memory backend) on a free loopback port, for the session."""
    require_module("pymap", "pymap")
    require_module("imap_tools", "imap-tools")
    log = tmp_path_factory.mktemp("pymap") / "pymap.log"
    last_error: Exception | None = None
    for _attempt in range(3):  # a port picked free can be taken before pymap binds it
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                [
                    sys.executable,
                    "-c",
                    "from pymap.main import main; main()",
                    "--no-tls",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-service",
                    "admin",
                    "dict",
                    "--demo-user",
                    IMAP_USER,
                    "--demo-password",
                    IMAP_PASSWORD,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_port(port, process, log, timeout=20)
        except RuntimeError as exc:
            last_error = exc
            process.kill()
            process.wait(5)
            continue
        try:
            yield ImapServer("127.0.0.1", port)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        return
    raise RuntimeError(f"could not start pymap: {last_error}")


@pytest.fixture
def imap_folder(imap_server: ImapServer, settings: Any) -> str:
    """A fresh folder of the IMAP server for this test, and Tugi's settings pointing at it."""
    folder = f"T{uuid.uuid4().hex[:10]}"
    with imap_server.mailbox() as box:
        box.folder.create(folder)
    settings.TUGI_IMAP_HOST = imap_server.host
    settings.TUGI_IMAP_PORT = imap_server.port
    settings.TUGI_IMAP_USER = imap_server.user
    settings.TUGI_IMAP_PASSWORD = imap_server.password
    settings.TUGI_IMAP_FOLDER = folder
    settings.TUGI_IMAP_SSL = False
    settings.TUGI_IMAP_STARTTLS = False
    settings.TUGI_IMAP_PROCESSED_FOLDER = ""
    settings.TUGI_IMAP_BATCH = 25
    return folder
