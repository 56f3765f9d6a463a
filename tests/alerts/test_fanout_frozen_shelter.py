"""The nearest shelter named in evacuation messages is chosen once per alert, and "no
shelter" is a choice too: a shelter opening between a killed run and its restart must not
change the words (Twilio's look-up for a lost send matches the text, so changed words
would send the order twice)."""

from __future__ import annotations

import pytest

from alerts.delivery import fanout, rows
from alerts.models import Alert
from tests.alerts.test_nearest_shelter import EAST_BOX, alert_for, district, resident, shelter

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_resumed_fan_out_that_first_found_no_shelter_sends_once(fake_twilio, settings):
    # No open shelter serves tsunamis when the order first goes out; the answer to the
    # send is lost, so the restarted job must look the message up by its words.
    settings.ALERTS_SEND_ATTEMPTS = 1
    east = district("東地区", EAST_BOX)
    person = resident(139.402, 35.493, phone="+819012340002")
    alert = alert_for([east], "tsunami", channels=["sms"])
    fake_twilio.faults.plan("lost")

    with pytest.raises(fanout.Unfinished):
        fanout.send(alert.pk)
    shelter("西の高台", 139.385, 35.496, ["tsunami"])  # outside the area, serving tsunamis
    fanout.send(alert.pk)

    assert list(fake_twilio.accepted().values()) == [1]
    ((number, body),) = fake_twilio.accepted()
    assert number == person.phone and "西の高台" not in body
    alert.refresh_from_db()
    assert alert.status == "sent"


def test_the_choice_of_no_shelter_is_kept_by_a_later_run():
    east = district("東地区", EAST_BOX)
    resident(139.402, 35.493, phone="+819012340003")
    alert = alert_for([east], "tsunami", channels=["sms"])
    rows.create_deliveries(alert)
    rows.choose_shelters(alert)
    first_text = fanout.Fanout(Alert.objects.get(pk=alert.pk)).text("ja", "sms", east.pk)

    shelter("西の高台", 139.385, 35.496, ["tsunami"])
    again = Alert.objects.get(pk=alert.pk)
    rows.choose_shelters(again)

    assert fanout.Fanout(again).text("ja", "sms", east.pk) == first_text
    assert not rows.names_shelters(again)  # texts do not differ by district
