"""The signed-in person's own pages, under /account/."""

from django.urls import path

from disaster.core import account_views

app_name = "account"

urlpatterns = [
    path("tokens/", account_views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke", account_views.revoke, name="revoke-token"),
]
