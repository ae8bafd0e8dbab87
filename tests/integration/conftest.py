"""Fixtures of the real peers the integration tests start on loopback."""

from tests.integration.mailservers import (  # noqa: F401 - fixtures
    imap_folder,
    imap_server,
    smtp_server,
    smtp_settings,
)
