"""The operations map and the public map pages."""

from django.urls import path

from maps import views

app_name = "maps"

urlpatterns = [
    path("ops/", views.ops, name="ops"),
    path("map/", views.public_map, name="public"),
    path("map/report/", views.report_form, name="report"),
]
