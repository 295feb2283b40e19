"""Each agency's key-encryption key (KEK), which wraps its data keys."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

from mend_events.app.config import MendSettings
from mend_events.app.settings import json_object
from mend_events.security.crypto.cipher import (
    _KEY_BYTES,
    DEV_MASTER_KEY,
    CryptoError,
    _hkdf,
)


class AgencyKeys:
    """Per-agency key-encryption keys (KEKs): explicit ones, else HKDF from a master key."""

    def __init__(
        self,
        keys: Mapping[str, bytes] | None = None,
        *,
        master_key: bytes | None = None,
    ) -> None:
        for agency, kek in (keys or {}).items():
            if len(kek) != _KEY_BYTES:
                raise CryptoError(f"key-encryption key of agency {agency!r} is not 32 bytes")
        if master_key is not None and len(master_key) < _KEY_BYTES:
            raise CryptoError("master key must hold at least 32 bytes")
        self._keys = dict(keys or {})
        self._master = master_key
        self._derived: dict[str, bytes] = {}

    @property
    def uses_dev_master_key(self) -> bool:
        return self._master == DEV_MASTER_KEY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AgencyKeys:
        config = MendSettings.load(environ)
        keys: dict[str, bytes] = {}
        raw_keys = config.agency_keys.get_secret_value() if config.agency_keys else None
        if raw_keys:
            parsed = json_object(
                raw_keys, "MEND_AGENCY_KEYS", "{agency: base64 key}", error=CryptoError
            )
            for agency, b64 in parsed.items():
                try:
                    keys[agency] = base64.b64decode(b64, validate=True)
                except (binascii.Error, TypeError, ValueError) as exc:
                    raise CryptoError(f"MEND_AGENCY_KEYS[{agency!r}] is not base64") from exc
        raw_master = config.master_key.get_secret_value() if config.master_key else None
        master: bytes | None
        if raw_master:
            try:
                master = base64.b64decode(raw_master, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CryptoError("MEND_MASTER_KEY is not base64") from exc
        elif raw_keys:
            master = None  # explicit keys only: an unknown agency is an error, never derived
        else:
            master = DEV_MASTER_KEY
        if master == DEV_MASTER_KEY and config.production:
            raise CryptoError(
                "MEND_ENV=production without MEND_AGENCY_KEYS or MEND_MASTER_KEY: refusing the "
                "development master key"
            )
        return cls(keys, master_key=master)

    def kek(self, agency: str) -> bytes:
        explicit = self._keys.get(agency)
        if explicit is not None:
            return explicit
        derived = self._derived.get(agency)
        if derived is not None:
            return derived
        if self._master is None:
            raise CryptoError(f"no key-encryption key for agency {agency!r}")
        derived = _hkdf(self._master, salt=b"mend/agency-kek/v1", info=agency.encode("utf-8"))
        self._derived[agency] = derived
        return derived

    def kek_id(self, agency: str) -> str:
        """A fingerprint naming the KEK (stored with each wrapped key; shows a rotation)."""
        digest = hashlib.sha256(b"mend/kek-id/v1\x00" + self.kek(agency)).hexdigest()
        return f"kek-{digest[:16]}"
