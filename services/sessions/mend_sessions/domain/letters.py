"""Letters and indirect (shuttle) messages: drafted by a party of a written session, reviewed by
its facilitator (returned with a reason, or approved), then delivered to the other party or kept
unsent by the author's decision. A halted session stops every letter of it not yet delivered
(R2, R3): `stopped` is called by each decision that halts a session, with the halt's cause."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import (
    HaltCause,
    LetterApproved,
    LetterDelivered,
    LetterDeliveryStopped,
    LetterDrafted,
    LetterKeptUnsent,
    LetterReturned,
    LetterRevised,
    LetterSubmitted,
    ParticipantRole,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.guards import facilitator_only, find_session, require_open
from mend_sessions.domain.state import CaseState, Letter, LetterStatus, Session, SessionStatus

# The forms whose contact is written: a letter exchange, shuttle messages, a letter never sent.
WRITTEN_FORMS = frozenset({ContactForm.LETTER, ContactForm.INDIRECT, ContactForm.UNSENT_LETTER})
_PARTIES = (ParticipantRole.HARMED_PERSON, ParticipantRole.RESPONSIBLE_PERSON)


def find_letter(state: CaseState, letter_id: str) -> Letter:
    letter = state.letters.get(letter_id)
    if letter is None:
        raise NotFound(f"no letter {letter_id} in this case", field="letter_id")
    return letter


def _author_only(letter: Letter, ctx: CommandContext, doing: str) -> None:
    if ctx.actor.id != letter.author_id or ctx.actor.role == Role.PRACTITIONER:
        raise Forbidden(f"only the letter's author may {doing}")


def _recipient(session: Session, author_id: str) -> str | None:
    """The other party of the session; none in a session without them (a letter never sent)."""
    author = next(p for p in session.participants if p.id == author_id)
    other = next(
        (p.id for p in session.participants if p.role != author.role and p.role in _PARTIES), None
    )
    return None if session.form == ContactForm.UNSENT_LETTER else other


def draft(state: CaseState, cmd: c.DraftLetter, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    session = find_session(state, cmd.session_id)
    if session.form not in WRITTEN_FORMS:
        raise Rejected(
            "letters belong to a letter, shuttle or unsent-letter session", field="session_id"
        )
    mine = [p for p in session.participants if p.id == ctx.actor.id and p.role in _PARTIES]
    if not mine or str(ctx.actor.role) != str(mine[0].role):
        raise Forbidden("only a party taking part in this session writes its letters")
    if not session.active:
        raise Rejected(
            "this session was halted or completed: nothing more is written in it",
            field="session_id",
        )
    if cmd.letter_id in state.letters:
        raise Rejected("this letter id is already used: draft with a new id", field="letter_id")
    if cmd.reply_to is not None:
        answered = state.letters.get(cmd.reply_to)
        if (
            answered is None
            or answered.status != LetterStatus.DELIVERED
            or (answered.recipient_id != ctx.actor.id)
        ):
            raise Rejected("a reply answers a letter delivered to its author", field="reply_to")
    return [
        LetterDrafted(
            letter_id=cmd.letter_id,
            session_id=session.id,
            author_id=ctx.actor.id,
            recipient_id=_recipient(session, ctx.actor.id),
            reply_to=cmd.reply_to,
            content=cmd.content,
        )
    ]


def revise(state: CaseState, cmd: c.ReviseLetter, ctx: CommandContext) -> list[DomainEvent]:
    letter = find_letter(state, cmd.letter_id)
    _author_only(letter, ctx, "revise it")
    if letter.status not in (LetterStatus.DRAFT, LetterStatus.RETURNED):
        raise Rejected(
            f"only a draft or a returned letter is revised; this one is {letter.status}",
            field="letter_id",
        )
    return [LetterRevised(letter_id=letter.id, author_id=letter.author_id, content=cmd.content)]


def submit(state: CaseState, cmd: c.SubmitLetter, ctx: CommandContext) -> list[DomainEvent]:
    letter = find_letter(state, cmd.letter_id)
    _author_only(letter, ctx, "submit it")
    if letter.status == LetterStatus.SUBMITTED:
        return []
    if letter.status != LetterStatus.DRAFT:
        raise Rejected(
            f"only a draft is submitted for review; this one is {letter.status}"
            + (": revise it first" if letter.status == LetterStatus.RETURNED else ""),
            field="letter_id",
        )
    return [LetterSubmitted(letter_id=letter.id)]


def _reviewing(state: CaseState, letter: Letter, ctx: CommandContext, doing: str) -> bool:
    """True when the letter waits for review; False when the decision was already taken."""
    facilitator_only(find_session(state, letter.session_id), ctx, doing)
    if letter.status == LetterStatus.SUBMITTED:
        return True
    return False


def return_(state: CaseState, cmd: c.ReturnLetter, ctx: CommandContext) -> list[DomainEvent]:
    letter = find_letter(state, cmd.letter_id)
    if not _reviewing(state, letter, ctx, "return a letter of it"):
        if letter.status == LetterStatus.RETURNED and letter.returned_for == cmd.reason:
            return []
        raise Rejected(
            f"only a submitted letter is returned; this one is {letter.status}", field="letter_id"
        )
    return [
        LetterReturned(
            letter_id=letter.id, author_id=letter.author_id, reason=cmd.reason, note=cmd.note
        )
    ]


def approve(state: CaseState, cmd: c.ApproveLetter, ctx: CommandContext) -> list[DomainEvent]:
    letter = find_letter(state, cmd.letter_id)
    if not _reviewing(state, letter, ctx, "approve a letter of it"):
        if letter.status == LetterStatus.APPROVED:
            return []
        raise Rejected(
            f"only a submitted letter is approved; this one is {letter.status}", field="letter_id"
        )
    return [LetterApproved(letter_id=letter.id)]


def deliver(state: CaseState, cmd: c.DeliverLetter, ctx: CommandContext) -> list[DomainEvent]:
    """The author sends an approved letter. Only while its session runs: starting it passed
    every contact gate (R4), and a withdrawal or halt since then has stopped the letter."""
    letter = find_letter(state, cmd.letter_id)
    _author_only(letter, ctx, "send it")
    if letter.status == LetterStatus.DELIVERED:
        return []
    require_open(state)
    if letter.recipient_id is None:
        raise Rejected("a letter of an unsent-letter session is never delivered", field="letter_id")
    if letter.status != LetterStatus.APPROVED:
        raise Rejected(
            f"only an approved letter is delivered; this one is {letter.status}", field="letter_id"
        )
    if state.paused:
        raise Rejected("the case is paused: nothing is delivered until it resumes")
    if state.sessions[letter.session_id].status != SessionStatus.RUNNING:
        raise Rejected(
            "the letter's session has not started: it passes every gate first", field="letter_id"
        )
    return [LetterDelivered(letter_id=letter.id, recipient_id=letter.recipient_id)]


def keep(state: CaseState, cmd: c.KeepLetterUnsent, ctx: CommandContext) -> list[DomainEvent]:
    letter = find_letter(state, cmd.letter_id)
    _author_only(letter, ctx, "decide to keep it unsent")
    if letter.status == LetterStatus.KEPT_UNSENT:
        return []
    if not letter.pending:
        raise Rejected(
            f"this letter is {letter.status}: it can no longer be kept unsent", field="letter_id"
        )
    return [LetterKeptUnsent(letter_id=letter.id)]


def stopped(
    state: CaseState, sessions: Iterable[Session], cause: HaltCause, because: UUID | None
) -> list[DomainEvent]:
    """Every letter not yet delivered in the sessions being halted, stopped with the halt's
    cause: each once, since a stopped letter is no longer pending."""
    halted = {s.id for s in sessions}
    return [
        LetterDeliveryStopped(
            letter_id=letter.id, session_id=letter.session_id, cause=cause, cause_event_id=because
        )
        for letter in sorted(state.letters.values(), key=lambda x: x.id)
        if letter.session_id in halted and letter.pending
    ]
