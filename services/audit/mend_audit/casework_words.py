"""Summary words for casework around the rules (issue 20): referrals, letters, case notes,
meetings and the survivor's own materials; and community team conferences (issue 21). Ids,
codes and states only; every text stays sealed."""

from __future__ import annotations

from collections.abc import Callable

from mend_audit.summary_text import Data, _g, _ids, _words, short


def _rp_outcome(d: Data) -> str:
    forms = d.get("offered_forms")
    offered = ", ".join(str(f) for f in forms) if isinstance(forms, list) and forms else "none"
    outcome = _g(d, "outcome")
    return f"responsible person's outcome: {outcome}; forms offered without them: {offered}"


def _letter_drafted(d: Data) -> str:
    reply = f", replying to {short(d['reply_to'])}" if d.get("reply_to") else ""
    return (
        f"letter {short(d.get('letter_id'))} drafted by {_g(d, 'author_id')} for "
        f"{_g(d, 'recipient_id')} (session {_g(d, 'session_id')}){reply}"
    )


def _delivery_stopped(d: Data) -> str:
    cause = f", cause event {short(d['cause_event_id'])}" if d.get("cause_event_id") else ""
    return f"delivery of letter {short(d.get('letter_id'))} stopped: {_g(d, 'cause')}{cause}"


def _note_written(d: Data) -> str:
    about = f" about {d['about_id']}" if d.get("about_id") else ""
    attached = f", with a {d['attachment_type']} attachment" if d.get("attachment_digest") else ""
    return f"{_g(d, 'kind')} note {short(d.get('note_id'))} written{about}{attached}"


def _note_read(d: Data) -> str:
    what = "its attachment" if d.get("attachment") else "its text"
    return f"case note {short(d.get('note_id'))} read ({what})"


def _meeting_arranged(d: Data) -> str:
    session = f" for session {d['session_id']}" if d.get("session_id") else ""
    return (
        f"{_g(d, 'purpose')} meeting {short(d.get('meeting_id'))}{session} arranged for "
        f"{_g(d, 'at')} ({_g(d, 'timezone')}), {_g(d, 'channel')}, facilitator "
        f"{_g(d, 'facilitator_id')}, with {_ids(d.get('attendees'))}"
    )


def _availability(d: Data) -> str:
    can = "can attend" if d.get("available") else "cannot attend"
    return f"{_g(d, 'person_id')} {can} meeting {short(d.get('meeting_id'))}"


def _meeting_cancelled(d: Data) -> str:
    by = f" by {d['cancelled_by_id']}" if d.get("cancelled_by_id") else ""
    cause = f", cause event {short(d['cause_event_id'])}" if d.get("cause_event_id") else ""
    return f"meeting {short(d.get('meeting_id'))} called off{by}: {_g(d, 'cause')}{cause}"


def _conference_held(d: Data) -> str:
    needs = d.get("needs")
    listed = ", ".join(str(n) for n in needs) if isinstance(needs, list) and needs else "none"
    return (
        f"conference {_g(d, 'conference_id')} met (meeting {_g(d, 'occurrence')}) at "
        f"{_g(d, 'held_at')} with {_ids(d.get('attendee_ids'))}; needs: {listed}"
    )


def _conference_action(d: Data) -> str:
    what = d.get("commitment_code") or d.get("referral_kind") or "check-in"
    plan = f" in {d['participant_id']}'s plan" if d.get("participant_id") else ""
    return (
        f"conference {_g(d, 'conference_id')} agreed action {short(d.get('action_id'))}: "
        f"{_g(d, 'kind')} ({what}) by {_g(d, 'assignee_id')}{plan}"
    )


def _conference_cancelled(d: Data) -> str:
    by = f" by {d['cancelled_by_id']}" if d.get("cancelled_by_id") else ""
    cause = f", cause event {short(d['cause_event_id'])}" if d.get("cause_event_id") else ""
    return f"conference {_g(d, 'conference_id')} cancelled{by}: {_g(d, 'cause')}{cause}"


CASEWORK: dict[str, Callable[[Data], str]] = {
    "ReferralRecorded": _words(
        "referral {referral_id:short} of {harmed_person_id} recorded: {source}, contact about "
        "{contact_about} by {contact_by}"
    ),
    "ReferralOutcomeRecorded": _words("referral {referral_id:short}: {outcome}"),
    "ResponsiblePersonOutcomeRecorded": _rp_outcome,
    # Letters and indirect messages: ids and states; their content stays sealed.
    "LetterDrafted": _letter_drafted,
    "LetterSubmitted": _words("letter {letter_id:short} submitted for the facilitator's review"),
    "LetterReturned": _words("letter {letter_id:short} returned to {author_id}: {reason}"),
    "LetterRevised": _words("letter {letter_id:short} revised by {author_id}"),
    "LetterApproved": _words("letter {letter_id:short} approved by the facilitator"),
    "LetterDelivered": _words("letter {letter_id:short} delivered to {recipient_id}"),
    "LetterKeptUnsent": _words("letter {letter_id:short} kept unsent, as its author chose"),
    "LetterDeliveryStopped": _delivery_stopped,
    # Case notes: who and what kind; the text and any attachment stay sealed.
    "CaseNoteWritten": _note_written,
    "CaseNoteRead": _note_read,
    "CaseNoteShared": _words("case note {note_id:short} shared with {with_id}"),
    # Meetings: when, how and with whom; the place and any note stay sealed.
    "MeetingArranged": _meeting_arranged,
    "MeetingAvailabilityGiven": _availability,
    "MeetingCancelled": _meeting_cancelled,
    # The survivor's own materials: ids and what happened to them; their text stays sealed.
    "MaterialWritten": _words("{kind} item {item_id:short} written by {owner_id}"),
    "MaterialRevised": _words("item {item_id:short} revised by {owner_id}"),
    "MaterialShared": _words("item {item_id:short} shared with the facilitator and team"),
    "MaterialUnshared": _words("item {item_id:short} taken back"),
    "MaterialOffered": _words(
        "item {item_id:short} offered to the responsible person as letter {letter_id:short} "
        "(session {session_id})"
    ),
    "MaterialRead": _words("item {item_id:short} read"),
    # Community team conferences: who, when, codes; the minutes stay sealed under her key.
    "ConferenceScheduled": _words(
        "conference {conference_id} scheduled from {starts_at} ({zone}), {cadence}"
    ),
    "ConferenceMemberInvited": _words(
        "{member_id} invited to conference {conference_id} as {member_role}"
    ),
    "ConferenceInvitationAnswered": _words(
        "the harmed person {answer} to {member_id} at conference {conference_id}"
    ),
    "ConferenceHeld": _conference_held,
    "ConferenceActionAgreed": _conference_action,
    "ConferenceCancelled": _conference_cancelled,
}
