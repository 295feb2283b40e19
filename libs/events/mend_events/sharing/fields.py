"""Disclosed personal fields, sealed for the recipient agency alone (HPKE, RFC 9180).

Base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, to the agency's X25519 public
key, through `cryptography`'s single-shot `hpke.Suite`. That API takes `info` and no `aad`
(RFC 9180 section 8.1: single-shot applications put their auxiliary authenticated data in
`info`), so `info` binds all of it: the scheme, the recipient agency, the event id and the
field's path. A ciphertext copied into another field, event or agency's copy does not open.
Each sealed field is `{"enc": base64 of the 32-byte encapsulated key, "ct": base64}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
ENC_BYTES = 32  # X25519's encapsulated key


class FieldSealError(ValueError):
    """A sealed field that does not open for this recipient (never says more)."""


def info(recipient: str, event_id: str, path: str) -> bytes:
    return json.dumps(["mend.share.v1", recipient, event_id, path], separators=(",", ":")).encode()


def seal(
    plaintext: str, *, public_key: bytes, recipient: str, event_id: str, path: str
) -> dict[str, str]:
    if len(public_key) != 32:
        raise ValueError("the recipient's public key is not 32 raw X25519 bytes")
    sealed = SUITE.encrypt(
        plaintext.encode("utf-8"),
        X25519PublicKey.from_public_bytes(public_key),
        info=info(recipient, event_id, path),
    )
    return {
        "enc": base64.b64encode(sealed[:ENC_BYTES]).decode(),
        "ct": base64.b64encode(sealed[ENC_BYTES:]).decode(),
    }


def open_sealed(
    sealed: Any, *, private_key: bytes, recipient: str, event_id: str, path: str
) -> str:
    if not isinstance(sealed, dict) or set(sealed) != {"enc", "ct"}:
        raise FieldSealError("a sealed field is not {enc, ct}")
    try:
        enc = base64.b64decode(sealed["enc"], validate=True)
        ct = base64.b64decode(sealed["ct"], validate=True)
        key = X25519PrivateKey.from_private_bytes(private_key)
        plain = SUITE.decrypt(enc + ct, key, info=info(recipient, event_id, path))
        return plain.decode("utf-8")
    except (binascii.Error, TypeError, ValueError, InvalidTag, UnicodeDecodeError) as exc:
        raise FieldSealError("a sealed field does not open with this key") from exc
