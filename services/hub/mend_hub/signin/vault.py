"""Sign-in secrets at rest, under the agency's key-encryption key (KEK, `AgencyKeys`):

- `seal`/`open`: AES-256-GCM under a key derived (HKDF) from the agency's KEK for one purpose
  (a TOTP secret, an Ed25519 signing key), the associated data binding agency, purpose and owner,
  so a sealed value copied to another row, person or agency does not open.
- `lookup`: HMAC-SHA-256 of a login name under a key derived from the KEK, so the table finds an
  account by its login name without holding the name: login names are personal data.
- `token_digest`: SHA-256 of a random token (refresh token, activation code, challenge); those are
  high-entropy, so a fast hash suffices and the table never holds one usable value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from mend_events.errors import Unavailable
from mend_events.security.crypto import AgencyKeys

_NONCE = 12


def _derive(kek: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"mend/signin/v1", info=purpose.encode()
    ).derive(kek)


def _ad(agency: str, purpose: str, owner: str) -> bytes:
    return "\x00".join(("mend/signin/sealed/v1", agency, purpose, owner)).encode()


def normalise_login(name: str) -> str:
    """The form a login name is compared in: NFKC, case-folded, outer spaces dropped."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class Vault:
    def __init__(self, keys: AgencyKeys) -> None:
        self._keys = keys

    def seal(self, agency: str, purpose: str, owner: str, secret: bytes) -> bytes:
        key = _derive(self._keys.kek(agency), purpose)
        nonce = secrets.token_bytes(_NONCE)
        return nonce + AESGCM(key).encrypt(nonce, secret, _ad(agency, purpose, owner))

    def open(self, agency: str, purpose: str, owner: str, sealed: bytes) -> bytes:
        key = _derive(self._keys.kek(agency), purpose)
        try:
            return AESGCM(key).decrypt(
                sealed[:_NONCE], sealed[_NONCE:], _ad(agency, purpose, owner)
            )
        except InvalidTag:
            # A rotated KEK without re-wrapping, or a row tampered with: never a client's fault.
            raise Unavailable("a sign-in secret does not open under the agency's key") from None

    def lookup(self, agency: str, login: str) -> bytes:
        key = _derive(self._keys.kek(agency), "login-name")
        return hmac.new(key, normalise_login(login).encode("utf-8"), hashlib.sha256).digest()
