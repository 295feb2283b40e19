"""What every event store promises, whatever holds the events: one suite of tests, run
against each implementation by subclassing `StoreContract` with a `store` fixture (as
pyeventsourcing's tests/persistence.py does). test_store_contract.py runs it on PostgreSQL
and in memory."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_events.errors import Conflict
from mend_events.store import ZERO_HASH, KeyBinding, KeyReused, canonical_json, digest_input
from sample_events import noted

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StoreContract:
    """Subclasses provide the fixture `store`: an empty store of one service's events."""

    async def test_append_answers_version_positions_and_time(self, store):
        first = await store.append("case-c0001", [noted(1), noted(2)], expected_version=0)
        second = await store.append("case-c0002", [noted(3)], expected_version=0)
        assert first.written and first.version == 2 and first.recorded_at is not None
        assert second.positions[0] > first.positions[1] > first.positions[0]
        assert await store.head_position() == second.positions[0]

    async def test_nothing_to_append_writes_nothing(self, store):
        result = await store.append("case-c0003", [], expected_version=0)
        assert (result.version, result.positions, result.written) == (0, (), False)
        assert await store.read_stream("case-c0003") == []

    async def test_two_appends_at_same_expected_version_one_wins(self, store):
        await store.append("case-aaaa1", [noted(0)], expected_version=0)
        results = await asyncio.gather(
            store.append("case-aaaa1", [noted(1)], expected_version=1),
            store.append("case-aaaa1", [noted(2)], expected_version=1),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, Exception)]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(conflicts) == 1
        assert conflicts[0].field == "expected_version"
        events = await store.read_stream("case-aaaa1")
        assert [e.stream_version for e in events] == [1, 2]

    async def test_stale_expected_version_is_a_conflict_that_names_the_stored_one(self, store):
        await store.append("case-c0004", [noted(1), noted(2)], expected_version=0)
        with pytest.raises(Conflict) as refused:
            await store.append("case-c0004", [noted(3)], expected_version=1)
        assert "at version 2" in str(refused.value) and refused.value.field == "expected_version"
        with pytest.raises(Conflict):
            await store.append("case-c0005", [noted(3)], expected_version=1)  # no such stream

    async def test_retry_with_same_event_ids_adds_nothing(self, store):
        batch = [noted(1), noted(2)]
        first = await store.append("case-cccc1", batch, expected_version=0)
        again = await store.append("case-cccc1", batch, expected_version=0)
        assert first.written and not again.written
        assert again.positions == first.positions and again.version == 2
        assert len(await store.read_stream("case-cccc1")) == 2

    async def test_event_id_reused_for_other_stream_is_a_conflict(self, store):
        event = noted(1)
        await store.append("case-dddd1", [event], expected_version=0)
        with pytest.raises(Conflict) as refused:
            await store.append("case-dddd2", [event], expected_version=0)
        assert refused.value.field == "event_id"

    async def test_same_stream_twice_at_once(self, store):
        first, second = await asyncio.gather(
            store.append("case-twice1", [noted(1)], expected_version=0),
            store.append("case-twice1", [noted(2)], expected_version=1),
        )
        assert (first.version, second.version) == (1, 2)
        assert await store.verify() == []

    async def test_read_stream_after_version_and_as_of(self, store):
        first = await store.append("case-hhhh1", [noted(1)], expected_version=0)
        await asyncio.sleep(0.01)
        await store.append("case-hhhh1", [noted(2), noted(3)], expected_version=1)
        then = await store.read_stream("case-hhhh1", as_of=first.recorded_at)
        assert [e.decode().n for e in then] == [1]
        later = await store.read_stream("case-hhhh1", after_version=1)
        assert [(e.stream_version, e.decode().n) for e in later] == [(2, 2), (3, 3)]
        assert all(e.service == store.service for e in later)

    async def test_read_all_in_global_order(self, store):
        await store.append("case-c0006", [noted(1)], expected_version=0)
        await store.append("case-c0007", [noted(2), noted(3)], expected_version=0)
        await store.append("case-c0006", [noted(4)], expected_version=1)
        events = await store.read_all()
        assert [e.decode().n for e in events] == [1, 2, 3, 4]
        after = await store.read_all(events[0].global_position, limit=2)
        assert [e.decode().n for e in after] == [2, 3]

    async def test_events_keep_their_ids_metadata_and_case(self, store):
        sent = noted(5)
        await store.append("case-c0008", [sent], expected_version=0, case_id="case-c0009")
        (got,) = await store.read_stream("case-c0008")
        assert (got.event_id, got.event_type, got.schema_version) == (
            sent.event_id,
            "SampleNoted",
            1,
        )
        assert got.case_id == "case-c0009" and got.metadata == sent.metadata
        assert got.decode() == sent.event

    async def test_stream_agency_is_the_first_events(self, store):
        await store.append("case-agency1", [noted(1)], expected_version=0)
        assert await store.stream_agency("case-agency1") == "agency-a"
        assert await store.stream_agency("case-none1") is None

    async def test_each_event_is_chained_to_the_one_before(self, store):
        await store.append("case-eeee1", [noted(1), noted(2)], expected_version=0)
        await store.append("case-eeee1", [noted(3)], expected_version=2)
        head = ZERO_HASH
        for e in await store.read_stream("case-eeee1"):
            recorded_us = (e.recorded_at - _EPOCH) // timedelta(microseconds=1)
            inputs = digest_input(
                e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
                e.case_id, canonical_json(e.data), canonical_json(e.raw_metadata), recorded_us,
            )  # fmt: skip
            assert e.hash == hashlib.sha256(head + inputs).digest()
            head = e.hash
        assert await store.verify() == []

    async def test_a_key_is_bound_to_its_first_request(self, store):
        key = KeyBinding(uuid4(), "digest-1")
        await store.append("case-key01", [noted(1)], expected_version=0)
        done = await store.append("case-key01", [noted(2)], expected_version=1, key=key)
        assert await store.key_binding(key.key_id) == ("case-key01", "digest-1", 1)
        again = await store.append("case-key01", [noted(3)], expected_version=2, key=key)
        assert again.written  # the same request may be sent again: the caller decides
        with pytest.raises(KeyReused):
            await store.append(
                "case-key01", [noted(4)], expected_version=3, key=KeyBinding(key.key_id, "other")
            )
        with pytest.raises(KeyReused):
            await store.append("case-key02", [noted(5)], expected_version=0, key=key)
        assert [e.stream_version for e in await store.read_stream("case-key01")] == [1, 2, 3]
        assert await store.read_stream("case-key02") == [] and done.version == 2
        assert await store.key_binding(uuid4()) is None

    async def test_a_key_stays_bound_when_its_append_conflicts(self, store):
        key = KeyBinding(uuid4(), "digest-2")
        with pytest.raises(Conflict):
            await store.append("case-key03", [noted(1)], expected_version=4, key=key)
        assert await store.key_binding(key.key_id) == ("case-key03", "digest-2", 4)
