"""The tablet app for shelter managers, under /shelter/: the shelter's own pages
(`shelters.views`) and its stock (`stockpile.views`). Routed here, in the higher of the two
apps, so that shelters never imports the stockpile."""

from django.urls import path

from shelters import views
from stockpile import views as stock

app_name = "tablet"

urlpatterns = [
    path("", views.choose, name="choose"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("<int:shelter_id>/", views.shelter, name="shelter"),
    path("<int:shelter_id>/stock/", stock.stock, name="stock"),
    path("<int:shelter_id>/stock/<str:action>/", stock.movement_form, name="movement"),
    path("<int:shelter_id>/transfers/", stock.transfers, name="transfers"),
    path("<int:shelter_id>/requests/", stock.requests, name="requests"),
    path("<int:shelter_id>/sheets/", stock.sheets, name="sheets"),
]
