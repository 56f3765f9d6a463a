"""SMS sign-up cannot be used to send texts at the city's expense: numbers of the city's
country only, limits per client, per number and per day, and for everyone together; and its
answers tell nobody whether a number asked a moment ago. Registration races answer 2xx/4xx
and keep the number out of the log."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection
from django.test import Client

from alerts.models import PhoneConfirmation, Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def ask(phone: str, client: str = "198.51.100.20", **headers):
    return Client(REMOTE_ADDR=client, **headers).post(
        "/api/v1/subscriptions/sms", {"phone": phone}, content_type="application/json"
    )


def sent_to(fake_twilio, number: str) -> int:
    return sum(1 for m in fake_twilio.messages if m["to"] == number)


def test_a_number_abroad_is_refused_and_nothing_is_sent(fake_twilio):
    answer = ask("+1 415 555 0100")

    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["phone"]
    assert not fake_twilio.messages and not PhoneConfirmation.objects.exists()


def test_the_allowed_countries_are_a_setting(fake_twilio, settings):
    settings.SMS_ALLOWED_COUNTRY_CODES = ["+81", "+1"]

    assert ask("+1 415 555 0100").status_code == 202
    assert sent_to(fake_twilio, "+14155550100") == 1


def test_one_client_may_ask_only_so_many_times_an_hour(fake_twilio, settings):
    settings.SMS_CODES_PER_CLIENT_PER_HOUR = 3
    answers = [ask(f"090-0000-000{n}").status_code for n in range(5)]
    limited = ask("090-0000-0009")

    assert answers == [202, 202, 202, 429, 429]
    assert limited.json()["code"] == "rate_limited" and int(limited["Retry-After"]) > 0
    assert len(fake_twilio.messages) == 3
    assert ask("090-0000-0009", client="198.51.100.21").status_code == 202


def test_asking_again_within_a_minute_answers_alike_and_sends_one_code(fake_twilio):
    first = ask("090-1111-2222", client="198.51.100.22")
    again = ask("090-1111-2222", client="198.51.100.23")

    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert sent_to(fake_twilio, "+819011112222") == 1


def test_a_number_gets_only_so_many_codes_a_day_and_the_answer_never_changes(fake_twilio, settings):
    settings.SMS_CODES_PER_NUMBER_PER_DAY = 2
    answers = []
    for n in range(5):
        answers.append(ask("090-3333-4444", client=f"198.51.100.{30 + n}").status_code)
        PhoneConfirmation.objects.update(created_at="2000-01-01T00:00Z")  # a minute later

    assert answers == [202] * 5
    assert sent_to(fake_twilio, "+819033334444") == 2


def test_all_numbers_together_stop_at_the_hourly_ceiling(fake_twilio, settings):
    settings.SMS_CODES_PER_HOUR = 3
    answers = [ask(f"090-5555-000{n}", client=f"198.51.100.{40 + n}").status_code for n in range(5)]

    assert answers == [202, 202, 202, 429, 429]
    assert len(fake_twilio.messages) == 3


def test_sign_up_limits_see_the_client_behind_a_trusted_proxy_only(fake_twilio, settings):
    settings.SMS_CODES_PER_CLIENT_PER_HOUR = 2
    settings.TRUSTED_PROXIES = ["10.0.0.5/32"]
    forged = [
        ask(f"090-6666-000{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(3)
    ]
    proxied = [
        ask(f"090-7777-000{n}", client="10.0.0.5", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        for n in range(3)
    ]

    assert forged == [202, 202, 429]
    assert [a.status_code for a in proxied] == [202, 202, 202]


# Registration races: another transaction holds the number, uncommitted, when a request
# comes; the request must wait for it and then answer calmly.


def other_transaction(autocommit: bool = False) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"] or 5432,
        autocommit=autocommit,
    )


def wait_until_blocked(holder: psycopg.Connection, thread: threading.Thread, answer: dict) -> None:
    """Until some other session waits for a lock held by `holder` (polled, no fixed sleep)."""
    pid = holder.info.backend_pid
    # In autocommit: pg_stat_activity is read once per transaction.
    with other_transaction(autocommit=True) as watch:
        for _ in range(2000):
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [pid],
            ).fetchone()[0]
            if waiting:
                return
            if not thread.is_alive():
                raise AssertionError(f"the request was answered without waiting: {answer}")
            watch.execute("SELECT pg_sleep(0.005)")
    raise AssertionError("the request never waited for the other transaction")


def racing(request, hold_sql: str, params: list) -> object:
    """Run `request` in a thread while another transaction holds `hold_sql`'s row; commit
    that transaction once the request waits for it; return the request's answer."""
    answer = {}

    def run():
        try:
            answer["r"] = request()
        finally:
            connection.close()

    with other_transaction() as holder:
        holder.execute(hold_sql, params)
        thread = threading.Thread(target=run)
        thread.start()
        try:
            wait_until_blocked(holder, thread, answer)
        finally:
            holder.commit()
            thread.join(30)
    return answer["r"]


def test_two_sign_ups_of_a_new_number_at_once_answer_alike_and_log_no_number(fake_twilio, caplog):
    response = racing(
        lambda: ask("090-8888-9999"),
        "INSERT INTO alerts_phoneconfirmation (phone, code_hash, language, attempts,"
        " expires_at, created_at) VALUES (%s, '', 'ja', 0, now(), now())",
        ["+819088889999"],
    )

    assert response.status_code == 202
    assert "+819088889999" not in caplog.text and "9088889999" not in caplog.text


def test_two_staff_registering_one_person_at_once_get_a_409_and_log_no_number(
    api_as, ops_user, caplog
):
    body = {
        "phone": "090-1212-3434",
        "latitude": 35.49,
        "longitude": 139.41,
        "consent_note": "電話で同意",
    }
    response = racing(
        lambda: api_as(ops_user).post("/api/v1/subscribers", body, content_type="application/json"),
        "INSERT INTO alerts_subscriber (phone, language, consented_at, consent_method,"
        " needs_support, name, staff_note, created_at)"
        " VALUES (%s, 'ja', now(), 'staff', false, '', '', now())",
        ["+819012123434"],
    )

    assert response.status_code == 409, response.content
    assert Subscriber.objects.filter(phone="+819012123434").count() == 1
    assert "9012123434" not in caplog.text
