"""Field encryption and crypto-shredding for personal data in events (R7, R8).

- Each personal field of an event (`DomainEvent.personal_fields`) is stored as AES-256-GCM
  ciphertext (`contracts.Sealed`) under a random 256-bit *data key* of the person it is about
  (`personal_owner`, else the acting person). A case id may own a key too (joint notes).
- A data key is identified by its key id (`kid`) and stored only wrapped (AES-256-GCM) by its
  agency's key-encryption key (KEK), in its own table `data_keys`, apart from the events.
- The associated data binds a ciphertext to agency, stream id, event id, event type, schema
  version and field name, so a ciphertext copied into another event, field or agency fails.
- Erasure (`FieldSealer.shred`) destroys the person's wrapped keys and records when: every field
  sealed under them then opens as `None`, while the stored bytes (and the hash chain) are unchanged.
  No process keeps an unwrapped key beyond the call that used it, so a shred by any process is
  seen by every other one at its next read (see `FieldSealer`). The erasure request that leads
  here is `mend_events.security.erasure`.

Nonces are synthetic: HMAC of (associated data, plaintext) under a key derived from the data key.
Sealing the same text for the same event and field gives the same bytes (a retried append is
byte-identical, so idempotency and hash chains are unaffected); different inputs get unrelated
96-bit nonces, the same collision bound as random nonces.

Agency KEKs come from `MEND_AGENCY_KEYS` (JSON {agency: base64 of 32 bytes}). Without it they are
derived per agency with HKDF from `MEND_MASTER_KEY` (base64, >= 32 bytes) whose default is a fixed
DEVELOPMENT-ONLY value; `MEND_ENV=production` refuses that default.

Modules: `cipher` (associated data, encodings, errors), `agency_keys` (KEKs), `key_store` (where
wrapped data keys live), `wrapping` (a data key wrapped and unwrapped), `sealer` (`FieldSealer`:
seal, open, shred).
"""

from mend_events.security.crypto.agency_keys import AgencyKeys
from mend_events.security.crypto.cipher import (
    DEV_MASTER_KEY,
    CryptoError,
    DecryptionFailed,
    UnknownKey,
    field_associated_data,
    is_sealed,
)
from mend_events.security.crypto.key_store import (
    DATA_KEYS_DDL,
    DataKeyRecord,
    InMemoryKeyStore,
    KeyStore,
    PgKeyStore,
    data_keys_ddl,
)
from mend_events.security.crypto.sealer import FieldSealer

__all__ = [
    "DATA_KEYS_DDL",
    "DEV_MASTER_KEY",
    "AgencyKeys",
    "CryptoError",
    "DataKeyRecord",
    "DecryptionFailed",
    "FieldSealer",
    "InMemoryKeyStore",
    "KeyStore",
    "PgKeyStore",
    "UnknownKey",
    "data_keys_ddl",
    "field_associated_data",
    "is_sealed",
]
