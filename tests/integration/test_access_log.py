"""The web server's access log, as `tugi run` starts gunicorn, never holds query strings."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.mailservers import free_port
from tugi.core.management.commands.run import ACCESS_LOG_FORMAT

CODE = "37605030299"


def test_a_search_for_a_personal_code_is_not_in_the_access_log(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUGI_")}
    env.pop("DATABASE_URL", None)  # an empty SQLite database of its own: the page needs none
    env.update(TUGI_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="tugi.settings")
    server = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tugi.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/login/?next=/people/%3Fq%3D{CODE}&q={CODE}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=15)
    requests = [line for line in out.splitlines() if '"GET ' in line]
    assert requests, out
    assert all('"GET /login/ HTTP/1.1" 200' in line for line in requests), requests
    assert CODE not in out
