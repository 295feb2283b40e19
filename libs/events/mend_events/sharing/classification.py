"""The data-classification attributes of what a partner receives, and the check a partner makes.

CloudEvents data-classification extension (cloudevents/spec extensions/data-classification.md):
`dataclassification` is REQUIRED (recommended labels public, internal, confidential, restricted),
`dataregulation` a comma-delimited list without internal spaces (the spec's examples are
upper case: `GDPR`, `HIPAA`), `datacategory` the category within that regulation (for GDPR
personal data: non-sensitive, standard, sensitive, special-category). A consumer unsure how to
interpret any of them MUST reject the event, so the verifier knows a closed set of values and
refuses everything else.

Everything Mend shares is about restorative justice after sexual harm: information about a
person's sex life, health and alleged offences, so every Mend category maps to GDPR's
`special-category` (art. 9; the offence data of art. 10 is handled at least as strictly). The
table is kept anyway, so that a category added to the grants is mapped here on purpose and a
category nobody mapped is refused at sealing time rather than shared under a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CLASSIFICATION = "restricted"
REGULATION = "GDPR"

KNOWN_CLASSIFICATIONS = frozenset({CLASSIFICATION})
KNOWN_REGULATIONS = frozenset({"GDPR", "UK-GDPR"})
# The spec's GDPR labels, least to most sensitive: the strictest of an event's categories wins.
GDPR_CATEGORIES = ("non-sensitive", "standard", "sensitive", "special-category")

# Mend's own data categories (a share grant's `categories`) -> the spec's GDPR label.
CATEGORY_LABELS: Mapping[str, str] = {
    "case_progress": "special-category",
    "session_outcomes": "special-category",
    "safety_concerns": "special-category",
    "aftercare": "special-category",
    "statements": "special-category",
}
# A notice (withdrawal, erasure) says that a person of a sexual-harm case shared data.
NOTICE_CATEGORY = "special-category"


class ClassificationError(ValueError):
    """An attribute value this consumer cannot interpret (never quoting the value)."""


def datacategory_for(categories: Iterable[str]) -> str:
    """The spec's `datacategory` for an event carrying these Mend categories (the strictest)."""
    labels = []
    for category in categories:
        label = CATEGORY_LABELS.get(category)
        if label is None:
            raise ClassificationError("a category has no data-classification mapping")
        labels.append(label)
    if not labels:
        raise ClassificationError("an event is shared under at least one category")
    return max(labels, key=GDPR_CATEGORIES.index)


def mend_categories_attribute(categories: Iterable[str]) -> str:
    """`mendcategories`: Mend's own categories, sorted, comma-delimited."""
    return ",".join(sorted(set(categories)))


def check(attributes: Mapping[str, object], *, notice: bool) -> tuple[str, ...]:
    """Refuse anything unknown (the extension's MUST); return Mend's categories."""
    if attributes.get("dataclassification") not in KNOWN_CLASSIFICATIONS:
        raise ClassificationError("dataclassification")
    regulation = attributes.get("dataregulation")
    if not isinstance(regulation, str):
        raise ClassificationError("dataregulation")
    # Spaces around an entry are ignored (the spec); every entry must be one this consumer knows.
    entries = [entry.strip() for entry in regulation.split(",")]
    if any(entry not in KNOWN_REGULATIONS for entry in entries):
        raise ClassificationError("dataregulation")
    if attributes.get("datacategory") not in GDPR_CATEGORIES:
        raise ClassificationError("datacategory")
    raw = attributes.get("mendcategories")
    if raw is None:
        if not notice:
            raise ClassificationError("mendcategories")
        return ()
    if not isinstance(raw, str):
        raise ClassificationError("mendcategories")
    categories = tuple(raw.split(","))
    if any(category not in CATEGORY_LABELS for category in categories):
        raise ClassificationError("mendcategories")
    if attributes["datacategory"] != datacategory_for(categories):
        raise ClassificationError("datacategory")
    return categories
