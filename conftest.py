# Shared fixtures for every test folder (real Kafka and PostgreSQL from the local launcher),
# from the development kit (testkit/): no production package carries them.
pytest_plugins = ["mend_testkit.fixtures"]
