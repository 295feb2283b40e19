"""DEVELOPMENT AND TEST ONLY: per-agency Ed25519 signing keys on disk, and tokens signed with them.

In production an agency's identity provider holds its private key and Mend sees only the public
key (`identity.py`). Here, `ensure_agency_keys` writes `<agency>.key.pem` (mode 0600) and
`<agency>.pub.pem` into the keys directory (default `<repo>/.mend/keys`, or `MEND_KEYS_DIR`), and
`issue_token` signs a token the services accept.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mend_events.contracts.actors import Role
from mend_events.security.identity import AUDIENCE
from mend_events.security.public_keys import default_keys_dir

__all__ = ["ensure_agency_keys", "issue_token", "private_key_path", "public_key_path"]

_AGENCY_RE = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


# The key id under which a test publishes an agency's development key at the hub, and with which
# the `token` fixture signs: so a service that learns the agency's keys from the hub's events
# verifies the tests' tokens by the same rule as the hub's own.
DEV_KID = "dev"


def _dir(keys_dir: Path | str | None) -> Path:
    return Path(keys_dir) if keys_dir is not None else default_keys_dir()


def _check_agency(agency: str) -> None:
    if not _AGENCY_RE.match(agency):
        raise ValueError(f"invalid agency id {agency!r}")


def private_key_path(agency: str, keys_dir: Path | str | None = None) -> Path:
    _check_agency(agency)
    return _dir(keys_dir) / f"{agency}.key.pem"


def public_pem(agency: str, keys_dir: Path | str | None = None) -> str:
    """The agency's development public key (created if missing), PEM."""
    return ensure_agency_keys(agency, keys_dir).read_text()


def public_key_path(agency: str, keys_dir: Path | str | None = None) -> Path:
    _check_agency(agency)
    return _dir(keys_dir) / f"{agency}.pub.pem"


def ensure_agency_keys(agency: str, keys_dir: Path | str | None = None) -> Path:
    """Create the agency's Ed25519 key pair unless present; returns the public key's path."""
    directory = _dir(keys_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = private_key_path(agency, directory)
    public_path = public_key_path(agency, directory)
    if private_path.exists():
        if not public_path.exists():
            key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
            _write_public(public_path, key.public_key())  # type: ignore[arg-type]
        return public_path
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # Created 0600 from the start: the private key is never readable by others, even briefly.
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return ensure_agency_keys(agency, directory)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(private_path, 0o600)  # in case a umask or filesystem widened it
    _write_public(public_path, key.public_key())
    return public_path


def _write_public(path: Path, key: ed25519.Ed25519PublicKey) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(pem)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def issue_token(
    agency: str,
    role: Role | str,
    person_id: str,
    ttl: int = 3600,
    keys_dir: Path | str | None = None,
    *,
    now: int | None = None,
    audience: str = AUDIENCE,
    extra_claims: Mapping[str, Any] | None = None,
    kid: str | None = None,
    private_key: Any = None,
) -> str:
    """A token for `person_id` acting as `role` in `agency`, signed with the agency's dev key
    (created if missing), or with `private_key` and its key id `kid` as the hub signs them.
    `now`, `audience` and `extra_claims` let tests craft bad tokens. A practitioner's cases are
    never in a token: they are allocated through the hub's events."""
    if private_key is None:
        ensure_agency_keys(agency, keys_dir)
        private_key = serialization.load_pem_private_key(
            private_key_path(agency, keys_dir).read_bytes(), password=None
        )
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": agency,
        "sub": person_id,
        "role": str(Role(role)),
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl,
    }
    if extra_claims:
        claims.update(extra_claims)
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers=headers)
