from django.urls import path

from alerts.authoring import views as authoring
from alerts.callup import views as callup
from alerts.public import views

app_name = "alerts"

urlpatterns = [
    path("alerts/feed.atom", views.feed, name="feed"),
    path("alerts/<int:alert_id>.cap", views.cap_document, name="cap"),
    path("a/<int:alert_id>", views.short_link, name="short"),
    path("ops/alerts/", authoring.ops_alerts, name="ops"),
    path("ops/callup/", callup.ops_call_ups, name="callup"),
    path("callup/<str:token>/", callup.answer, name="callup-answer"),
]
