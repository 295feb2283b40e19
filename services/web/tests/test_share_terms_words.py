"""A share grant on the participant's account page (issue 18): the agency, what it shares in
her words, and until when; a share grant from before terms existed says it shares nothing."""

from __future__ import annotations

from mend_web.participant_text import share_terms


def test_a_share_grant_in_her_words() -> None:
    grant = {
        "scope": "share:victim-care",
        "share_terms": {"categories": ["case_progress", "aftercare"],
                        "valid_until": "2027-03-01T00:00:00+00:00"},
    }  # fmt: skip
    assert share_terms(grant) == {
        "agency": "victim-care",
        "what": ["how your case is going", "support after contact"],
        "until": "2027-03-01",
    }


def test_other_grants_and_old_share_grants() -> None:
    assert share_terms({"scope": "take_part"}) is None
    assert share_terms({"scope": "share:police-north", "share_terms": None}) == {
        "agency": "police-north", "what": [], "until": None}  # fmt: skip


def test_the_account_page_names_the_agency_and_what_is_shared() -> None:
    from mend_web.pages import TEMPLATES

    grant = {"scope": "share:victim-care", "label": "Sharing information with another agency",
             "shares": {"agency": "victim-care", "what": ["safety concerns"],
                        "until": "2027-03-01"}}  # fmt: skip
    old = {"scope": "share:police-north", "label": "Sharing information with another agency",
           "shares": {"agency": "police-north", "what": [], "until": None}}  # fmt: skip
    case = {"case_id": "case-0001aa", "grants": [grant, old], "sessions": [], "aftercare": {}}
    template = TEMPLATES.env.get_template("participant/account.html")
    html = template.render(cases=[case], csrf="x", done=None)
    assert "victim-care." in html and "It shares safety concerns until 2027-03-01." in html
    assert "police-north." in html and "Nothing is shared under it." in html


def test_a_circle_grant_has_words_of_its_own() -> None:
    """A peer support circle's grant (issue 21) was named "Something you agreed to"."""
    from mend_web.participant_text import scope_label

    assert scope_label("circle:circle-3f9a2c1d") == "Taking part in a peer support group"
