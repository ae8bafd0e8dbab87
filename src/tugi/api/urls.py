"""URLs of the REST API, mounted under /api/v1/."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.routers import SimpleRouter

from tugi.api import (
    access_catalogue,
    access_changes,
    access_findings,
    access_grants,
    access_requests,
    access_substitutions,
    desk,
    hr,
    people,
    views,
)

# Route names carry an "api-" head: the web pages use the same nouns in their own namespaces.
router = SimpleRouter()
router.register("people", people.PersonViewSet, basename="api-person")
router.register("org-units", people.OrgUnitViewSet, basename="api-orgunit")
router.register("positions", people.PositionViewSet, basename="api-position")
# Access questions about a person live under the person (people/{id}/explain/).
router.register("people", access_grants.PersonAccessViewSet, basename="api-person-access")
router.register("systems", access_catalogue.TargetSystemViewSet, basename="api-targetsystem")
router.register("roles", access_catalogue.RoleViewSet, basename="api-role")
router.register("accounts", access_grants.AccountViewSet, basename="api-account")
router.register("grants", access_grants.GrantViewSet, basename="api-grant")
router.register(
    "access-requests", access_requests.AccessRequestViewSet, basename="api-accessrequest"
)
router.register(
    "access-request-items",
    access_requests.AccessRequestItemViewSet,
    basename="api-accessrequestitem",
)
router.register("findings", access_findings.FindingViewSet, basename="api-finding")
router.register(
    "substitutions", access_substitutions.SubstitutionViewSet, basename="api-substitution"
)
router.register("changes", access_changes.ChangeViewSet, basename="api-change")
router.register("cases", desk.CaseViewSet, basename="api-case")
router.register("attachments", desk.AttachmentViewSet, basename="api-attachment")

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("docs/", views.docs, name="api-docs"),
    # The HR system's push, also with a trailing slash (as other routes have one).
    path("hr/persons", hr.HrPersonsView.as_view(), name="api-hr-persons"),
    path("hr/persons/", hr.HrPersonsSlashView.as_view()),
    *router.urls,
]
