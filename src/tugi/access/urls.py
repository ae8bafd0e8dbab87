"""URLs of the access pages (namespace "access")."""

from django.urls import path

from tugi.access import views
from tugi.access.views import changes as change_views
from tugi.access.views import substitutions as substitution_views

app_name = "access"
urlpatterns = [
    # A person's access, and why they hold a role.
    path("me/", views.my_access, name="my_access"),
    path("people/<int:pk>/", views.person_access, name="person_access"),
    path("people/<int:pk>/roles/<int:role_pk>/why/", views.explain, name="explain"),
    path("people/<int:pk>/roles/<int:role_pk>/grant/", views.grant_entitled, name="grant_entitled"),
    # Grants and accounts (where compliance findings point).
    path("grants/<int:pk>/", views.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/end/", views.grant_end, name="grant_end"),
    path("grants/<int:pk>/suspend/", views.grant_suspend, name="grant_suspend"),
    path("grants/<int:pk>/resume/", views.grant_resume, name="grant_resume"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/close/", views.account_close, name="account_close"),
    # The catalogue.
    path("catalogue/", views.system_list, name="system_list"),
    path("catalogue/new/", views.system_create, name="system_create"),
    path("catalogue/<int:pk>/", views.system_detail, name="system_detail"),
    path("catalogue/<int:pk>/edit/", views.system_edit, name="system_edit"),
    path("catalogue/<int:system_pk>/roles/new/", views.role_create, name="role_create"),
    path("catalogue/roles/<int:pk>/", views.role_detail, name="role_detail"),
    path("catalogue/roles/<int:pk>/edit/", views.role_edit, name="role_edit"),
    path(
        "catalogue/roles/<int:pk>/entitlements/add/",
        views.entitlement_add,
        name="entitlement_add",
    ),
    path(
        "catalogue/entitlements/<int:pk>/remove/",
        views.entitlement_remove,
        name="entitlement_remove",
    ),
    path("catalogue/sod-rules/", views.sod_rule_list, name="sod_rule_list"),
    path("catalogue/sod-rules/new/", views.sod_rule_create, name="sod_rule_create"),
    path("catalogue/sod-rules/<int:pk>/", views.sod_rule_detail, name="sod_rule_detail"),
    path(
        "catalogue/sod-rules/<int:pk>/active/",
        views.sod_rule_set_active,
        name="sod_rule_set_active",
    ),
    # Requests, approvals, fulfilment.
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/resubmit/", views.request_resubmit, name="request_resubmit"),
    path("requests/items/<int:pk>/fulfil/", views.item_fulfil, name="item_fulfil"),
    path("approvals/", views.approvals, name="approvals"),
    path("fulfilment/", views.fulfilment, name="fulfilment"),
    # Substitutions (asendamine).
    path("substitutions/", substitution_views.substitution_list, name="substitution_list"),
    path("substitutions/new/", substitution_views.substitution_create, name="substitution_create"),
    path(
        "substitutions/proposals/",
        substitution_views.substitution_proposals,
        name="substitution_proposals",
    ),
    path(
        "substitutions/<int:pk>/",
        substitution_views.substitution_detail,
        name="substitution_detail",
    ),
    path(
        "substitutions/<int:pk>/confirm/",
        substitution_views.substitution_confirm,
        name="substitution_confirm",
    ),
    path(
        "substitutions/<int:pk>/cancel/",
        substitution_views.substitution_cancel,
        name="substitution_cancel",
    ),
    path(
        "substitutions/<int:pk>/period/",
        substitution_views.substitution_period,
        name="substitution_period",
    ),
    # Compliance.
    path("compliance/", views.compliance, name="compliance"),
    path("compliance/evaluate/", views.compliance_evaluate, name="compliance_evaluate"),
    # The lifecycle engine's changes: lateness, confirming, retrying.
    path("changes/", change_views.changes, name="changes"),
    path("changes/confirm/", change_views.changes_confirm, name="changes_confirm"),
    path("changes/<int:pk>/confirm/", change_views.change_confirm, name="change_confirm"),
    path("changes/<int:pk>/retry/", change_views.change_retry, name="change_retry"),
]
