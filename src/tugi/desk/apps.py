from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The service desk: cases, messages, queues, SLA, e-mail in and out, escalations."""

    name = "tugi.desk"
    label = "desk"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from tugi.desk import notify

        notify.connect()
