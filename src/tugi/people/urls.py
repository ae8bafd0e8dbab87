"""URLs of the people pages (namespace "people")."""

from django.urls import path

from tugi.people import absence_views, import_views, views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="person_list"),
    path("me/", views.me, name="me"),
    path("new/", views.person_create, name="person_create"),
    path("<int:pk>/", views.person_detail, name="person_detail"),
    path("<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("<int:pk>/personal-code/", views.person_personal_code, name="person_personal_code"),
    path("absences/", absence_views.absence_list, name="absence_list"),
    path("absences/new/", absence_views.absence_create, name="absence_create"),
    path("absences/<int:pk>/edit/", absence_views.absence_edit, name="absence_edit"),
    path("absences/<int:pk>/cancel/", absence_views.absence_cancel, name="absence_cancel"),
    path("org/", views.org_chart, name="org_chart"),
    path("org/new/", views.org_unit_create, name="org_unit_create"),
    path("org/<int:pk>/", views.org_unit_detail, name="org_unit_detail"),
    path("org/<int:pk>/edit/", views.org_unit_edit, name="org_unit_edit"),
    path("positions/", views.position_list, name="position_list"),
    path("positions/new/", views.position_create, name="position_create"),
    path("positions/<int:pk>/", views.position_detail, name="position_detail"),
    path("positions/<int:pk>/edit/", views.position_edit, name="position_edit"),
    path(
        "positions/<int:position_pk>/job-descriptions/new/",
        views.job_description_create,
        name="job_description_create",
    ),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/upload/", import_views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("imports/<int:pk>/discard/", import_views.import_discard, name="import_discard"),
    path(
        "positions/job-descriptions/<int:pk>/edit/",
        views.job_description_edit,
        name="job_description_edit",
    ),
]
