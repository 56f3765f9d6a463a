"""The audit log: every write records who, through what, to which object, before and after."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from disaster.core import services
from disaster.core.models import AuditEntry, Incident
from disaster.core.roles import Role

pytestmark = pytest.mark.django_db


def declare(client, name: str = "令和X年 座間市地震", kind: str = "earthquake") -> dict:
    response = client.post(
        "/api/v1/incidents", {"name": name, "kind": kind}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def patch(client, incident_id: int, **changes) -> dict:
    response = client.patch(
        f"/api/v1/incidents/{incident_id}", changes, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_declaring_an_incident_through_the_api_is_audited(api_as, ops_user):
    incident = declare(api_as(ops_user))

    entry = AuditEntry.objects.get()
    assert entry.actor == ops_user
    assert entry.actor_name == "ops"
    assert entry.via == AuditEntry.Via.API
    assert entry.action == "incident.declare"
    assert (entry.target_type, entry.target_id) == ("disaster.incident", str(incident["id"]))
    assert entry.before is None
    assert entry.after["name"] == "令和X年 座間市地震"
    assert entry.after["kind"] == "earthquake"
    assert entry.after["phase"] == "watch"


def test_updating_an_incident_through_the_api_records_before_and_after(api_as, ops_user):
    client = api_as(ops_user)
    incident = declare(client)

    patch(client, incident["id"], phase="response", name="座間市地震")

    entry = AuditEntry.objects.get(action="incident.update")
    assert entry.actor == ops_user
    assert entry.via == AuditEntry.Via.API
    assert entry.target_id == str(incident["id"])
    assert (entry.before["phase"], entry.after["phase"]) == ("watch", "response")
    assert (entry.before["name"], entry.after["name"]) == ("令和X年 座間市地震", "座間市地震")


def test_an_update_that_changes_nothing_writes_no_entry(api_as, ops_user):
    client = api_as(ops_user)
    incident = declare(client)

    patch(client, incident["id"], phase="watch")

    assert not AuditEntry.objects.filter(action="incident.update").exists()


def test_a_refused_update_writes_no_entry(api_as, ops_user, manager_user):
    incident = declare(api_as(ops_user))

    response = api_as(manager_user).patch(
        f"/api/v1/incidents/{incident['id']}", {"phase": "closed"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["incident.declare"]


def test_a_write_through_the_admin_site_is_audited_as_such(session_as, admin_user):
    incident = Incident.objects.create(name="台風第10号", kind=Incident.Kind.TYPHOON)
    started = timezone.localtime(incident.started_at)
    client = session_as(admin_user)

    response = client.post(
        f"/admin/disaster/incident/{incident.pk}/change/",
        {
            "name": "台風第10号（大雨）",
            "kind": "typhoon",
            "phase": "response",
            "started_at_0": started.strftime("%Y-%m-%d"),
            "started_at_1": started.strftime("%H:%M:%S"),
            "ended_at_0": "",
            "ended_at_1": "",
            "_save": "保存",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    incident.refresh_from_db()
    assert (incident.name, incident.phase) == ("台風第10号（大雨）", "response")
    entry = AuditEntry.objects.get()
    assert entry.via == AuditEntry.Via.ADMIN
    assert entry.actor == admin_user
    assert entry.action == "incident.change"
    assert entry.target_id == str(incident.pk)
    assert (entry.before["name"], entry.after["name"]) == ("台風第10号", "台風第10号（大雨）")
    assert (entry.before["phase"], entry.after["phase"]) == ("watch", "response")


def test_a_service_called_outside_any_request_is_audited_as_the_system(ops_user):
    services.declare_incident(ops_user, name="訓練", kind="earthquake", is_drill=True)

    assert AuditEntry.objects.get().via == AuditEntry.Via.SYSTEM


def test_a_rolled_back_write_leaves_no_audit_entry(ops_user):
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        services.declare_incident(ops_user, name="誤報", kind="earthquake")
        assert AuditEntry.objects.count() == 1
        raise Abandon

    assert not Incident.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_write_refused_by_the_domain_leaves_no_audit_entry(api_as, ops_user):
    client = api_as(ops_user)
    incident = declare(client)
    patch(client, incident["id"], phase="closed")

    response = client.patch(
        f"/api/v1/incidents/{incident['id']}", {"name": "再開"}, content_type="application/json"
    )

    assert response.status_code == 409
    assert AuditEntry.objects.filter(action="incident.update").count() == 1


class TestTheAuditLogApi:
    @pytest.fixture
    def history(self, api_as, ops_user, admin_user):
        """Three writes by two people at known times; returns the two incidents' ids."""
        ops, admin = api_as(ops_user), api_as(admin_user)
        first = declare(ops, "地震")["id"]
        second = declare(admin, "洪水", "flood")["id"]
        patch(ops, first, phase="response")
        base = timezone.now() - dt.timedelta(days=3)
        for day, entry in enumerate(AuditEntry.objects.order_by("id")):
            AuditEntry.objects.filter(pk=entry.pk).update(at=base + dt.timedelta(days=day))
        return first, second

    def audit(self, client, query: str = "") -> list[dict]:
        response = client.get(f"/api/v1/audit{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == len(body["items"])
        return body["items"]

    def test_only_administrators_may_read_it(self, api_as, users, history):
        assert api_as(users[Role.OPERATIONS]).get("/api/v1/audit").status_code == 403
        assert api_as(users[Role.SHELTER_MANAGER]).get("/api/v1/audit").status_code == 403
        assert api_as(None).get("/api/v1/audit").status_code == 401
        assert len(self.audit(api_as(users[Role.ADMINISTRATOR]))) == 3

    def test_newest_entries_come_first(self, api_as, admin_user, history):
        actions = [e["action"] for e in self.audit(api_as(admin_user))]

        assert actions == ["incident.update", "incident.declare", "incident.declare"]

    def test_it_filters_by_action(self, api_as, admin_user, history):
        items = self.audit(api_as(admin_user), "?action=incident.update")

        assert [(e["action"], e["target_id"]) for e in items] == [
            ("incident.update", str(history[0]))
        ]
        assert items[0]["before"]["phase"] == "watch"
        assert items[0]["after"]["phase"] == "response"

    def test_it_filters_by_actor(self, api_as, admin_user, ops_user, history):
        client = api_as(admin_user)

        by_ops = self.audit(client, f"?actor={ops_user.pk}")
        by_admin = self.audit(client, f"?actor={admin_user.pk}")

        assert {e["actor_name"] for e in by_ops} == {"ops"} and len(by_ops) == 2
        assert [e["target_id"] for e in by_admin] == [str(history[1])]

    def test_it_filters_by_target(self, api_as, admin_user, history):
        items = self.audit(
            api_as(admin_user), f"?target_type=disaster.incident&target_id={history[0]}"
        )

        assert [e["action"] for e in items] == ["incident.update", "incident.declare"]
        assert self.audit(api_as(admin_user), "?target_type=shelters.shelter") == []

    def test_it_filters_by_time_with_since_inclusive_and_until_exclusive(
        self, api_as, admin_user, history
    ):
        client = api_as(admin_user)
        times = sorted(AuditEntry.objects.values_list("at", flat=True))
        since, until = (t.isoformat().replace("+", "%2B") for t in (times[1], times[2]))

        assert [e["target_id"] for e in self.audit(client, f"?since={since}")] == [
            str(history[0]),
            str(history[1]),
        ]
        assert [e["target_id"] for e in self.audit(client, f"?until={until}")] == [
            str(history[1]),
            str(history[0]),
        ]
        assert len(self.audit(client, f"?since={since}&until={until}")) == 1

    def test_filters_combine(self, api_as, admin_user, ops_user, history):
        items = self.audit(api_as(admin_user), f"?actor={ops_user.pk}&action=incident.declare")

        assert [e["target_id"] for e in items] == [str(history[0])]
