# Shared fixtures for every test folder (real Kafka and PostgreSQL from the local launcher).
pytest_plugins = ["mend_events.testing"]
