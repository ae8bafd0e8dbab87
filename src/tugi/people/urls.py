from django.urls import path

from tugi.core import views

app_name = "people"
urlpatterns = [
    path("", views.home, name="person_list"),
    path("org/", views.home, name="org_chart"),
    path("positions/", views.home, name="position_list"),
]
