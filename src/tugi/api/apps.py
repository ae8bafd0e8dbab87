from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API wiring: tokens, authentication, pagination, one router per app."""

    name = "tugi.api"
    label = "api"
    verbose_name = "API"
