"""The harmed person's own materials: questions she wants answered ("why me?"), an impact
statement, what she wants the responsible person to hear. Hers: written and revised by her,
shown to the facilitator item by item by her decision, and to the responsible person only as
a letter of a running written session, through the facilitator's review (the letters' own
mechanism: `offer` drafts and submits that letter). She takes an item back at any time before
it is delivered; every opening of an item is recorded."""

from __future__ import annotations

from dataclasses import dataclass

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import (
    LetterKeptUnsent,
    LetterSubmitted,
    MaterialOffered,
    MaterialRead,
    MaterialRevised,
    MaterialShared,
    MaterialUnshared,
    MaterialWritten,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions import commands as c
from mend_sessions.domain import letters
from mend_sessions.domain.guards import harmed_person_only, require_open
from mend_sessions.domain.state import CaseState, LetterStatus, Material


@dataclass(frozen=True, slots=True)
class WithText:
    """An offer with the item's latest text, opened by the application layer under the owner's
    key: the letter made of it is sealed again under the same key."""

    command: c.OfferMaterial
    text: str | None


def find_material(state: CaseState, item_id: str) -> Material:
    item = state.materials.get(item_id)
    if item is None:
        raise NotFound(f"no item {item_id} in this case", field="item_id")
    return item


def _owner_only(state: CaseState, item: Material, ctx: CommandContext, doing: str) -> None:
    if ctx.actor.id != item.owner_id or ctx.actor.role != Role.HARMED_PERSON:
        raise Forbidden(f"only the item's owner may {doing}")
    require_open(state)


def delivered(state: CaseState, item: Material) -> bool:
    letter = state.letters.get(item.letter_id or "")
    return letter is not None and letter.status == LetterStatus.DELIVERED


def write(state: CaseState, cmd: c.WriteMaterial, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    harmed_person_only(state, ctx, "write her own materials")
    if cmd.item_id in state.materials:
        raise Rejected("this item id is already used: write with a new id", field="item_id")
    return [
        MaterialWritten(item_id=cmd.item_id, kind=cmd.kind, owner_id=ctx.actor.id,
                        content=cmd.content)
    ]  # fmt: skip


def revise(state: CaseState, cmd: c.ReviseMaterial, ctx: CommandContext) -> list[DomainEvent]:
    item = find_material(state, cmd.item_id)
    _owner_only(state, item, ctx, "revise it")
    if item.letter_id is not None and not _taken_back(state, item):
        # The letter made of it is what the facilitator reviews: it is revised as a letter.
        raise Rejected("this item waits as a letter: take it back first", field="item_id")
    return [MaterialRevised(item_id=item.id, owner_id=item.owner_id, content=cmd.content)]


def share(state: CaseState, cmd: c.ShareMaterial, ctx: CommandContext) -> list[DomainEvent]:
    item = find_material(state, cmd.item_id)
    _owner_only(state, item, ctx, "share it")
    return [] if item.shared else [MaterialShared(item_id=item.id)]


def unshare(state: CaseState, cmd: c.UnshareMaterial, ctx: CommandContext) -> list[DomainEvent]:
    """Taken back from the facilitator; a letter made of it not yet delivered is kept unsent
    (the author's unsent-letter decision, in the letters' own event)."""
    item = find_material(state, cmd.item_id)
    _owner_only(state, item, ctx, "take it back")
    if delivered(state, item):
        raise Rejected("this item was delivered: it cannot be taken back", field="item_id")
    letter = state.letters.get(item.letter_id or "")
    kept = [LetterKeptUnsent(letter_id=letter.id)] if letter and letter.pending else []
    if not item.shared and not kept:
        return []
    return [MaterialUnshared(item_id=item.id), *kept]


def _taken_back(state: CaseState, item: Material) -> bool:
    letter = state.letters.get(item.letter_id or "")
    return letter is None or not (letter.pending or letter.status == LetterStatus.DELIVERED)


def offer(state: CaseState, wrapped: WithText, ctx: CommandContext) -> list[DomainEvent]:
    """To the responsible person: as a letter of a running written session, submitted for the
    facilitator's review at once (shared with them by the same decision)."""
    cmd = wrapped.command
    item = find_material(state, cmd.item_id)
    _owner_only(state, item, ctx, "offer it")
    if item.letter_id is not None and not _taken_back(state, item):
        raise Rejected("this item already waits as a letter or was delivered", field="item_id")
    if wrapped.text is None:
        raise Rejected("this item's text is no longer readable", field="item_id")
    draft = c.DraftLetter(letter_id=cmd.letter_id, session_id=cmd.session_id,
                          content=wrapped.text)  # fmt: skip
    drafted = letters.draft(state, draft, ctx)
    [letter] = drafted
    if getattr(letter, "recipient_id", None) is None:
        raise Rejected("an item reaches the responsible person only in a session with them",
                       field="session_id")  # fmt: skip
    offered = MaterialOffered(item_id=item.id, letter_id=cmd.letter_id, session_id=cmd.session_id)
    shared = [] if item.shared else [MaterialShared(item_id=item.id)]
    submitted = LetterSubmitted(letter_id=cmd.letter_id)
    return [*shared, offered, *drafted, submitted]


def read(state: CaseState, cmd: c.RecordMaterialRead, ctx: CommandContext) -> list[DomainEvent]:
    """Recorded before anything is shown, every time: by the owner, or by a practitioner of the
    case (the policy: the allocated team) while it is shared with them."""
    item = find_material(state, cmd.item_id)
    actor = ctx.actor
    if actor.id != item.owner_id and not (actor.role == Role.PRACTITIONER and item.shared):
        raise Forbidden("this item is not shared with you")
    return [MaterialRead(item_id=item.id)]
