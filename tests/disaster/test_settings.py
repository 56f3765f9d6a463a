"""Settings come from the environment (DESIGN decision 7): safe unless told otherwise,
refusing to start when something needed is missing or unreadable, Japanese first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation

BASE_DIR = settings.BASE_DIR
REDIS_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


def start_django(code: str = "", **environ: str | None) -> subprocess.CompletedProcess:
    """Set Django up in a fresh interpreter with `environ` changed (None removes a variable)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "disaster.settings"}
    for name, value in environ.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_secret_key_and_without_debug_it_refuses_to_start_and_says_why():
    result = start_django(SECRET_KEY=None, DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_without_a_secret_key_it_starts_when_debugging():
    result = start_django(SECRET_KEY=None, DEBUG="1")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_an_unreadable_debug_value_is_refused_with_a_clear_message(value):
    result = start_django(DEBUG=value)

    assert result.returncode != 0
    assert f"DEBUG={value!r} is not a boolean" in result.stderr


def test_an_unreadable_number_is_refused_with_a_clear_message():
    result = start_django(EVENT_LOG_RETENTION_DAYS="a month")

    assert result.returncode != 0
    assert "EVENT_LOG_RETENTION_DAYS='a month' is not valid" in result.stderr


def test_cookies_are_secure_unless_debugging():
    code = (
        "from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
    )

    assert start_django(code, DEBUG="1").stdout.split() == ["False", "False"]
    assert start_django(code, DEBUG="0").stdout.split() == ["True", "True"]
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True


@pytest.mark.django_db
def test_with_debug_off_pages_carry_the_security_headers(client):
    response = client.get("/", secure=True)

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert response["Strict-Transport-Security"] == (
        f"max-age={settings.SECURE_HSTS_SECONDS}; includeSubDomains"
    )


@pytest.mark.django_db
def test_strict_transport_security_is_only_sent_over_https(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert response["X-Frame-Options"] == "DENY"


def test_the_city_speaks_japanese_and_keeps_tokyo_time():
    assert settings.LANGUAGE_CODE == "ja"
    assert settings.TIME_ZONE == "Asia/Tokyo"
    assert settings.USE_TZ is True
    # Japanese first; residents' pages in the nine residents' languages, staff's in two.
    assert [code for code, _ in settings.LANGUAGES][:2] == ["ja", "ja-easy"]
    assert len(settings.LANGUAGES) == 9
    assert [code for code, _ in settings.STAFF_LANGUAGES] == ["ja", "en"]


def home_page(client, **headers) -> str:
    # LocaleMiddleware activates the request's language in this thread; keep it from
    # leaking into later tests.
    with translation.override(settings.LANGUAGE_CODE):
        response = client.get("/", **headers)
    assert response.status_code == 200
    return response.content.decode()


TITLE = "備え 災害情報・備蓄システム"


@pytest.mark.django_db
def test_the_home_page_is_in_japanese_by_default(client):
    page = home_page(client)

    assert '<html lang="ja">' in page
    assert TITLE in page


@pytest.mark.django_db
def test_the_home_page_is_in_english_for_a_browser_that_asks_for_it(client):
    page = home_page(client, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert '<html lang="en">' in page
    with translation.override("en"):
        english_title = translation.gettext(TITLE)
    if english_title != TITLE:  # the English catalogue has the home page
        assert english_title in page
        assert TITLE not in page


def test_with_redis_configured_the_channel_layer_is_shared_through_redis():
    assert os.environ["REDIS_URL"]
    layer = settings.CHANNEL_LAYERS["default"]
    assert layer["BACKEND"] == REDIS_LAYER
    assert [host["address"] for host in layer["CONFIG"]["hosts"]] == [os.environ["REDIS_URL"]]
    # None, or longer than redis-py's 5 s default, or an idle subscription dies.
    socket_timeout = layer["CONFIG"]["hosts"][0].get("socket_timeout", 5)
    assert socket_timeout is None or socket_timeout > 5
    assert f"{type(get_channel_layer()).__module__}.{type(get_channel_layer()).__name__}" == (
        REDIS_LAYER
    )


def test_without_redis_the_channel_layer_is_in_memory():
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['BACKEND'])"

    assert start_django(code, REDIS_URL=None).stdout.strip() == IN_MEMORY_LAYER
    assert start_django(code, REDIS_URL="redis://127.0.0.1:6379/3").stdout.strip() == REDIS_LAYER


def test_a_connection_pool_is_used_when_a_size_is_given_and_serves_queries():
    code = (
        "from django.db import connection; "
        "print(connection.settings_dict['OPTIONS']['pool']['max_size'], "
        "connection.settings_dict['OPTIONS']['pool']['timeout'], "
        "connection.settings_dict['CONN_MAX_AGE']); "
        "connection.ensure_connection(); print(connection.pool is not None); "
        "print(connection.cursor().execute('SELECT 41 + 1').fetchone()[0])"
    )
    result = start_django(code, DB_POOL_SIZE="3", DB_POOL_TIMEOUT_S="1.5", DB_CONN_MAX_AGE="60")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "1.5", "0", "True", "42"]


def test_without_a_pool_size_each_connection_is_its_own():
    result = start_django("from django.db import connection; print(connection.pool)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


PROVIDERS = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-token",
    "TWILIO_FROM_NUMBER": "+815012345678",
    "LINE_CHANNEL_ACCESS_TOKEN": "line-token",
    "LINE_CHANNEL_SECRET": "line-secret",
}
NO_PROVIDERS = dict.fromkeys(PROVIDERS)
PRODUCTION = {"DEBUG": "0", "ALERTS_CONSOLE_DELIVERY": None}


def test_in_production_without_provider_credentials_it_refuses_to_start_and_names_them():
    result = start_django(**PRODUCTION, **NO_PROVIDERS, PUBLIC_BASE_URL=None)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in [*PROVIDERS, "PUBLIC_BASE_URL", "ALERTS_CONSOLE_DELIVERY=1"]:
        assert name in result.stderr


def test_in_production_one_missing_credential_is_enough_to_refuse():
    result = start_django(
        **PRODUCTION,
        **{**PROVIDERS, "LINE_CHANNEL_SECRET": None},
        PUBLIC_BASE_URL="https://sonae.city.example.jp",
    )

    assert result.returncode != 0
    assert "missing LINE_CHANNEL_SECRET." in result.stderr


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:8000", "https://[::1]", "http://0.0.0.0:8000"],
)
def test_in_production_a_public_base_url_on_this_machine_is_refused(url):
    result = start_django(**PRODUCTION, **PROVIDERS, PUBLIC_BASE_URL=url)

    assert result.returncode != 0
    assert f"missing PUBLIC_BASE_URL (is {url}, this machine)" in result.stderr


def test_manage_py_check_deploy_refuses_too():
    env = {**os.environ, "DEBUG": "0", "PUBLIC_BASE_URL": "https://sonae.city.example.jp"}
    env.pop("ALERTS_CONSOLE_DELIVERY", None)
    for name in PROVIDERS:
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "Alerts would reach nobody with DEBUG off" in result.stderr


def test_in_production_with_every_credential_and_a_real_address_it_starts_with_the_providers():
    code = (
        "from alerts.delivery.transports import console_channels, transport_for; "
        "print(console_channels(), type(transport_for('sms')).__name__, "
        "type(transport_for('line')).__name__)"
    )
    result = start_django(
        code, **PRODUCTION, **PROVIDERS, PUBLIC_BASE_URL="https://sonae.city.example.jp"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "TwilioSms", "Line"]


@pytest.mark.parametrize(
    "environ",
    [
        {"DEBUG": "0", "ALERTS_CONSOLE_DELIVERY": "1"},
        {"DEBUG": "1", "ALERTS_CONSOLE_DELIVERY": None},
    ],
    ids=["console chosen by name", "debugging"],
)
def test_console_delivery_chosen_by_name_or_when_debugging_starts_without_providers(environ):
    code = (
        "from alerts.delivery.transports import console_channels, transport_for; "
        "print(*console_channels(), type(transport_for('sms')).__name__)"
    )
    result = start_django(code, **environ, **NO_PROVIDERS, PUBLIC_BASE_URL=None)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sms", "line", "ConsoleTransport"]
