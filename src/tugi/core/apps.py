from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Shared base: the audit log, app roles and permissions, time helpers."""

    name = "tugi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tugi.core.roles import sync_role_groups

        # Keep the app-role groups and their permissions in step with the code after every migrate.
        post_migrate.connect(sync_role_groups, dispatch_uid="tugi.core.sync_role_groups")
