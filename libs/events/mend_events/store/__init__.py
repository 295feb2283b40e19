"""A service's event store: `EventStore` on PostgreSQL (reader.py, writer.py, keys.py, with its
SQL in sql/), the hash chain (chain.py), and `InMemoryEventStore` for fast unit tests
(memory.py), both answering as results.py says."""

from mend_events.store.chain import (
    ZERO_HASH,
    ChainBreak,
    canonical_json,
    digest_input,
    verify_chain,
)
from mend_events.store.memory import InMemoryEventStore
from mend_events.store.postgres import EventStore
from mend_events.store.reader import _COLUMNS, _READ_COLUMNS, row_to_event
from mend_events.store.results import AppendResult, KeyBinding, KeyReused

__all__ = [
    "ZERO_HASH",
    "_COLUMNS",
    "_READ_COLUMNS",
    "AppendResult",
    "ChainBreak",
    "EventStore",
    "InMemoryEventStore",
    "KeyBinding",
    "KeyReused",
    "canonical_json",
    "digest_input",
    "row_to_event",
    "verify_chain",
]
