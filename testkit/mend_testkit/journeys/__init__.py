"""Journeys a practitioner would recognise, driven through the four services' own HTTP APIs.

A `Driver` (driver.py) holds one `httpx.AsyncClient` per service (the base URLs of a running
platform, or ASGI transports of services run in process), a token source `token(role,
person_id)` that returns an `Authorization` header, and `allocate(case_id, practitioner_id)`,
which makes the hub's allocation of a case known to the services (`directory.allocator`).
`Case` (case.py) walks one case through readable steps, each a request to the service that owns
it, as the person whose act it is; each service's steps are in a module named after it
(sessions.py, consent.py, risk.py, aftercare.py). Every step keeps the ids of the events it
wrote under a short name.

Nothing sleeps blindly. A consequence in another service (a halt caused by a withdrawal,
after-care offered for it, a reassessment falling due) is waited for by polling the owning
service's read API until it shows, with a timeout. A gated request (schedule, start) that the
sessions service refuses only because a consent or risk fact has not reached it yet over Kafka is
asked again until it passes or the timeout ends; a request refused for any other reason fails at
once, naming the step, the status and the service's reason.

Each journey (stories.py) returns a `Journey`: the case id, the ids of its key events, and the
consequences it waited for (`Effect`: which event, in which service, caused by which named
event), so a test or the demo can check the audit history against it (`causation_problems`).
"""
