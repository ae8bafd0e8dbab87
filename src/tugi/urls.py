"""Top-level URL configuration."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from tugi.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", core_views.healthz, name="healthz"),
    path("core/", include("tugi.core.urls")),
    path("people/", include("tugi.people.urls")),
    path("access/", include("tugi.access.urls")),
    path("desk/", include("tugi.desk.urls")),
    path("api/v1/", include("tugi.api.urls")),
]
