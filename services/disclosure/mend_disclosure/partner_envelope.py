"""STAND-IN for `mend_events.sharing.envelope` (built in parallel by another branch): the same
signatures, so the gateway swaps to it at merge by changing one import. This stand-in writes
the CloudEvent (structured JSON, `dataschema`, the data-classification extension) and signs it
with Ed25519 over the DSSE pre-authentication encoding; it does NOT encrypt personal fields
(HPKE): it refuses any, and the gateway passes none until the real envelope lands."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PAYLOAD_TYPE = "application/cloudevents+json"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


class ShareSigner:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = "mend-share-" + _b64(raw)[:12]

    @classmethod
    def from_private_key(cls, raw: bytes) -> ShareSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def from_env(cls) -> ShareSigner:
        """`MEND_SHARE_SIGNING_KEY` (32 raw bytes, base64url); a fresh key when unset (dev)."""
        raw = os.environ.get("MEND_SHARE_SIGNING_KEY")
        if not raw:
            return cls(Ed25519PrivateKey.generate())
        return cls.from_private_key(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))

    def public_jwk(self) -> dict[str, str]:
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "kid": self.key_id, "x": _b64(raw)}

    def sign(self, payload: bytes) -> str:
        return _b64(self._key.sign(pae(PAYLOAD_TYPE, payload)))


def verify(jwk: dict[str, str], message: bytes) -> dict[str, Any]:
    """The CloudEvent of a signed message, if the signature holds (InvalidSignature if not)."""
    envelope = json.loads(message)
    payload = base64.urlsafe_b64decode(envelope["payload"] + "==")
    x = base64.urlsafe_b64decode(jwk["x"] + "==")
    sig = base64.urlsafe_b64decode(envelope["signatures"][0]["sig"] + "==")
    Ed25519PublicKey.from_public_bytes(x).verify(sig, pae(envelope["payloadType"], payload))
    return json.loads(payload)


def _signed(event: dict[str, Any], signer: ShareSigner) -> bytes:
    payload = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return json.dumps(
        {
            "payloadType": PAYLOAD_TYPE,
            "payload": _b64(payload),
            "signatures": [{"keyid": signer.key_id, "sig": signer.sign(payload)}],
        },
        sort_keys=True,
    ).encode()


def seal_for_partner(
    *,
    event_id: str,
    event_type: str,
    source: str,
    subject: str,
    time: datetime,
    data: dict[str, Any],
    personal: dict[str, str],
    categories: list[str],
    recipient: str,
    recipient_public_key: bytes,
    signer: ShareSigner,
) -> bytes:
    if personal:
        raise ValueError("the stand-in envelope encrypts nothing: no personal fields")
    del recipient_public_key  # the real envelope encrypts `personal` to it
    event = {
        "specversion": "1.0",
        "id": event_id,
        "type": f"org.mend.share.{event_type}",
        "source": source,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "dataschema": f"urn:mend:share:{event_type}:v1",
        "dataclassification": "restricted",
        "dataregulation": "gdpr",
        "datacategory": ",".join(categories),
        "recipient": recipient,
        "data": data,
    }
    return _signed(event, signer)


def notice_for_partner(
    *,
    kind: Literal["withdrawal", "erasure"],
    event_id: str,
    source: str,
    subject: str,
    time: datetime,
    data: dict[str, Any],
    recipient: str,
    signer: ShareSigner,
) -> bytes:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "type": f"org.mend.share.notice.{kind}",
        "source": source,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "dataschema": f"urn:mend:share:notice:{kind}:v1",
        "dataclassification": "restricted",
        "dataregulation": "gdpr",
        "recipient": recipient,
        "data": data,
    }
    return _signed(event, signer)
