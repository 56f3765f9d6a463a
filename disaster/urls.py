from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from disaster import views
from disaster.admin import setup_city_view
from disaster.api import api, api_not_found

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Built from every catalogue on each request otherwise; the same for a day per language.
    path(
        "jsi18n/",
        cache_page(86400, key_prefix="jsi18n")(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
    path("shelter/", include("stockpile.urls")),
    path("", include("maps.urls")),
    path("", include("alerts.urls")),
    path("ops/", include("stockpile.ops_urls")),
    path("ops/", include("alerts.ops_urls")),
    path("account/", include("disaster.core.account_urls")),
    path("admin/setup-city/", admin.site.admin_view(setup_city_view), name="setup-city"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", api_not_found),  # unknown API paths answer in the API's format
    path("healthz", views.healthz, name="healthz"),
    path("hooks/", include("alerts.hook_urls")),
]

handler400 = views.bad_request
handler403 = views.forbidden
handler404 = views.not_found
handler500 = views.server_error
