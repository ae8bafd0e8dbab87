"""A web process loads every view, then freezes what it loaded out of the collector's way."""

import gc
import importlib
import sys

from django.core.signals import request_finished


def test_the_wsgi_module_settles_the_process(client):
    sys.modules.pop("tugi.wsgi", None)
    gc.unfreeze()
    try:
        importlib.import_module("tugi.wsgi")
        after_import = gc.get_freeze_count()
        assert after_import > 0
        assert "tugi.api.desk" in sys.modules  # the URLconf's views were imported first
        assert gc.isenabled()  # requests' garbage is still collected
        client.get("/login/")  # the first request loads templates and catalogues: frozen too
        assert gc.get_freeze_count() > after_import
        frozen = gc.get_freeze_count()
        client.get("/login/")  # only once (frozen objects freed since may lower the count)
        assert gc.get_freeze_count() <= frozen
    finally:
        request_finished.disconnect(dispatch_uid="tugi.core.startup")
        gc.unfreeze()
