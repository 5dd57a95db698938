"""Root conftest: the shared fixtures serve tests/ and the connectors' own test folders."""

pytest_plugins = ["tests.shared_fixtures"]
