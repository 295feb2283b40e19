"""Who may read what of the disclosure gateway. Deny by default.

- `shared.read`: a practitioner of a partner agency reads the shared part of a case while a
  grant for their agency stands in it now (`shared_with`: the agencies with a grant in force,
  from the gateway's own grants); nobody else, Mend's own staff included (they read the case
  itself in the services).
- `disclosures.read`: an auditor of the agency whose case the person takes part in reads who
  learned what about them (the ledger).
"""

from __future__ import annotations

from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, same_agency, shared_with_agency

READ_SHARED = "shared.read"
READ_DISCLOSURES = "disclosures.read"

POLICY = Policy(
    [
        Rule(READ_SHARED, {Role.PRACTITIONER}, shared_with_agency),
        Rule(READ_DISCLOSURES, {Role.AUDITOR}, same_agency),
    ]
)


def authorize_shared(identity: Identity, shared_with: frozenset[str]) -> None:
    POLICY.authorize(identity, READ_SHARED, {"shared_with": shared_with})


def authorize_disclosures(identity: Identity, agencies: frozenset[str]) -> None:
    """`agencies`: the agencies of the cases the person takes part in (empty: nobody may)."""
    agency = identity.agency if identity.agency in agencies else None
    POLICY.authorize(identity, READ_DISCLOSURES, {"agency": agency})
