"""Development and test only: nothing under libs/ or services/ imports this package.

`fixtures` is the repo-wide pytest plugin (real Kafka and PostgreSQL from the local launcher),
`devkeys` mints development tokens, `directory` makes a case known to a service, `matrix` is the
authorization matrix, `case_writer` + `written_cases` lay a case history straight into the
stores, and `journeys` walks cases through the services' HTTP APIs.
"""
