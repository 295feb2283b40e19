#!/usr/bin/env python3
"""A partner agency's consumer of its Mend share topic: read, verify, open, print.

Mend writes what a partner agency may receive to the Kafka topic `mend.share.v1.<agency>`, one
CloudEvent (structured JSON) per message. This program is a small, complete example of how a
partner reads it. It depends only on aiokafka, cryptography and the standard library (not on
Mend's own packages, which a partner does not have), so the checks are written out in full:

1. The message is a signed CloudEvent. The `dssematerial` attribute (CloudEvents verifiability
   extension) is a DSSE envelope; one of its signatures must verify with a key from Mend's
   published JWKS, over PAE(payloadType, payload). The key id is the key's RFC 7638 thumbprint,
   recomputed here, so a JWKS entry cannot claim another key's id.
2. The signed payload holds SHA-256 digests of the core attributes and data (`core`) and of the
   extension attributes (`ext`, names in `signedextattrs`); both are recomputed from the event
   and must match. An extension attribute that is present but not signed is refused.
3. The classification (CloudEvents data-classification extension) must be one this consumer
   knows how to handle: `dataclassification`, every entry of `dataregulation`, `datacategory`
   and Mend's `mendcategories`. Anything unknown is refused, as the extension requires.
4. `mendrecipient` must be this agency.
5. Each field named in `mendsealed` is HPKE-sealed (RFC 9180 base mode, DHKEM(X25519,
   HKDF-SHA256), HKDF-SHA256, AES-128-GCM) to this agency's X25519 key; it is opened with the
   agency's private key, `info` binding agency, event id and field path.
A refused message is reported (stderr) and skipped, never half-used. See docs/sharing.md.

Run it (the values come from Mend's operator; the password stays in a file):

    python partner_consumer.py --bootstrap kafka.mend.example:9093 --tls \\
        --agency police-north --user police-north --password-file ./kafka-password \\
        --jwks https://mend.example/.well-known/mend-share-jwks.json \\
        --private-key ./police-north-x25519.pem
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

PAYLOAD_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"
CORE = ("id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time")
TYPE_PREFIX = "org.mend.share.v1."
NOTICES = {"WithdrawalNotice": "withdrawal", "ErasureNotice": "erasure"}
# What this consumer knows how to handle; everything else is refused.
CLASSIFICATIONS = {"restricted"}
REGULATIONS = {"GDPR", "UK-GDPR"}
DATACATEGORIES = {"non-sensitive", "standard", "sensitive", "special-category"}
SHARE_CATEGORIES = {
    "case_progress", "session_outcomes", "safety_concerns", "aftercare", "statements"
}  # fmt: skip
REQUIRED_SIGNED = {"dataclassification", "dataregulation", "datacategory", "mendrecipient"}
KNOWN_EXTENSIONS = REQUIRED_SIGNED | {"mendcategories", "mendsealed"}
HPKE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)


class Rejected(Exception):
    """Discard the message and report it (the reason never quotes the message)."""


# --- Mend's published keys --------------------------------------------------------------------


def b64(value: Any) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    if not isinstance(value, str):
        raise Rejected("a base64 value is missing")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Rejected("a value is not base64") from exc


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 for an OKP key: SHA-256 of {"crv","kty","x"} in that order, compact."""
    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    digest = hashlib.sha256(members.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class MendKeys:
    """Mend's JWKS from a file or an https URL; fetched again (at most once a minute) when a
    message names a key id it does not hold yet, which is how a key rotation reaches you."""

    def __init__(self, source: str | dict[str, Any], *, refresh_after: float = 60.0) -> None:
        self._source = source
        self._refresh_after = refresh_after
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched = 0.0
        self.refresh()

    def refresh(self) -> None:
        source = self._source
        if isinstance(source, dict):
            jwks = source
        elif source.startswith("https://"):
            with urllib.request.urlopen(source, timeout=10) as response:
                jwks = json.load(response)
        else:
            jwks = json.loads(Path(source).read_text())
        keys = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue
            kid = thumbprint(jwk)
            if jwk.get("kid", kid) == kid:  # a kid that is not the thumbprint is not believed
                keys[kid] = Ed25519PublicKey.from_public_bytes(b64(jwk["x"]))
        self._keys, self._fetched = keys, time.monotonic()

    def get(self, kid: str) -> Ed25519PublicKey | None:
        if kid not in self._keys and time.monotonic() - self._fetched >= self._refresh_after:
            self.refresh()
        return self._keys.get(kid)


# --- verification -----------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def canonical(value: Any) -> bytes:
    """The bytes of the JSON data that Mend hashes: sorted keys, compact, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def time_in_seconds(value: str) -> str:
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def core_digest(event: dict[str, Any]) -> bytes:
    parts = []
    for name in CORE:
        value = event.get(name)
        if value is None:
            parts.append(sha256(b""))
        elif name == "time":
            parts.append(sha256(time_in_seconds(value).encode()))
        else:
            parts.append(sha256(value.encode()))
    parts.append(sha256(canonical(event["data"])))
    return sha256(b"".join(parts))


def ext_digest(event: dict[str, Any], names: list[str]) -> bytes:
    return sha256(b"".join(sha256(str(event.get(name, "")).encode()) for name in names))


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def check_signature(event: dict[str, Any], keys: MendKeys) -> tuple[str, dict[str, Any]]:
    """Steps 1-2: a trusted signature over the material, and the material matches the event."""
    if "dssematerial" not in event:
        raise Rejected("unsigned: Mend signs every message it shares")
    try:
        envelope = json.loads(b64(event["dssematerial"]).decode())
        payload = b64(envelope["payload"])
        material = json.loads(payload)
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected("corrupted dssematerial") from exc
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise Rejected("unknown verification payload type")
    signed_by = None
    for signature in envelope.get("signatures", []):
        key = keys.get(str(signature.get("keyid")))
        if key is None:
            continue
        try:
            key.verify(b64(signature.get("sig")), pae(PAYLOAD_TYPE, payload))
        except InvalidSignature:
            continue
        signed_by = signature["keyid"]
        break
    if signed_by is None:
        raise Rejected("no signature by Mend's published keys verifies")
    names = material.get("signedextattrs")
    if (
        not isinstance(names, list)
        or "ext" not in material
        or len(set(names)) != len(names)
        or any(n in CORE or n == "dssematerial" for n in names)
    ):
        raise Rejected("invalid signedextattrs")
    if not hmac.compare_digest(core_digest(event), b64(material.get("core"))):
        raise Rejected("the core attributes or the data were changed")
    present = set(event) - {*CORE, "data", "dssematerial"}
    if not (REQUIRED_SIGNED <= set(names) and present <= set(names) <= KNOWN_EXTENSIONS):
        raise Rejected("an extension attribute is not signed, or not one this consumer knows")
    if not hmac.compare_digest(ext_digest(event, names), b64(material["ext"])):
        raise Rejected("an extension attribute was changed")
    return signed_by, material


def check_classification(event: dict[str, Any], notice: bool) -> list[str]:
    """Step 3: refuse any classification, regulation or category this consumer does not know."""
    if event["dataclassification"] not in CLASSIFICATIONS:
        raise Rejected("unknown dataclassification")
    if any(r.strip() not in REGULATIONS for r in event["dataregulation"].split(",")):
        raise Rejected("unknown dataregulation")
    if event["datacategory"] not in DATACATEGORIES:
        raise Rejected("unknown datacategory")
    categories = event["mendcategories"].split(",") if "mendcategories" in event else []
    if (not categories and not notice) or any(c not in SHARE_CATEGORIES for c in categories):
        raise Rejected("unknown or missing mendcategories")
    return categories


def open_field(
    sealed: Any, private_key: X25519PrivateKey, agency: str, event_id: str, path: str
) -> str:
    """Step 5: HPKE open; `info` binds the agency, the event and the field's path."""
    if not isinstance(sealed, dict) or set(sealed) != {"enc", "ct"}:
        raise Rejected("a sealed field is not {enc, ct}")
    info = json.dumps(["mend.share.v1", agency, event_id, path], separators=(",", ":"))
    try:
        plain = HPKE.decrypt(b64(sealed["enc"]) + b64(sealed["ct"]), private_key, info.encode())
    except (InvalidTag, ValueError) as exc:
        raise Rejected("a sealed field does not open with this agency's key") from exc
    return plain.decode()


def verify(message: bytes, keys: MendKeys, private_key: X25519PrivateKey, agency: str) -> dict:
    """Every check, in order; returns the event's type, subject and fields (opened). Whatever
    the bytes, the answer is that or `Rejected`: a hostile message cannot stop the consumer."""
    try:
        return _verify(message, keys, private_key, agency)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise Rejected("malformed") from exc


def _verify(message: bytes, keys: MendKeys, private_key: X25519PrivateKey, agency: str) -> dict:
    try:
        event = json.loads(message)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected("not JSON") from exc
    if not isinstance(event, dict) or event.get("specversion") != "1.0":
        raise Rejected("not a CloudEvent 1.0")
    if not all(isinstance(event.get(n), str) and event[n] for n in CORE):
        raise Rejected("a core attribute is missing")
    if not isinstance(event.get("data"), dict) or not event["type"].startswith(TYPE_PREFIX):
        raise Rejected("not a Mend share event")
    try:  # Mend sends time as UTC whole seconds, the form the signature covers; nothing else
        exact_time = time_in_seconds(event["time"]) == event["time"]
    except ValueError:
        exact_time = False
    if not exact_time:
        raise Rejected("time is not RFC 3339 UTC in whole seconds")
    key_id, _ = check_signature(event, keys)
    event_type = event["type"][len(TYPE_PREFIX) :]
    categories = check_classification(event, notice=event_type in NOTICES)
    if event["mendrecipient"] != agency:
        raise Rejected("addressed to another agency")
    fields = json.loads(json.dumps(event["data"]))
    for path in event["mendsealed"].split(",") if "mendsealed" in event else []:
        *parents, leaf = path.split(".")
        node = fields
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise Rejected("a sealed field is missing")
        node[leaf] = open_field(node[leaf], private_key, agency, event["id"], path)
    return {
        "kind": NOTICES.get(event_type, "event"),
        "type": event_type,
        "id": event["id"],
        "subject": event["subject"],
        "time": event["time"],
        "dataschema": event["dataschema"],
        "categories": categories,
        "key_id": key_id,
        "fields": fields,
    }


# --- the consumer -----------------------------------------------------------------------------


def load_private_key(path: str) -> X25519PrivateKey:
    """PEM (PKCS#8) or base64 of the 32 raw bytes."""
    raw = Path(path).read_bytes()
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = load_pem_private_key(raw, password=None)
        if not isinstance(key, X25519PrivateKey):
            raise SystemExit("the private key is not an X25519 key")
        return key
    return X25519PrivateKey.from_private_bytes(b64(raw.decode().strip()))


def raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


async def consume(
    *,
    bootstrap: str,
    topic: str,
    group: str,
    user: str,
    password: str,
    keys: MendKeys,
    private_key: X25519PrivateKey,
    agency: str,
    on_event: Callable[[dict], Awaitable[None] | None],
    on_rejected: Callable[[str, int, int, str], Awaitable[None] | None],
    mechanism: str = "SCRAM-SHA-512",
    tls: bool = False,
    max_messages: int | None = None,
) -> None:
    """Read `topic` as `user` in consumer group `group` (it must start with your agency's group
    prefix: the broker refuses any other), verify and open each message, and hand it on.
    Offsets are committed after a message is handled or reported, so nothing is skipped."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        security_protocol="SASL_SSL" if tls else "SASL_PLAINTEXT",
        ssl_context=create_ssl_context() if tls else None,
        sasl_mechanism=mechanism,
        sasl_plain_username=user,
        sasl_plain_password=password,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen = 0
        async for record in consumer:
            try:
                outcome = on_event(verify(record.value or b"", keys, private_key, agency))
            except Rejected as refused:
                outcome = on_rejected(record.topic, record.partition, record.offset, str(refused))
            if asyncio.iscoroutine(outcome):
                await outcome
            await consumer.commit()
            seen += 1
            if max_messages is not None and seen >= max_messages:
                return
    finally:
        await consumer.stop()


def print_event(event: dict) -> None:
    # A demonstration: a real integration stores the opened fields under its own controls.
    print(f"{event['time']} {event['type']} subject={event['subject']} kind={event['kind']}")
    for name, value in sorted(event["fields"].items()):
        print(f"    {name}: {json.dumps(value, ensure_ascii=False)}")


def print_rejected(topic: str, partition: int, offset: int, reason: str) -> None:
    print(f"REJECTED {topic}[{partition}]@{offset}: {reason}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--agency", required=True, help="your agency id, e.g. police-north")
    parser.add_argument("--user", help="your Kafka user (default: the agency id)")
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--mechanism", default="SCRAM-SHA-512")
    parser.add_argument("--tls", action="store_true", help="SASL_SSL (always, outside a lab)")
    parser.add_argument("--topic", help="default: mend.share.v1.<agency>")
    parser.add_argument("--group", help="default: <agency>.partner-consumer")
    parser.add_argument("--jwks", required=True, help="Mend's JWKS: an https URL or a file")
    parser.add_argument("--private-key", required=True, help="your X25519 key (PEM or base64)")
    args = parser.parse_args(argv)
    asyncio.run(
        consume(
            bootstrap=args.bootstrap,
            topic=args.topic or f"mend.share.v1.{args.agency}",
            group=args.group or f"{args.agency}.partner-consumer",
            user=args.user or args.agency,
            password=Path(args.password_file).read_text().strip(),
            mechanism=args.mechanism,
            tls=args.tls,
            keys=MendKeys(args.jwks),
            private_key=load_private_key(args.private_key),
            agency=args.agency,
            on_event=print_event,
            on_rejected=print_rejected,
        )
    )


if __name__ == "__main__":
    main()
