"""For one internal event: what each partner agency receives, if anything. Pure: the grants,
the case's harmed person and the allowlist are given; nothing is read or written here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mend_events.contracts.catalog.consent import DataCategory

from mend_disclosure.domain.allowlist import HARMED_PERSON, Allowlist, minimise
from mend_disclosure.domain.grants import ShareGrant, covering


@dataclass(frozen=True, slots=True)
class Disclosure:
    agency: str
    grant: ShareGrant
    subject: str
    categories: tuple[DataCategory, ...]
    field_paths: tuple[str, ...]  # what was allowed (the ledger records these, never values)
    data: dict[str, Any]  # the minimised data


def subject_of(
    allowlist: Allowlist, event_type: str, data: Mapping[str, Any], harmed_person: str | None
) -> str | None:
    """The person an event concerns, whose grant decides; None when not known (yet)."""
    rule = allowlist.rule(event_type)
    if rule is None:
        return None
    if rule.subject == HARMED_PERSON:
        return harmed_person
    value = data.get(rule.subject)
    return value if isinstance(value, str) else None


def disclosures(
    allowlist: Allowlist,
    *,
    event_type: str,
    case_id: str,
    occurred_at: datetime,
    data: Mapping[str, Any],
    harmed_person: str | None,
    grants: list[ShareGrant],
) -> list[Disclosure]:
    """One disclosure per agency whose current grant (as of the event's occurred_at) covers the
    event, minimised to the allowlisted fields of the categories that grant names."""
    rule = allowlist.rule(event_type)
    subject = subject_of(allowlist, event_type, data, harmed_person)
    if rule is None or subject is None:
        return []
    covers = covering(
        grants,
        case_id=case_id,
        subject=subject,
        event_type=event_type,
        at=occurred_at,
        categories=rule.categories,
    )
    out = []
    for agency in sorted(covers):
        cover = covers[agency]
        paths = rule.paths_for(cover.categories)
        out.append(
            Disclosure(
                agency=agency,
                grant=cover.grant,
                subject=subject,
                categories=tuple(sorted(cover.categories)),
                field_paths=paths,
                data=minimise(data, paths),
            )
        )
    return out
