"""SCRAM users made on the running broker by the administrator, for tests that sign in as a
principal the launcher did not create (a partner agency of one test). Kafka's
AlterUserScramCredentials request (API key 51, flexible from version 0), declared on aiokafka's
protocol types as mend_events.messaging.acls declares the ACL requests; the salted password is
RFC 5802's Hi(password, salt, iterations), as Kafka stores it."""

from __future__ import annotations

import hashlib
import os

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)
from mend_events.app.settings import KafkaAuth, kafka_options

SCRAM_SHA_512, ITERATIONS = 2, 4096

_RESPONSE = Schema(
    ("throttle_time_ms", Int32),
    (
        "results",
        CompactArray(
            ("user", CompactString("utf-8")),
            ("error_code", Int16),
            ("error_message", CompactString("utf-8")),
            ("tags", TaggedFields),
        ),
    ),
    ("tags", TaggedFields),
)
_REQUEST = Schema(
    (
        "deletions",
        CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)),
    ),
    (
        "upsertions",
        CompactArray(
            ("name", CompactString("utf-8")),
            ("mechanism", Int8),
            ("iterations", Int32),
            ("salt", CompactBytes),
            ("salted_password", CompactBytes),
            ("tags", TaggedFields),
        ),
    ),
    ("tags", TaggedFields),
)
_COMMON = {"__module__": __name__, "API_KEY": 51, "API_VERSION": 0}
_Answer = type("_AlterScramResponse_v0", (Response,), {**_COMMON, "SCHEMA": _RESPONSE})
_Struct = type(
    "_AlterScramRequest_v0",
    (RequestStruct,),
    {**_COMMON, "FLEXIBLE_VERSION": True, "RESPONSE_TYPE": _Answer, "SCHEMA": _REQUEST},
)


class _AlterScram(Request[_Struct]):  # type: ignore[valid-type]
    API_KEY = 51

    def __init__(self, users: dict[str, str]) -> None:
        self._users = users

    def build(self, request_struct_class):  # type: ignore[no-untyped-def]
        rows = []
        for name, password in self._users.items():
            salt = os.urandom(16)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            rows.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))
        return request_struct_class([], rows, {})


async def add_scram_users(bootstrap: str, users: dict[str, str], admin: KafkaAuth | None) -> None:
    """Create (or reset) `users` (name -> password) as the administrator `admin`."""
    client = AIOKafkaAdminClient(**kafka_options(bootstrap, admin))
    await client.start()
    try:
        response = await client._send_request(_AlterScram(users))
        failed = [r for r in response.results if r[1] != 0]
        if failed:
            raise RuntimeError(f"SCRAM users refused: error codes {sorted({r[1] for r in failed})}")
    finally:
        await client.close()
