from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

import pytest
from mend_events.contracts.events import DomainEvent, PersonalText, Sealed
from mend_events.security.crypto import (
    DATA_KEYS_DDL,
    DEV_MASTER_KEY,
    AgencyKeys,
    CryptoError,
    DecryptionFailed,
    FieldSealer,
    InMemoryKeyStore,
    PgKeyStore,
    UnknownKey,
    data_keys_ddl,
    is_sealed,
)

AGENCY = "agency-north"
STREAM = "case-9c1d2e4f"
SECRET = "She said the meeting on Elm Street frightened her"


class StatementRecorded(DomainEvent):
    """Personal text about the harmed person named in `about`, recorded by a practitioner."""

    event_type: ClassVar[str] = "StatementRecorded"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[tuple[str, ...]] = ("statement", "summary")
    personal_owner: ClassVar[str | None] = "about"

    about: str
    statement: PersonalText | None = None
    summary: PersonalText | None = None


class NoteAdded(DomainEvent):
    """Personal text of the acting person (no owner field)."""

    event_type: ClassVar[str] = "NoteAdded"
    personal_fields: ClassVar[tuple[str, ...]] = ("note",)

    note: PersonalText | None = None


def _keys() -> AgencyKeys:
    return AgencyKeys.from_env({})


def _sealer(store: InMemoryKeyStore | None = None, **kw) -> FieldSealer:
    return FieldSealer(store or InMemoryKeyStore(), _keys(), **kw)


async def _seal_statement(
    sealer: FieldSealer,
    event_id: UUID,
    text: str = SECRET,
    *,
    summary: str | None = None,
    agency: str = AGENCY,
    actor_id: str = "prac-77ab12",
) -> dict:
    event = StatementRecorded(about="hp-3f9a2c", statement=text, summary=summary)
    return await sealer.seal_event_data(
        event,
        event.to_data(),
        agency=agency,
        stream_id=STREAM,
        event_id=event_id,
        actor_id=actor_id,
    )


async def _open(
    sealer: FieldSealer,
    stored: dict,
    event_id: UUID,
    event: type[DomainEvent] = StatementRecorded,
    actor_id: str = "prac-77ab12",
) -> dict:
    return await sealer.open_event_data(
        stored,
        event_type=event.event_type,
        schema_version=event.schema_version,
        agency=AGENCY,
        stream_id=STREAM,
        event_id=event_id,
        actor_id=actor_id,
        personal_owner=event.personal_owner,
    )


def _ctx(event_id: UUID, /, **over) -> dict:
    ctx = dict(
        owner="hp-3f9a2c",
        agency=AGENCY,
        stream_id=STREAM,
        event_id=event_id,
        event_type="StatementRecorded",
        schema_version=2,
        field="statement",
    )
    ctx.update(over)
    return ctx


async def test_round_trip() -> None:
    sealer = _sealer()
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    assert is_sealed(stored["statement"])
    assert stored["summary"] is None
    assert stored["about"] == "hp-3f9a2c"
    Sealed.model_validate(stored["statement"])
    assert await sealer.open_field(stored["statement"], **_ctx(event_id)) == SECRET
    # a fresh sealer (cold cache) on the same store opens it too
    assert (
        await FieldSealer(sealer._store, _keys()).open_field(stored["statement"], **_ctx(event_id))
        == SECRET
    )


async def test_owner_is_actor_without_personal_owner() -> None:
    store = InMemoryKeyStore()
    sealer = _sealer(store)
    event_id = uuid4()
    event = NoteAdded(note="call me on Tuesday")
    stored = await sealer.seal_event_data(
        event,
        event.to_data(),
        agency=AGENCY,
        stream_id=STREAM,
        event_id=event_id,
        actor_id="hp-aaaa11",
    )
    [row] = store.rows.values()
    assert row.owner == "hp-aaaa11" and row.agency == AGENCY
    opened = await _open(sealer, stored, event_id, NoteAdded, actor_id="hp-aaaa11")
    assert opened == {"note": "call me on Tuesday"}


async def test_open_event_data_with_owner_field() -> None:
    sealer = _sealer()
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id, summary="short")
    assert stored["statement"]["kid"] == stored["summary"]["kid"]  # one key per person
    opened = await _open(sealer, stored, event_id)
    assert opened == {"about": "hp-3f9a2c", "statement": SECRET, "summary": "short"}


async def test_ciphertext_never_contains_plaintext() -> None:
    sealer = _sealer()
    stored = await _seal_statement(sealer, uuid4())
    dumped = json.dumps(stored)
    assert SECRET not in dumped
    for word in ("Elm Street", "frightened", "meeting"):
        assert word not in dumped
    raw = base64.urlsafe_b64decode(stored["statement"]["ct"] + "==")
    assert SECRET.encode() not in raw and b"Elm Street" not in raw
    # nor does the key store hold the data key in clear
    [row] = sealer._store.rows.values()
    assert len(row.wrapped) == 12 + 32 + 16


@pytest.mark.parametrize(
    "moved",
    [
        {"event_id": "other"},
        {"field": "summary"},
        {"agency": "agency-south"},
        {"stream_id": "case-00000000"},
        {"event_type": "NoteAdded"},
        {"schema_version": 1},
        {"owner": "hp-other1"},
    ],
)
async def test_moved_ciphertext_fails(moved: dict) -> None:
    sealer = _sealer()
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    if moved.get("event_id") == "other":
        moved = {"event_id": uuid4()}
    with pytest.raises(DecryptionFailed):
        await sealer.open_field(stored["statement"], **_ctx(event_id, **moved))
    # and with a cold cache (the key is unwrapped from the store)
    with pytest.raises(DecryptionFailed):
        await _sealer(sealer._store).open_field(stored["statement"], **_ctx(event_id, **moved))


async def test_tampered_ciphertext_fails() -> None:
    sealer = _sealer()
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    ct = bytearray(base64.urlsafe_b64decode(stored["statement"]["ct"] + "=="))
    ct[0] ^= 1
    bad = dict(stored["statement"], ct=base64.urlsafe_b64encode(bytes(ct)).decode().rstrip("="))
    with pytest.raises(DecryptionFailed):
        await sealer.open_field(bad, **_ctx(event_id))


async def test_wrapped_key_bound_to_owner_and_kek() -> None:
    store = InMemoryKeyStore()
    sealer = _sealer(store)
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    kid = stored["statement"]["kid"]
    # a wrapped key copied to another owner's row does not unwrap
    from dataclasses import replace

    store.rows[kid] = replace(store.rows[kid], owner="hp-other1")
    with pytest.raises(DecryptionFailed):
        await _sealer(store).open_field(stored["statement"], **_ctx(event_id, owner="hp-other1"))
    store.rows[kid] = replace(store.rows[kid], owner="hp-3f9a2c")
    # another KEK (other master key) cannot unwrap it
    other = AgencyKeys(master_key=b"x" * 32)
    with pytest.raises(DecryptionFailed):
        await FieldSealer(store, other).open_field(stored["statement"], **_ctx(event_id))


async def test_shred_makes_fields_unreadable_and_new_key_after() -> None:
    store = InMemoryKeyStore()
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    sealer = _sealer(store, clock=lambda: moment)
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    old_kid = stored["statement"]["kid"]
    assert await sealer.open_field(stored["statement"], **_ctx(event_id)) == SECRET  # cached

    assert await sealer.shred("hp-3f9a2c") == [old_kid]
    assert store.rows[old_kid].wrapped is None
    assert store.rows[old_kid].shredded_at == moment
    assert await sealer.open_field(stored["statement"], **_ctx(event_id)) is None
    assert await _sealer(store).open_field(stored["statement"], **_ctx(event_id)) is None
    opened = await _open(sealer, stored, event_id)
    assert opened["statement"] is None and opened["about"] == "hp-3f9a2c"

    later = uuid4()
    again = await _seal_statement(sealer, later, "new text")
    assert again["statement"]["kid"] != old_kid
    assert await sealer.open_field(again["statement"], **_ctx(later)) == "new text"
    assert await sealer.shred("hp-3f9a2c") == [again["statement"]["kid"]]
    assert await sealer.shred("hp-3f9a2c") == []


async def test_shred_in_another_process_is_seen_at_once(schema, app_pool) -> None:
    """Two processes' sealers on one schema: once one shreds, the other opens nothing more,
    on its very next read (it held the key warm just before), and seals under a fresh key."""
    reader = FieldSealer(PgKeyStore(app_pool, schema), _keys())
    shredder = FieldSealer(PgKeyStore(app_pool, schema), _keys())
    event_id = uuid4()
    stored = await _seal_statement(reader, event_id)
    assert await reader.open_field(stored["statement"], **_ctx(event_id)) == SECRET
    assert await shredder.shred("hp-3f9a2c") == [stored["statement"]["kid"]]
    assert await reader.open_field(stored["statement"], **_ctx(event_id)) is None
    later = uuid4()
    again = await _seal_statement(reader, later, "new text")
    assert again["statement"]["kid"] != stored["statement"]["kid"]
    assert await shredder.open_field(again["statement"], **_ctx(later)) == "new text"


async def test_shred_is_scoped_to_an_agency_and_to_keys_made_before_the_request() -> None:
    store = InMemoryKeyStore()
    moments = iter(datetime(2025, 3, 1, h, tzinfo=UTC) for h in range(1, 10))
    sealer = _sealer(store, clock=lambda: next(moments))
    here = await _seal_statement(sealer, uuid4())  # key made at 01:00
    there = await _seal_statement(
        sealer, uuid4(), agency="agency-south", actor_id="prac-1111"
    )  # key made at 02:00
    # An erasure requested at 01:30 in agency-north: south's key and later keys stay.
    requested = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)
    kids = await sealer.shred("hp-3f9a2c", agency=AGENCY, before=requested)
    assert kids == [here["statement"]["kid"]]
    assert store.rows[there["statement"]["kid"]].wrapped is not None
    newer = await _seal_statement(sealer, uuid4())  # a fresh north key, made after the request
    # The same request applied again (a replay, a redelivery) leaves the newer key alone.
    assert await sealer.shred("hp-3f9a2c", agency=AGENCY, before=requested) == []
    assert store.rows[newer["statement"]["kid"]].wrapped is not None


async def test_sealing_is_deterministic_for_retries() -> None:
    sealer = _sealer()
    event_id = uuid4()
    first = await _seal_statement(sealer, event_id)
    assert await _seal_statement(sealer, event_id) == first  # a retried append: same bytes
    other = await _seal_statement(sealer, uuid4())
    assert other["statement"]["iv"] != first["statement"]["iv"]
    different = await _seal_statement(sealer, event_id, SECRET + ".")
    assert different["statement"]["iv"] != first["statement"]["iv"]


async def test_unknown_kid_raises() -> None:
    sealer = _sealer()
    event_id = uuid4()
    stored = await _seal_statement(sealer, event_id)
    with pytest.raises(UnknownKey):
        await sealer.open_field(dict(stored["statement"], kid="dk-nope"), **_ctx(event_id))
    with pytest.raises(DecryptionFailed):
        await sealer.open_field({"kid": "x"}, **_ctx(event_id))


async def test_seal_contract_errors() -> None:
    sealer = _sealer()
    event = StatementRecorded(about="hp-3f9a2c", statement=SECRET)
    sealed = await _seal_statement(sealer, uuid4())
    with pytest.raises(ValueError, match="already sealed"):
        await sealer.seal_event_data(
            event, sealed, agency=AGENCY, stream_id=STREAM, event_id=uuid4(), actor_id="p-1234"
        )
    with pytest.raises(ValueError, match="owner field"):
        await sealer.seal_event_data(
            event,
            {**event.to_data(), "about": ""},
            agency=AGENCY,
            stream_id=STREAM,
            event_id=uuid4(),
            actor_id="p-1234",
        )


async def test_keys_per_agency_and_person() -> None:
    store = InMemoryKeyStore()
    sealer = _sealer(store)
    a = await _seal_statement(sealer, uuid4())
    b = await _seal_statement(sealer, uuid4(), agency="agency-south", actor_id="prac-1111")
    assert a["statement"]["kid"] != b["statement"]["kid"]
    assert len(store.rows) == 2
    assert sorted(await sealer.shred("hp-3f9a2c")) == sorted(store.rows)


async def test_concurrent_first_seals_share_one_key() -> None:
    import asyncio

    store = InMemoryKeyStore()
    sealer = _sealer(store)
    results = await asyncio.gather(*(_seal_statement(sealer, uuid4()) for _ in range(20)))
    assert len({r["statement"]["kid"] for r in results}) == 1
    assert len(store.rows) == 1


def test_agency_keys_from_env() -> None:
    dev = AgencyKeys.from_env({})
    assert dev.uses_dev_master_key
    assert dev.kek("agency-a") == AgencyKeys.from_env({}).kek("agency-a")  # deterministic
    assert dev.kek("agency-a") != dev.kek("agency-b")
    assert len(dev.kek("agency-a")) == 32
    explicit = base64.b64encode(bytes(range(32))).decode()
    keys = AgencyKeys.from_env({"MEND_AGENCY_KEYS": json.dumps({"agency-a": explicit})})
    assert keys.kek("agency-a") == bytes(range(32))
    with pytest.raises(CryptoError, match="no key-encryption key"):
        keys.kek("agency-b")  # explicit keys only: never derived from the dev master key
    master = base64.b64encode(b"m" * 32).decode()
    mixed = AgencyKeys.from_env({"MEND_MASTER_KEY": master})
    assert not mixed.uses_dev_master_key and mixed.kek("agency-a") != dev.kek("agency-a")
    with pytest.raises(CryptoError, match="production"):
        AgencyKeys.from_env({"MEND_ENV": "production"})
    with pytest.raises(CryptoError):
        AgencyKeys.from_env({"MEND_AGENCY_KEYS": json.dumps({"agency-a": "c2hvcnQ="})})
    with pytest.raises(CryptoError, match="MEND_AGENCY_KEYS is not valid JSON"):
        AgencyKeys.from_env({"MEND_AGENCY_KEYS": "{not json"})
    with pytest.raises(CryptoError, match=r"must be a JSON object \{agency: base64 key\}"):
        AgencyKeys.from_env({"MEND_AGENCY_KEYS": json.dumps([explicit])})
    assert len(DEV_MASTER_KEY) >= 32


def test_ddl_and_pg_store_sql() -> None:
    ddl = data_keys_ddl("consent")
    assert "consent.data_keys" in ddl and "{schema}" in DATA_KEYS_DDL
    assert "WHERE shredded_at IS NULL" in ddl
    with pytest.raises(ValueError):
        data_keys_ddl("x; drop table y")
    store = PgKeyStore(object(), schema="keys")
    assert "keys.data_keys" in store._sql_insert
    assert "ON CONFLICT (agency, owner) WHERE shredded_at IS NULL" in store._sql_insert
