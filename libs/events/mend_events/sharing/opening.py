"""The partner's side: verify a shared event against Mend's published keys, then open it.

In order (the verifiability extension's protocol, then the classification extension's rule):
1. the message is a CloudEvent 1.0 JSON object with a `dssematerial` (Mend signs every event it
   shares, so an unsigned one is a stripped one and is dropped);
2. a DSSE signature by a key of the trusted JWKS (key id = RFC 7638 thumbprint, computed
   here from the key, never taken from the JWKS's word) verifies over PAE(payloadType, payload);
3. the core digest (core attributes and data) and the ext digest (every extension attribute:
   one that is present and not signed is refused) match the event;
4. classification, regulation and categories are ones this consumer knows;
5. the event is addressed to this recipient;
6. each field named in `mendsealed` opens with the recipient's X25519 private key.
Any failure raises `ShareRejected` with a reason code, never a value from the message.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mend_events.sharing import classification, dsse, fields
from mend_events.sharing.signer import thumbprint

TYPE_PREFIX = "org.mend.share.v1."
NOTICE_KINDS = {"WithdrawalNotice": "withdrawal", "ErasureNotice": "erasure"}
REQUIRED_SIGNED = frozenset(
    {"dataclassification", "dataregulation", "datacategory", "mendrecipient"}
)
KNOWN_EXTENSIONS = REQUIRED_SIGNED | {"mendcategories", "mendsealed"}


class ShareRejected(Exception):
    """The message must be discarded (and reported); `reason` is a code: malformed, signature,
    tampered, classification, recipient, sealed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class PartnerEvent:
    kind: str  # "event", "withdrawal" or "erasure"
    event_type: str  # e.g. "ConsentGiven", "WithdrawalNotice"
    id: str
    source: str
    subject: str
    time: datetime
    dataschema: str
    dataclassification: str
    dataregulation: str
    datacategory: str
    categories: tuple[str, ...]
    recipient: str
    key_id: str
    # Personal fields opened in place; kept out of repr so a log line never prints them.
    data: dict[str, Any] = field(repr=False)
    personal: dict[str, str] = field(default_factory=dict, repr=False)  # path -> plaintext


def trusted_keys(jwks: Any) -> dict[str, Ed25519PublicKey]:
    """Ed25519 keys of a JWKS by their thumbprint (a `kid` that is not it is ignored)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in (jwks or {}).get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            raw = dsse.b64decode(jwk.get("x"), "x")
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (dsse.MaterialError, ValueError):
            continue
        kid = thumbprint(jwk)
        if jwk.get("kid", kid) == kid:
            keys[kid] = key
    return keys


def verify_and_open(
    message: bytes, *, trusted_jwks: dict, private_key: bytes, recipient: str
) -> PartnerEvent:
    try:
        event = json.loads(message)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShareRejected("malformed", "not JSON") from exc
    if not isinstance(event, dict) or event.get("specversion") != "1.0":
        raise ShareRejected("malformed", "not a CloudEvent 1.0")
    if not isinstance(event.get("data"), dict):
        raise ShareRejected("malformed", "data is not a JSON object")
    for name in dsse.CORE_ATTRIBUTES:
        if not isinstance(event.get(name), str) or not event[name]:
            raise ShareRejected("malformed", f"{name} missing")
    # The signature covers `time` normalised to UTC whole seconds; Mend sends it in exactly
    # that form, so any other spelling of the same instant is refused: every byte is covered.
    try:
        normal_time = dsse.rfc3339_seconds(event["time"]) == event["time"]
    except ValueError:
        normal_time = False
    if not normal_time:
        raise ShareRejected("malformed", "time is not RFC 3339 UTC in whole seconds")
    if dsse.MATERIAL_ATTRIBUTE not in event:
        raise ShareRejected("signature", "unsigned")
    try:
        payload, signatures, material = dsse.parse(event[dsse.MATERIAL_ATTRIBUTE])
    except dsse.MaterialError as exc:
        raise ShareRejected("signature", str(exc)) from exc
    key_id = _verified_by(trusted_keys(trusted_jwks), payload, signatures)
    try:
        data_bytes = dsse.canonical_json(event["data"])
        core = dsse.core_digest(event, data_bytes)
    except (TypeError, ValueError) as exc:
        raise ShareRejected("tampered", "core attributes or data") from exc
    if not hmac.compare_digest(core, dsse.b64decode(material["core"], "core")):
        raise ShareRejected("tampered", "core attributes or data")
    signed = tuple(material.get("signedextattrs", ()))
    present = set(event) - {*dsse.CORE_ATTRIBUTES, "data", dsse.MATERIAL_ATTRIBUTE}
    if not REQUIRED_SIGNED <= set(signed) or not present <= set(signed):
        raise ShareRejected("tampered", "an extension attribute is not signed")
    if not set(signed) <= KNOWN_EXTENSIONS:
        raise ShareRejected("classification", "an extension this consumer does not know")
    try:
        ext = dsse.ext_digest(event, signed)
    except dsse.MaterialError as exc:
        raise ShareRejected("tampered", str(exc)) from exc
    if not hmac.compare_digest(ext, dsse.b64decode(material["ext"], "ext")):
        raise ShareRejected("tampered", "extension attributes")
    return _open(event, key_id, private_key=private_key, recipient=recipient)


def _verified_by(
    keys: dict[str, Ed25519PublicKey], payload: bytes, signatures: list[tuple[str, bytes]]
) -> str:
    to_verify = dsse.pae(dsse.PAYLOAD_TYPE, payload)
    for keyid, sig in signatures:
        key = keys.get(keyid)
        if key is None:
            continue
        try:
            key.verify(sig, to_verify)
        except InvalidSignature:
            continue
        return keyid
    raise ShareRejected("signature", "no signature by a trusted key verifies")


def _open(
    event: dict[str, Any], key_id: str, *, private_key: bytes, recipient: str
) -> PartnerEvent:
    kind_type = event["type"]
    if not kind_type.startswith(TYPE_PREFIX):
        raise ShareRejected("malformed", "not a Mend share event type")
    event_type = kind_type[len(TYPE_PREFIX) :]
    kind = NOTICE_KINDS.get(event_type, "event")
    try:
        categories = classification.check(event, notice=kind != "event")
    except classification.ClassificationError as exc:
        raise ShareRejected("classification", str(exc)) from exc
    if event["mendrecipient"] != recipient:
        raise ShareRejected("recipient", "addressed to another agency")
    data = json.loads(json.dumps(event["data"]))
    personal: dict[str, str] = {}
    sealed = event.get("mendsealed")
    for path in sealed.split(",") if sealed else ():
        *parents, leaf = path.split(".")
        node: Any = data
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise ShareRejected("sealed", "a sealed field is missing")
        try:
            plain = fields.open_sealed(
                node[leaf],
                private_key=private_key,
                recipient=recipient,
                event_id=event["id"],
                path=path,
            )
        except fields.FieldSealError as exc:
            raise ShareRejected("sealed", str(exc)) from exc
        node[leaf] = plain
        personal[path] = plain
    return PartnerEvent(
        kind=kind,
        event_type=event_type,
        id=event["id"],
        source=event["source"],
        subject=event["subject"],
        time=datetime.fromisoformat(event["time"]),
        dataschema=event["dataschema"],
        dataclassification=event["dataclassification"],
        dataregulation=event["dataregulation"],
        datacategory=event["datacategory"],
        categories=categories,
        recipient=recipient,
        key_id=key_id,
        data=data,
        personal=personal,
    )
