"""Plain words for the commissioners' report (the audit service's table and cell codes), marked
for the catalogue and translated when the page renders them. A code without words here is
shown with its underscores as spaces, never hidden: a new table still reads."""

from __future__ import annotations

from mend_web.index.words import STAGES as STAGES
from mend_web.participant_text import _  # the marker only: translated when rendered

TABLES = {
    "cases_by_route": _("Cases by route"),
    "invitations_by_source": _("Invitations, by who made them"),
    "invitations_taken_up": _("Invitations taken up"),
    "cases_by_furthest_stage": _("Cases by the furthest stage reached"),
    "withdrawals_by_stage": _("Withdrawals of consent, by stage"),
    "halts_by_stage": _("Sessions halted, by stage"),
    "halts_by_cause": _("Sessions halted, by cause"),
    "sessions_scheduled_by_form": _("Sessions scheduled, by form of contact"),
    "sessions_completed_by_form": _("Sessions completed, by form of contact"),
    "aftercare_offers_answered": _("After-care offered: the answer"),
    "aftercare_offers_by_cause": _("After-care offers, by what led to them"),
    "commitments_by_outcome": _("Commitments, by outcome"),
    "closures_by_reason": _("Cases closed, by reason"),
    "check_ins": _("After-care check-ins"),
    "referrals_by_kind": _("Referrals, by kind"),
    "instrument_choices": _("Outcome instruments: answers chosen (e.g. reoffending known)"),
}
CELLS = {
    **STAGES,
    "self_referral": _("Self-referral"),
    "agency_on_request": _("An agency, at her request"),
    "not_opened": _("Invitation not taken up"),
    "opened": _("Taken up"),
    "accepted": _("Accepted"),
    "declined": _("Declined"),
    "not_answered": _("Not answered yet"),
    "completed": _("Completed"),
    "not_completed": _("Not completed"),
    "open": _("Still open"),
    "missed": _("Missed"),
    "aftercare_closed": _("After-care closed"),
}
