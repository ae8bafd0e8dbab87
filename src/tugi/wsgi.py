"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tugi.settings")
application = get_wsgi_application()

from tugi.core.startup import settle_web_process  # noqa: E402 - needs the apps loaded above

settle_web_process()
