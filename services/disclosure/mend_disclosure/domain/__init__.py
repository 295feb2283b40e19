"""The gateway's pure decisions: the allowlist, the grants, and what each partner receives."""

from mend_disclosure.domain.allowlist import Allowlist, AllowlistError, Rule, minimise
from mend_disclosure.domain.decide import Disclosure, disclosures, subject_of
from mend_disclosure.domain.grants import Cover, GrantEnd, ShareGrant, covering

__all__ = [
    "Allowlist",
    "AllowlistError",
    "Cover",
    "Disclosure",
    "GrantEnd",
    "Rule",
    "ShareGrant",
    "covering",
    "disclosures",
    "minimise",
    "subject_of",
]
