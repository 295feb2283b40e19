"""The share grants as the gateway knows them (a projection of the consent events), and the one
question asked of them: which grant, if any, lets an event reach an agency. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from mend_events.contracts.catalog.consent import DataCategory, ShareTerms


class GrantEnd(StrEnum):
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    INVALIDATED = "invalidated"
    ERASED = "erased"  # the person's data was erased: nothing of them is shared from then on


@dataclass(frozen=True, slots=True)
class ShareGrant:
    grant_id: UUID
    grant_version: int  # the consent stream's version of the ConsentGiven that made it
    case_id: str
    participant_id: str
    agency: str
    terms: ShareTerms | None  # None: a share grant given before terms existed, shares nothing
    given_at: datetime
    ended_at: datetime | None = None
    ended_by: GrantEnd | None = None

    def in_force_at(self, at: datetime) -> bool:
        # Once the person's data is erased nothing of them leaves, even what happened before
        # and is still held: a partner must not receive it after the erasure notice.
        if self.ended_by is GrantEnd.ERASED:
            return False
        return self.given_at <= at and (self.ended_at is None or at < self.ended_at)

    def lets_through(
        self, event_type: str, at: datetime, categories: frozenset[DataCategory]
    ) -> frozenset[DataCategory]:
        """The categories of an event of `event_type`, occurred at `at`, this grant lets
        through: empty when it does not cover the event at all."""
        if self.terms is None or not self.in_force_at(at) or not self.terms.covers(event_type, at):
            return frozenset()
        return categories & frozenset(self.terms.categories)


@dataclass(frozen=True, slots=True)
class Cover:
    """A grant that lets an event through to its agency, and what of it."""

    grant: ShareGrant
    categories: frozenset[DataCategory]


def covering(
    grants: list[ShareGrant],
    *,
    case_id: str,
    subject: str,
    event_type: str,
    at: datetime,
    categories: frozenset[DataCategory],
) -> dict[str, Cover]:
    """Per agency, the subject's grant of this case that covers the event (the one letting the
    most categories through; ties: the earliest given, then the lowest id, so the choice is
    deterministic). An agency with no covering grant is absent."""
    best: dict[str, Cover] = {}
    for g in sorted(grants, key=lambda g: (g.given_at, str(g.grant_id))):
        if g.case_id != case_id or g.participant_id != subject:
            continue
        through = g.lets_through(event_type, at, categories)
        if not through:
            continue
        held = best.get(g.agency)
        if held is None or len(through) > len(held.categories):
            best[g.agency] = Cover(g, through)
    return best
