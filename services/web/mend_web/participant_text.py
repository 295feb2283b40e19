"""Plain words for what the services call by code, as a participant reads them. Wrapped in
gettext's `_` so the catalogues can translate them (identity until a catalogue is installed)."""

from __future__ import annotations


def _(text: str) -> str:
    return text


FORMS = {
    "face_to_face": _("Meeting face to face"),
    "letter": _("Exchanging letters"),
    "unsent_letter": _("Writing a letter that is not sent"),
    "indirect": _("Messages passed on by your facilitator"),
    "conference": _("A conference with others affected"),
    "family_circle": _("A family circle"),
    "healing_circle": _("A healing circle"),
    "story_telling": _("Telling your story"),
}
SCOPES = {
    "take_part": _("Taking part"),
    "progress_updates": _("Receiving progress updates"),
    "outcome_research": _("Answering questions about how it went"),
}
STATUSES = {
    "scheduled": _("Planned"),
    "running": _("Happening now"),
    "halted": _("Stopped"),
    "completed": _("Finished"),
}


# What a share grant lets through (issue 18), in her words.
SHARED = {
    "case_progress": _("how your case is going"),
    "session_outcomes": _("sessions and what was agreed"),
    "safety_concerns": _("safety concerns"),
    "aftercare": _("support after contact"),
    "statements": _("what you said"),
}


def share_terms(grant: dict) -> dict | None:
    """A share grant's agency, what it shares and until when, for her account page (None for
    any other grant; a share grant from before terms existed shares nothing)."""
    scope = grant.get("scope", "")
    if not scope.startswith("share:"):
        return None
    terms = grant.get("share_terms") or {}
    until = str(terms.get("valid_until") or "")[:10]
    return {
        "agency": scope.removeprefix("share:"),
        "what": [SHARED.get(c, _("something else")) for c in terms.get("categories", [])],
        "until": until or None,
    }


def scope_label(scope: str) -> str:
    if scope.startswith("contact:"):
        return FORMS.get(scope.removeprefix("contact:"), _("A form of contact"))
    if scope.startswith("share:"):
        return _("Sharing information with another agency")
    if scope.startswith("circle:"):
        return _("Taking part in a peer support group")
    return SCOPES.get(scope, _("Something you agreed to"))


def form_label(form: str) -> str:
    return FORMS.get(form, _("A session"))


def status_label(status: str) -> str:
    return STATUSES.get(status, _("Planned"))


# After-care and progress updates, in plain words.
SUPPORT = {
    "not_offered": _("Nothing has been offered yet"),
    "offered": _("Offered: it is your choice"),
    "accepted": _("You accepted it"),
    "declined": _("You said no, and you can change your mind"),
    "closed": _("Finished"),
}
UPDATE_LEVELS = {
    "each_update": _("Every update"),
    "completion_only": _("Only when something is finished or not finished"),
    "risk_changes_only": _("Only when something changes about safety"),
    "none": _("No updates"),
}
REFERRALS = {
    "counselling": _("Counselling"),
    "advocacy": _("Advocacy"),
    "therapeutic_treatment": _("Therapeutic treatment"),
    "circles_of_support_and_accountability": _("A circle of support and accountability"),
    "other": _("Other support"),
}
COMMITMENTS = {
    "therapeutic_treatment": _("Therapeutic treatment"),
    "behaviour_change_programme": _("A behaviour change programme"),
    "no_contact": _("No contact"),
    "family_arrangement": _("A family arrangement"),
    "contact_arrangement": _("A contact arrangement"),
    "written_account": _("A written account"),
    "reparation": _("Reparation"),
    "other": _("Another commitment"),
}
PROGRESS = {
    "progressed": _("Going ahead"),
    "completed": _("Finished"),
    "not_completed": _("Not finished"),
    "sent": _("Sent"),
}
CHECK_INS = {"completed": _("Held"), "missed": _("Missed"), "ended": _("No longer planned")}


def label(table: dict[str, str], code: str | None) -> str:
    """The plain words for a code of `table`, or a neutral word for one it does not know."""
    return table.get(code or "", _("Noted"))


# Letters and messages, as their author or reader sees them.
LETTER_STATUSES = {
    "draft": _("Not yet sent to your facilitator"),
    "submitted": _("With your facilitator to read"),
    "returned": _("Back with you to change"),
    "approved": _("Read by your facilitator: you decide whether to send it"),
    "delivered": _("Delivered"),
    "kept_unsent": _("Kept, not sent"),
    "stopped": _("Not sent: this was stopped"),
}
RETURN_REASONS = {
    "may_harm_reader": _("Some of it could hurt the person reading it"),
    "identifying_details": _("It says something that could identify or locate someone"),
    "blame_or_pressure": _("Some of it could read as blame or pressure"),
    "needs_preparation": _("Let us talk it through together first"),
    "other": _("Your facilitator will explain when you next speak"),
}


def letter_status(status: str) -> str:
    return LETTER_STATUSES.get(status, _("Not yet sent to your facilitator"))


# Meetings and her own materials, in plain words.
MEETING_PURPOSES = {
    "preparation": _("A meeting to prepare, with your facilitator"),
    "contact": _("The meeting itself"),
}
CHANNELS = {"in_person": _("In person"), "video": _("By video"), "phone": _("By phone")}
ARRANGEMENTS = {
    "separate_arrival_departure": _("You arrive and leave separately"),
    "breaks": _("Breaks whenever you need one"),
    "support_person_present": _("Your support person is with you"),
}
MATERIAL_KINDS = {
    "question": _("A question you want answered"),
    "impact_statement": _("How it affected you"),
    "to_hear": _("What you want them to hear"),
}
# Zones offered for showing times (a meeting's own zone is always offered too).
ZONES = ("Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "America/New_York",
         "America/Chicago", "America/Los_Angeles", "Australia/Sydney", "UTC")  # fmt: skip
