"""URLs of the REST API, mounted under /api/v1/."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.routers import SimpleRouter

from tugi.api import people, views

# Route names carry an "api-" head: the web pages use the same nouns in their own namespaces.
router = SimpleRouter()
router.register("people", people.PersonViewSet, basename="api-person")
router.register("org-units", people.OrgUnitViewSet, basename="api-orgunit")
router.register("positions", people.PositionViewSet, basename="api-position")

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("docs/", views.docs, name="api-docs"),
    *router.urls,
]
