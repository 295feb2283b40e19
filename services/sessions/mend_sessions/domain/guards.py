"""Who may act within a case: the checks every decision starts with (pure)."""

from __future__ import annotations

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions.domain.state import CaseState, CaseStatus, Session


def is_harmed_person(state: CaseState, ctx: CommandContext) -> bool:
    return ctx.actor.role == Role.HARMED_PERSON and ctx.actor.id == state.harmed_person_id


def harmed_person_only(state: CaseState, ctx: CommandContext, doing: str) -> None:
    if not is_harmed_person(state, ctx):
        raise Forbidden(f"only the harmed person may {doing}")


def practitioner_only(ctx: CommandContext, doing: str) -> None:
    if ctx.actor.role != Role.PRACTITIONER:
        raise Forbidden(f"only a practitioner may {doing}")


def facilitator_only(session: Session, ctx: CommandContext, doing: str) -> None:
    if ctx.actor.role != Role.PRACTITIONER or ctx.actor.id != session.facilitator_id:
        raise Forbidden(f"only the session's facilitator may {doing}")


def require_open(state: CaseState) -> None:
    if state.status == CaseStatus.CLOSED:
        raise Rejected("the case is closed")
    if state.status != CaseStatus.OPEN:
        raise NotFound("no open case with this id")


def find_session(state: CaseState, session_id: str) -> Session:
    session = state.sessions.get(session_id)
    if session is None:
        raise NotFound(f"no session {session_id} in this case", field="session_id")
    return session
