from django.urls import path

from tugi.core import views

app_name = "core"
urlpatterns = [
    path("audit/", views.home, name="audit_list"),
    path("users/", views.home, name="user_list"),
]
