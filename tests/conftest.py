"""Every test gets the fixtures of tests/fixtures/, one module per domain.

Tests run against the real PostgreSQL/PostGIS and Redis that `make test` sets up.
"""

pytest_plugins = [
    "tests.fixtures.users",
    "tests.fixtures.shelters",
    "tests.fixtures.events",
    "tests.fixtures.stockpile",
    "tests.fixtures.providers",
    "tests.fixtures.warnings",
    "tests.fixtures.jobs",
]
