"""Mend's signing key for what partners receive (Ed25519), published as a JWKS.

The key id is the RFC 7638 JWK thumbprint (RFC 8037 for OKP keys): SHA-256 over the JSON of the
required members `crv`, `kty`, `x` in that order without whitespace, base64url without padding.
A partner computes it from the published key itself, so a key id cannot be claimed for a key.

`MEND_SHARE_SIGNING_KEY`: base64 of the 32 raw bytes of the Ed25519 private key. Without it the
key is derived (HKDF) from `MEND_MASTER_KEY`, whose default is the development master key;
`MEND_ENV=production` refuses that default, as the agency key-encryption keys do.
`MEND_SHARE_PUBLISHED_KEYS`: a JSON list of base64 raw Ed25519 public keys published beside the
signing key (rotation: the next key before it signs, the previous one while messages signed
with it may still be in flight).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mend_events.app.config import MendSettings
from mend_events.security.crypto.cipher import DEV_MASTER_KEY, CryptoError, _hkdf


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def okp_jwk(public_key: bytes) -> dict[str, str]:
    """The public JWK of a raw Ed25519 key, with its thumbprint as `kid`."""
    required = {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key)}
    return {**required, "kid": thumbprint(required), "alg": "EdDSA", "use": "sig"}


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638: the required members only, lexicographic order, no whitespace."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest())


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class ShareSigner:
    """Signs DSSE payloads for partners; `jwks()` is what Mend publishes for them."""

    def __init__(self, private_key: Ed25519PrivateKey, *, published: Sequence[bytes] = ()) -> None:
        self._key = private_key
        self._public = _raw_public(private_key.public_key())
        self._published = [bytes(p) for p in published if bytes(p) != self._public]
        for raw in self._published:
            if len(raw) != 32:
                raise CryptoError("a published share key is not 32 raw Ed25519 bytes")

    @classmethod
    def from_private_key(cls, raw: bytes, *, published: Sequence[bytes] = ()) -> ShareSigner:
        if len(raw) != 32:
            raise CryptoError("the share signing key is not 32 raw Ed25519 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw), published=published)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ShareSigner:
        config = MendSettings.load(environ)
        published = [
            _b64(item, "MEND_SHARE_PUBLISHED_KEYS")
            for item in _json_list(config.share_published_keys)
        ]
        if config.share_signing_key is not None:
            return cls.from_private_key(
                _b64(config.share_signing_key.get_secret_value(), "MEND_SHARE_SIGNING_KEY"),
                published=published,
            )
        master = DEV_MASTER_KEY
        if config.master_key is not None:
            master = _b64(config.master_key.get_secret_value(), "MEND_MASTER_KEY")
        if master == DEV_MASTER_KEY and config.production:
            raise CryptoError(
                "MEND_ENV=production without MEND_SHARE_SIGNING_KEY or MEND_MASTER_KEY: refusing "
                "the development share signing key"
            )
        seed = _hkdf(master, salt=b"mend/share-signing/v1", info=b"ed25519")
        return cls.from_private_key(seed, published=published)

    @property
    def key_id(self) -> str:
        return thumbprint(okp_jwk(self._public))

    def public_jwk(self) -> dict[str, Any]:
        return okp_jwk(self._public)

    def jwks(self) -> dict[str, Any]:
        """The signing key first, then the other published keys (rotation overlap)."""
        return {"keys": [okp_jwk(self._public), *(okp_jwk(raw) for raw in self._published)]}

    def sign(self, payload_to_sign: bytes) -> tuple[str, bytes]:
        """(key id, Ed25519 signature) over DSSE's PAE bytes."""
        return self.key_id, self._key.sign(payload_to_sign)

    def __repr__(self) -> str:  # never the key
        return f"ShareSigner(key_id={self.key_id!r})"


def _b64(value: Any, variable: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise CryptoError(f"{variable} is not base64") from exc


def _json_list(raw: str | None) -> list[Any]:
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CryptoError("MEND_SHARE_PUBLISHED_KEYS is not a JSON list") from exc
    if not isinstance(parsed, list):
        raise CryptoError("MEND_SHARE_PUBLISHED_KEYS is not a JSON list")
    return parsed
