"""Sharing with partner agencies (issue 18): the signed, classified CloudEvent a partner
receives, with personal fields sealed for it alone, and the partner's check of it.
See docs/sharing.md; `envelope` is the interface the disclosure gateway calls."""

from mend_events.sharing.envelope import (
    PartnerEvent,
    ShareRejected,
    ShareSigner,
    notice_for_partner,
    seal_for_partner,
    verify_and_open,
)

__all__ = [
    "PartnerEvent",
    "ShareRejected",
    "ShareSigner",
    "notice_for_partner",
    "seal_for_partner",
    "verify_and_open",
]
