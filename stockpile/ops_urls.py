"""The operations room's stock pages, under /ops/ (stockpile/ops_views.py)."""

from django.urls import path

from stockpile import ops_views

app_name = "stock-ops"

urlpatterns = [
    path("supplies/", ops_views.supply_requests, name="requests"),
    path("supplies/<int:request_id>/decide", ops_views.decide_request, name="decide"),
    path("supplies/lines/<int:line_id>/plan", ops_views.plan_line, name="plan-line"),
    path("transfers/", ops_views.transfers, name="transfers"),
    path("transfers/propose", ops_views.plan_from_proposal, name="plan-proposal"),
    path("transfers/<int:transfer_id>/<slug:action>", ops_views.transfer_action, name="transfer"),
]
