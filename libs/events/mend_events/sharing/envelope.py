"""What a partner agency receives, and how it checks it (issue 18).

Each disclosure is one CloudEvent 1.0 in structured JSON mode (attribute by attribute in
docs/sharing.md): the core attributes with `dataschema`, the data-classification extension
(`classification.py`), Mend's own `mendcategories`, `mendrecipient` and `mendsealed` (the paths
of the personal fields sealed for the recipient, `fields.py`), and `dssematerial`, the
verifiability extension's DSSE envelope signed with Mend's Ed25519 key (`dsse.py`,
`signer.py`), covering the core attributes, the data and every extension attribute.
`verify_and_open` is the partner's side; examples/partner_consumer.py is the same check written
out without Mend's packages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import mend_events.contracts.catalog  # noqa: F401  (registers every event type)
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.events import registry
from mend_events.sharing import classification, dsse, fields
from mend_events.sharing.opening import PartnerEvent, ShareRejected, verify_and_open
from mend_events.sharing.signer import ShareSigner

__all__ = [
    "PartnerEvent",
    "ShareRejected",
    "ShareSigner",
    "notice_for_partner",
    "seal_for_partner",
    "verify_and_open",
]

TYPE_PREFIX = "org.mend.share.v1."
NOTICE_TYPES = {"withdrawal": "WithdrawalNotice", "erasure": "ErasureNotice"}
AGENCY = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
SUBJECT = re.compile(PSEUDO_ID_PATTERN)
FIELD_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
# Mend's internal sealed form of a personal field (contracts.Sealed): never sent to a partner.
INTERNAL_SEALED = frozenset({"kid", "iv", "ct"})
# Signed in this order whenever present (`ext` of the verification material).
EXTENSIONS = (
    "dataclassification",
    "dataregulation",
    "datacategory",
    "mendcategories",
    "mendrecipient",
    "mendsealed",
)


def seal_for_partner(
    *,
    event_id: str,
    event_type: str,
    source: str,
    subject: str,
    time: datetime,
    data: dict,
    personal: dict[str, str],
    categories: list[str],
    recipient: str,
    recipient_public_key: bytes,
    signer: ShareSigner,
) -> bytes:
    """The message for `recipient`: `data` already minimised to what its grant allows (the
    gateway decides its shape), `personal` (field path -> plaintext) sealed to the recipient's
    X25519 key at that path, all signed.

    A personal field leaves Mend only sealed for the recipient: a key of `data`, at any depth,
    named as one of the event type's personal fields must be null (its text goes in
    `personal`), nothing in `data` may be Mend's own sealed form of a field, and each path of
    `personal` ends in one of the event's personal fields (e.g. `note`, `event.note`)."""
    if not registry.knows(event_type):
        raise ValueError("not an event type of Mend's catalogue")
    model = registry.model(event_type)
    _refuse_personal_in_clear(data, frozenset(model.personal_fields))
    for path in personal:
        if not FIELD_PATH.match(path) or path.rsplit(".", 1)[-1] not in model.personal_fields:
            raise ValueError("a path in personal does not name one of the event's personal fields")
    body = _copy(data)
    sealed = sorted(personal)
    for path in sealed:
        box = fields.seal(
            personal[path],
            public_key=recipient_public_key,
            recipient=recipient,
            event_id=event_id,
            path=path,
        )
        _put(body, path, box)
    attributes = {
        "type": TYPE_PREFIX + event_type,
        "dataschema": f"urn:mend:event:{event_type}:v{model.schema_version}",
        "datacategory": classification.datacategory_for(categories),
        "mendcategories": classification.mend_categories_attribute(categories),
        "mendsealed": ",".join(sealed) or None,
    }
    return _signed(event_id, source, subject, time, recipient, attributes, body, signer)


def notice_for_partner(
    *,
    kind: Literal["withdrawal", "erasure"],
    notice_id: str,
    source: str,
    subject: str,
    time: datetime,
    data: dict,
    recipient: str,
    signer: ShareSigner,
) -> bytes:
    """A withdrawal or erasure notice: the partner stops using, or erases, what it received."""
    name = NOTICE_TYPES.get(kind)
    if name is None:
        raise ValueError("a notice is a withdrawal or an erasure")
    attributes = {
        "type": TYPE_PREFIX + name,
        "dataschema": f"urn:mend:share:{name}:v1",
        "datacategory": classification.NOTICE_CATEGORY,
    }
    return _signed(notice_id, source, subject, time, recipient, attributes, _copy(data), signer)


def _signed(
    event_id: str,
    source: str,
    subject: str,
    time: datetime,
    recipient: str,
    attributes: Mapping[str, str | None],
    data: dict[str, Any],
    signer: ShareSigner,
) -> bytes:
    if not event_id or not source:
        raise ValueError("an event id and a source are required")
    if not SUBJECT.match(subject):
        raise ValueError("the subject is not a pseudonymous id")
    if not AGENCY.match(recipient):
        raise ValueError("the recipient is not an agency id")
    if time.tzinfo is None:
        raise ValueError("time must carry its timezone")
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "subject": subject,
        # Whole seconds: the signature covers time at second precision (the spec), so nothing
        # finer is sent that a verifier could not vouch for.
        "time": dsse.rfc3339_seconds(time),
        "datacontenttype": "application/json",
        "dataclassification": classification.CLASSIFICATION,
        "dataregulation": classification.REGULATION,
        "mendrecipient": recipient,
    }
    event.update({k: v for k, v in attributes.items() if v is not None})
    signed = [name for name in EXTENSIONS if name in event]
    payload = dsse.material(event, dsse.canonical_json(data), signed)
    event[dsse.MATERIAL_ATTRIBUTE] = dsse.envelope(
        payload, [signer.sign(dsse.pae(dsse.PAYLOAD_TYPE, payload))]
    )
    event["data"] = data
    return dsse.canonical_json(event)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError("shared data holds JSON values only (no floats, dates or objects)")


def _refuse_personal_in_clear(value: Any, personal_names: frozenset[str]) -> None:
    if isinstance(value, Mapping):
        if INTERNAL_SEALED <= set(value):
            raise ValueError("data holds a field in Mend's internal sealed form")
        for key, item in value.items():
            if key in personal_names and item is not None:
                raise ValueError("a personal field is in the plain data: it is shared only sealed")
            _refuse_personal_in_clear(item, personal_names)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_personal_in_clear(item, personal_names)


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for name in parents:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise ValueError("a personal field path runs through a value")
    if node.get(leaf) is not None:
        raise ValueError("a personal field is also in the plain data")
    node[leaf] = value
