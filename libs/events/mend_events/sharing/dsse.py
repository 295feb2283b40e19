"""The CloudEvents verifiability extension (`dssematerial`) over DSSE v1.0.2.

cloudevents/spec extensions/verifiability.md: the producer hashes the core attributes and the
data (`core`), and the values of the extension attributes it chooses to sign (`ext`, named in
`signedextattrs`), wraps that JSON in a DSSE envelope of payloadType
`https://cloudevents.io/verifiability/dsse/v0.1`, signs PAE(payloadType, payload) and carries
the envelope, base64, in the `dssematerial` attribute (type Binary: base64 in the JSON format).

`data` is hashed as bytes. Mend's data is JSON carried inside the structured event, so its bytes
are defined as its canonical form: keys sorted, no insignificant whitespace, UTF-8, no floats
(RFC 8785 for the values Mend uses); a verifier re-serialises the parsed data the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

PAYLOAD_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"
CORE_ATTRIBUTES = (
    "id",
    "source",
    "specversion",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
)
MATERIAL_ATTRIBUTE = "dssematerial"


class MaterialError(ValueError):
    """Verification material that is missing, corrupted or inconsistent (the event is dropped)."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is signed, never the JSON envelope itself."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def canonical_json(value: Any) -> bytes:
    """The bytes of JSON data that are hashed: sorted keys, compact, UTF-8."""
    _refuse_floats(value, "data")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _refuse_floats(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; shared data carries integers and strings only")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")


def rfc3339_seconds(value: str | datetime) -> str:
    """The spec's time normalisation: UTC, `Z`, whole seconds (a naive value counts as UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def core_digest(event: Mapping[str, Any], data: bytes) -> bytes:
    parts = []
    for name in CORE_ATTRIBUTES:
        value = event.get(name)
        if value is None:
            parts.append(_h(b""))
        elif name == "time":
            parts.append(_h(rfc3339_seconds(value).encode()))
        else:
            parts.append(_h(str(value).encode("utf-8")))
    parts.append(_h(data))
    return _h(b"".join(parts))


def ext_digest(event: Mapping[str, Any], names: Sequence[str]) -> bytes:
    """Mend's extension attributes are all Strings (canonical form: their UTF-8 bytes)."""
    parts = []
    for name in names:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            raise MaterialError("a signed extension attribute is not a String")
        parts.append(_h((value or "").encode("utf-8")))
    return _h(b"".join(parts))


def check_signed_names(names: Any) -> tuple[str, ...]:
    """The spec's constraints on `signedextattrs` (signer refuses, verifier discards)."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise MaterialError("signedextattrs is not a list of names")
    if len(set(names)) != len(names):
        raise MaterialError("signedextattrs repeats a name")
    if any(n in CORE_ATTRIBUTES or n == MATERIAL_ATTRIBUTE for n in names):
        raise MaterialError("signedextattrs names a core attribute or dssematerial")
    return tuple(names)


def material(event: Mapping[str, Any], data: bytes, signed: Sequence[str]) -> bytes:
    """VERIFICATION_MATERIAL (the DSSE payload) for an event and its data bytes."""
    body: dict[str, Any] = {"core": base64.b64encode(core_digest(event, data)).decode()}
    if signed:
        names = check_signed_names(list(signed))
        body["ext"] = base64.b64encode(ext_digest(event, names)).decode()
        body["signedextattrs"] = list(names)
    return json.dumps(body, separators=(",", ":")).encode()


def envelope(payload: bytes, signatures: Sequence[tuple[str, bytes]]) -> str:
    """The `dssematerial` value: base64 of the UTF-8 JSON DSSE envelope."""
    doc = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [
            {"keyid": keyid, "sig": base64.b64encode(sig).decode()} for keyid, sig in signatures
        ],
    }
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def b64decode(value: Any, what: str) -> bytes:
    """Either base64 alphabet, padded or not (DSSE verifiers MUST accept both alphabets)."""
    if not isinstance(value, str):
        raise MaterialError(f"{what} is not base64 text")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MaterialError(f"{what} is not base64") from exc


def parse(value: Any) -> tuple[bytes, list[tuple[str, bytes]], dict[str, Any]]:
    """Steps 2-6 of the spec's verification protocol: (payload, signatures, material)."""
    raw = b64decode(value, "dssematerial")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MaterialError("dssematerial is not a JSON DSSE envelope") from exc
    if not isinstance(doc, dict) or doc.get("payloadType") != PAYLOAD_TYPE:
        raise MaterialError("unknown DSSE payloadType")
    payload = b64decode(doc.get("payload"), "DSSE payload")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise MaterialError("DSSE envelope without signatures")
    signatures = []
    for sig in sigs:
        if not isinstance(sig, dict) or not isinstance(sig.get("keyid"), str):
            raise MaterialError("DSSE signature without keyid")
        signatures.append((sig["keyid"], b64decode(sig.get("sig"), "DSSE sig")))
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MaterialError("verification material is not JSON") from exc
    if not isinstance(body, dict) or len(b64decode(body.get("core"), "core")) != 32:
        raise MaterialError("verification material without a 32-byte core digest")
    if ("ext" in body) != ("signedextattrs" in body):
        raise MaterialError("ext and signedextattrs must come together")
    if "ext" in body:
        if len(b64decode(body["ext"], "ext")) != 32:
            raise MaterialError("ext is not a 32-byte digest")
        check_signed_names(body["signedextattrs"])
    return payload, signatures, body
