from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    """Org units, positions, job descriptions and persons."""

    name = "tugi.people"
    label = "people"
    verbose_name = _("People and organisation")
