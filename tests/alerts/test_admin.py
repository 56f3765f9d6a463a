from alerts.models import Alert, Subscriber


def test_the_admin_lists_alerts_and_subscribers_but_offers_no_add_or_edit(session_as, admin_user):
    Subscriber.objects.create(phone="+819012345678", consent_method="staff")
    client = session_as(admin_user)

    for url in ["/admin/alerts/alert/", "/admin/alerts/subscriber/", "/admin/alerts/delivery/"]:
        assert client.get(url).status_code == 200
    assert client.get("/admin/alerts/alert/add/").status_code == 403
    assert Alert.objects.count() == 0
