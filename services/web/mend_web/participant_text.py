"""Plain words for what the services call by code, as a participant reads them. Wrapped in
gettext's `_` so the catalogues can translate them (identity until a catalogue is installed)."""

from __future__ import annotations


def _(text: str) -> str:
    return text


FORMS = {
    "face_to_face": _("Meeting face to face"),
    "letter": _("Exchanging letters"),
    "unsent_letter": _("Writing a letter that is not sent"),
    "shuttle": _("Messages passed on by your facilitator"),
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


def scope_label(scope: str) -> str:
    if scope.startswith("contact:"):
        return FORMS.get(scope.removeprefix("contact:"), _("A form of contact"))
    if scope.startswith("share:"):
        return _("Sharing information with another agency")
    return SCOPES.get(scope, _("Something you agreed to"))


def form_label(form: str) -> str:
    return FORMS.get(form, _("A session"))


def status_label(status: str) -> str:
    return STATUSES.get(status, _("Planned"))
