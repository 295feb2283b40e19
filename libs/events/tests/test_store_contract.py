"""The store contract (store_contract.py) on PostgreSQL and in memory: the in-memory store
answers as the real one does, so tests that use it test what production does."""

from __future__ import annotations

import pytest
from mend_events.store import EventStore, InMemoryEventStore
from store_contract import StoreContract


class TestPostgresStore(StoreContract):
    @pytest.fixture
    async def store(self, app_pool, schema):
        s = EventStore(app_pool, schema)
        yield s
        await s.close()


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self):
        s = InMemoryEventStore("memory")
        yield s
        await s.close()
