"""The published OpenAPI says what the API does: every enum under its own name (a shelter's
status is a shelter's, not a damage report's), and every error an operation may answer
documented in the one error format."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert
from disaster.core.models import Incident
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from stockpile.models import Item, Lot, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def spec(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/openapi.json").json()


def resolved(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return resolved(spec, schema["allOf"][0])
    return schema


def field(spec: dict, component: str, name: str) -> dict:
    return resolved(spec, spec["components"]["schemas"][component]["properties"][name])


@pytest.mark.parametrize(
    ("component", "name", "choices"),
    [
        ("ShelterOut", "status", Shelter.Status),
        ("IncidentOut", "kind", Incident.Kind),
        ("AlertIn", "kind", Alert.Kind),
        ("ItemOut", "category", Item.Category),
        ("ReportIn", "category", DamageReport.Category),
        ("LotOut", "source", Lot.Source),
        ("TransferOut", "status", Transfer.Status),
    ],
)
def test_each_enum_field_documents_its_own_values(spec, component, name, choices):
    assert field(spec, component, name)["enum"] == list(choices.values)


def test_no_two_enums_share_a_component(spec):
    enums = [n for n, c in spec["components"]["schemas"].items() if "enum" in c]

    assert not {"Status", "Kind", "Category", "Source"} & set(enums)
    values = [tuple(spec["components"]["schemas"][n]["enum"]) for n in enums]
    assert len(values) == len(set(values))


def test_every_operation_documents_its_errors_in_the_error_format(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["status", "code", "message"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = {str(code) for code in operation["responses"]}
            if operation.get("security"):
                assert {"401", "403"} <= documented, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert {"404", "422"} <= documented, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert {"409"} <= documented, (method, path)


def test_rate_limited_public_writes_document_their_429(spec):
    for path in ("/api/v1/public/reports", "/api/v1/subscriptions/sms"):
        assert "429" in spec["paths"][path]["post"]["responses"]
