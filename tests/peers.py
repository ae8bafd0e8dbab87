"""Real peers (a browser, GNU gettext, later mail and directory servers) needed by some tests.

A missing peer skips the test on a developer's machine but fails it in CI (CI=true), so a green
CI run always means the peer was there and the test really ran.
"""

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_program(name: str, package: str) -> str:
    """The path of a program the test needs; skip (locally) or fail (CI) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (Debian package {package}); .ci/run installs it"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
