"""Who may open, unlock and invite: one small function over the platform policy, deny by default.

- A coordinator asks for a staff member's activation code and unlocks accounts, in their own
  agency only (`account.create`, `account.unlock`).
- A practitioner invites participants into their own agency (`invitation.create`).
- Signing in, the second factor, refresh, sign-out and redeeming a code need no token: they are
  how one is obtained, and each is bound to its own secret (password, challenge, refresh token,
  activation code), which only ever yields a token for the account's own subject.
"""

from __future__ import annotations

from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, same_agency

CREATE_ACCOUNT = "account.create"
UNLOCK = "account.unlock"
INVITE = "invitation.create"

# Not BASELINE_RULES: an auditor reads, and nothing here is a read.
POLICY = Policy(
    [
        Rule(CREATE_ACCOUNT, {Role.COORDINATOR}, same_agency),
        Rule(UNLOCK, {Role.COORDINATOR}, same_agency),
        Rule(INVITE, {Role.PRACTITIONER}, same_agency),
    ]
)


def authorize(identity: Identity, action: str, agency: str | None) -> None:
    """Raise Forbidden unless `identity` may take `action` on a resource of `agency`."""
    POLICY.authorize(identity, action, {"agency": agency})
