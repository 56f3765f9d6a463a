"""The operations room's pages about residents and delivery, under /ops/."""

from django.urls import path

from alerts.delivery import views as delivery
from alerts.residents import staff_views as residents

app_name = "alerts-ops"

urlpatterns = [
    path("alerts/<int:alert_id>/deliveries/", delivery.deliveries, name="deliveries"),
    path("alerts/<int:alert_id>/deliveries.csv", delivery.deliveries_csv, name="deliveries-csv"),
    path("need-help/", delivery.need_help_list, name="need-help"),
    path("need-help/<int:answer_id>/reached", delivery.mark_reached, name="reached"),
    path("residents/", residents.residents, name="residents"),
    path("residents/new/", residents.register, name="register"),
    path("residents/<int:subscriber_id>/", residents.edit, name="resident"),
    path("residents/<int:subscriber_id>/remove", residents.remove, name="remove-resident"),
]
