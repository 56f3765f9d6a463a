"""Shared fixtures: users in every role, API clients that authenticate as them, a shelter.

Tests run against the real PostgreSQL/PostGIS and Redis that `make test` sets up.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from disaster.core.events import EVENT_KINDS
from disaster.core.models import ApiToken, Event, User
from disaster.core.roles import Role
from shelters.models import Shelter

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hashing a password the production way takes a noticeable fraction of a second by design;
    # tests create users by the hundred, and what they test is not the hash's strength.
    # The production hasher stays listed, so passwords hashed outside a test still verify.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def make_user(db):
    def make(username: str, role: Role, **extra) -> User:
        user = User(username=username, role=role, **extra)
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("admin", Role.ADMINISTRATOR)


@pytest.fixture
def ops_user(make_user) -> User:
    return make_user("ops", Role.OPERATIONS)


@pytest.fixture
def shelter(db) -> Shelter:
    return Shelter.objects.create(
        name="座間市立相模が丘小学校",
        address="神奈川県座間市相模が丘6-1-1",
        point=Point(139.4160, 35.5120, srid=4326),
        capacity=600,
        hazards=["earthquake", "large_fire"],
    )


@pytest.fixture
def other_shelter(db) -> Shelter:
    return Shelter.objects.create(
        name="座間市立栗原小学校",
        address="神奈川県座間市栗原中央6-4-1",
        point=Point(139.4000, 35.4900, srid=4326),
        capacity=500,
    )


@pytest.fixture
def manager_user(make_user, shelter) -> User:
    user = make_user("manager", Role.SHELTER_MANAGER)
    shelter.managers.add(user)
    return user


@pytest.fixture
def users(admin_user, ops_user, manager_user) -> dict[Role, User]:
    return {
        Role.ADMINISTRATOR: admin_user,
        Role.OPERATIONS: ops_user,
        Role.SHELTER_MANAGER: manager_user,
    }


def token_client(user: User) -> Client:
    """A test client that sends the user's bearer token, as a tablet would."""
    _, secret = ApiToken.issue(user, "test")
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def api_as():
    """api_as(user) → a client authenticated by token; api_as(None) → anonymous."""
    return lambda user: Client() if user is None else token_client(user)


@pytest.fixture
def session_as():
    """session_as(user) → a client logged in with a browser session, as the pages call the API.

    `enforce_csrf_checks=True` makes the client behave like a browser that must send the
    CSRF token on writes (Django's test client skips the check otherwise).
    """

    def login(user: User, *, enforce_csrf_checks: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.force_login(user)
        return client

    return login


@pytest.fixture
def published(db):
    """published(kind) → the payloads of the stored events of that kind, oldest first, each
    checked against the schema the kind declares (as a client would read it)."""

    def of(kind: str) -> list[dict]:
        payloads = list(
            Event.objects.filter(kind=kind).order_by("id").values_list("payload", flat=True)
        )
        for payload in payloads:
            EVENT_KINDS[kind].model_validate(payload)
        return payloads

    return of
