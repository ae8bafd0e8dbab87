from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    """Access governance: systems, roles, accounts, grants, requests, approvals, compliance."""

    name = "tugi.access"
    label = "access"
    verbose_name = _("Access governance")

    def ready(self) -> None:
        from tugi.access import notify
        from tugi.access.lifecycle import substitution

        notify.connect()
        substitution.connect()
