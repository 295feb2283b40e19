"""The committed JSON Schemas and AsyncAPI document are what the code exports today."""

from __future__ import annotations

import json

from mend_events.contracts.export import DEFAULT_OUT, asyncapi, json_schemas


def test_committed_contracts_are_current():
    for name, schema in json_schemas().items():
        committed = json.loads((DEFAULT_OUT / "jsonschema" / name).read_text())
        assert committed == schema, f"{name} is stale: run python -m mend_events.contracts.export"
    committed, current = json.loads((DEFAULT_OUT / "asyncapi.json").read_text()), asyncapi()
    # Channels, operations and messages must match. Shared component schema names (two
    # services each define a `CommitmentCode`) resolve in import order, so they are left to
    # the per-event JSON Schemas above, which are exact.
    for part in ("channels", "operations"):
        assert committed[part] == current[part], f"asyncapi.json {part} are stale"
    assert committed["components"]["messages"].keys() == current["components"]["messages"].keys()


def test_every_topic_and_event_is_documented():
    doc = asyncapi()
    addresses = {c["address"] for c in doc["channels"].values()}
    for service in ("consent", "risk", "sessions", "aftercare"):
        assert f"{service}.events.v1" in addresses and f"{service}.dlq" in addresses
    assert {"ConsentWithdrawn", "SessionHalted", "AftercareOffered", "RiskFlagRaised"} <= {
        name.split(".")[0] for name in json_schemas()
    }


def test_no_two_contract_types_share_a_name():
    """AsyncAPI components are keyed by class name: two enums or models of one name (there were
    two `CommitmentCode`s, sessions' and aftercare's) silently document only one of them, and
    which one depended on import order."""
    import enum
    import importlib

    from mend_events.app.settings import SERVICES
    from pydantic import BaseModel

    seen: dict[str, type] = {}
    for service in (*SERVICES, "hub"):
        module = importlib.import_module(f"mend_events.contracts.catalog.{service}")
        for value in vars(module).values():
            if not isinstance(value, type) or not issubclass(value, BaseModel | enum.Enum):
                continue
            if value.__name__.startswith("_") or not value.__module__.startswith(
                "mend_events.contracts.catalog."
            ):
                continue
            other = seen.setdefault(value.__name__, value)
            assert other is value, f"{value.__name__} is defined twice in the catalog"
