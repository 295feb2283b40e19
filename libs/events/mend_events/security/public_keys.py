"""The agencies' public keys that verify their tokens: given up front (`MEND_AGENCY_PUBLIC_KEYS`,
JSON {agency: PEM}) or read from `<agency>.pub.pem` in `MEND_KEYS_DIR` (default
`<repo>/.mend/keys`). Only Ed25519/Ed448, ECDSA and RSA keys of 2048 bits or more are taken."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mend_events.app.config import MendSettings
from mend_events.app.settings import json_object

AGENCY_RE = re.compile(r"^[a-z][a-z0-9-]{1,63}$")

PublicKey = (
    ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
)


def default_keys_dir() -> Path:
    """`MEND_KEYS_DIR`, else `<repo>/.mend/keys` (repo = three levels above this package)."""
    configured = MendSettings.load().keys_dir
    if configured:
        return configured
    return Path(__file__).resolve().parents[4] / ".mend" / "keys"


class PublicKeySource(Protocol):
    def public_key(self, agency: str) -> PublicKey | None: ...


def load_public_pem(pem: str | bytes, origin: str) -> PublicKey:
    try:
        key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise ValueError(f"{origin}: not a PEM public key") from exc
    if not isinstance(
        key,
        ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey
        | ec.EllipticCurvePublicKey
        | rsa.RSAPublicKey,
    ):
        raise ValueError(f"{origin}: unsupported public key type {type(key).__name__}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ValueError(f"{origin}: RSA keys below 2048 bits are refused")
    return key


class StaticKeys:
    """Public keys given up front: {agency: PEM or key object}."""

    def __init__(self, keys: Mapping[str, str | bytes | PublicKey]) -> None:
        self._keys: dict[str, PublicKey] = {}
        for agency, key in keys.items():
            if not AGENCY_RE.match(agency):
                raise ValueError(f"invalid agency id {agency!r}")
            self._keys[agency] = (
                load_public_pem(key, f"public key of {agency}")
                if isinstance(key, str | bytes)
                else key
            )

    def public_key(self, agency: str) -> PublicKey | None:
        return self._keys.get(agency)


class DirectoryKeys:
    """Public keys read from `<dir>/<agency>.pub.pem`, cached; a new agency's file is found on
    first use without restart."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, PublicKey] = {}
        self._lock = threading.Lock()

    def public_key(self, agency: str) -> PublicKey | None:
        if not AGENCY_RE.match(agency):  # also keeps path traversal out
            return None
        key = self._cache.get(agency)
        if key is not None:
            return key
        path = self.directory / f"{agency}.pub.pem"
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            return None
        key = load_public_pem(pem, str(path))
        with self._lock:
            self._cache[agency] = key
        return key


class DevelopmentKeysRefused(RuntimeError):
    """`MEND_ENV=production` with a development key source configured."""


def keys_from_env(environ: Mapping[str, str] | None = None) -> PublicKeySource:
    """The keys that verify agency-id tokens besides those the hub publishes (the trust
    model): `MEND_AGENCY_PUBLIC_KEYS`, else a key directory (`MEND_KEYS_DIR`, default
    `.mend/keys`). In production the development keys are refused: the default directory is
    never read, and a directory holding private halves (`<agency>.key.pem`, as the development
    tooling makes them beside the public ones: anyone on this machine could sign with them) stops
    the service; a directory of public halves only (an operator's secret mount) is taken."""
    config = MendSettings.load(environ)
    raw = config.agency_public_keys
    if raw:
        return StaticKeys(json_object(raw, "MEND_AGENCY_PUBLIC_KEYS", "{agency: PEM}"))
    directory = config.keys_dir
    if config.production:
        if not directory:
            return StaticKeys({})  # the hub's keys (the trust model) alone
        path = Path(directory)
        if path.resolve() == default_keys_dir().resolve() or any(path.glob("*.key.pem")):
            raise DevelopmentKeysRefused(
                "MEND_ENV=production refuses development token keys (MEND_KEYS_DIR holds private "
                "keys, or is .mend/keys); agencies' keys come from the hub (AgencyKeyAdded), "
                "MEND_AGENCY_PUBLIC_KEYS or a directory of public keys only"
            )
        return DirectoryKeys(path)
    return DirectoryKeys(Path(directory) if directory else default_keys_dir())
