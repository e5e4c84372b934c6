"""Fixtures shared by the whole suite, each written once in tests/fixtures/."""

pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.database", "tests.fixtures.stack"]
