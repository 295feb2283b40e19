"""The catalog of Mend's event contracts: every service's events, with the codes and value
objects they carry, one module per service (`consent`, `risk`, `sessions`, `aftercare`, `hub`,
`circles`).

They are the platform's published language, read by the other services, agencies and auditors,
so they live here in one place: a service depends on this library for the events it consumes,
never on another service. Importing the catalog registers every event type in
`mend_events.contracts.events.registry`, so a process that decodes or summarises events of any
service
(the audit, the contracts export) imports this package and no service.
"""

from mend_events.contracts.catalog import aftercare, circles, consent, hub, risk, sessions

__all__ = ["aftercare", "circles", "consent", "hub", "risk", "sessions"]
