"""Export the platform's event contracts: a JSON Schema per event type and schema version, and
one AsyncAPI 3.0 document describing every topic, its CloudEvents and who publishes them.

    python -m mend_events.contracts.export [OUT_DIR]   (default: libs/events/schemas)

Each service's module of the catalog (`mend_events.contracts.catalog.<service>`) is imported by
name, so
this tool sees every registered type; a test regenerates the files and fails when the committed
ones are out of date."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from mend_events.app.settings import CIRCLES, SERVICES, dlq_topic, events_topic
from mend_events.contracts.events import registry

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "schemas"


def service_types() -> dict[str, list[str]]:
    """Event types by the service whose catalog module registers them."""
    by_service: dict[str, list[str]] = {}
    for service in (*SERVICES, CIRCLES):
        module = importlib.import_module(f"mend_events.contracts.catalog.{service}")
        names = sorted(
            m.event_type
            for m in vars(module).values()
            if isinstance(m, type)
            and getattr(m, "__module__", "") == module.__name__
            and hasattr(m, "event_type")
            and registry.knows(getattr(m, "event_type", ""))
        )
        by_service[service] = names
    return by_service


def json_schemas() -> dict[str, dict[str, Any]]:
    """`<Type>.v<N>.json` -> the pydantic JSON Schema of that event's data."""
    out = {}
    for types in service_types().values():
        for name in types:
            model = registry.model(name)
            schema = model.model_json_schema()
            schema["$id"] = f"urn:mend:event:{name}:v{model.schema_version}"
            out[f"{name}.v{model.schema_version}.json"] = schema
    return out


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI document, built from faststream publishers declared per topic."""
    broker = KafkaBroker("kafka:9092", description="Mend's event bus: one topic per service")
    for service, types in service_types().items():
        stream = "circle id" if service == CIRCLES else "case id"  # circles: one stream per circle
        for name in types:
            model = registry.model(name)
            broker.publisher(
                events_topic(service),
                title=f"{service}:{name}",
                description=(
                    f"CloudEvents 1.0, binary mode: type org.mend.{service}.{name}, "
                    f"subject = {stream}, key = {stream}, ce_schemaversion "
                    f"{model.schema_version}, ce_correlationid and ce_causationid "
                    f"headers. {_first_line(model.__doc__)}"
                ),
                schema=model,
            )
        broker.publisher(
            dlq_topic(service),
            title=f"{service}:dead-letter",
            description="Messages a consumer of this service could not apply, with an "
            "empty body: the well-formed ids of the original (ce_id, ce_type, ce_source, "
            "ce_subject, ce_streamid, ce_correlationid, ce_causationid, versions), dlq_error "
            "(error type, each error's kind and field path, never a value), source topic, "
            "partition and offset, attempts, and the body's SHA-256; never personal data.",
        )
    spec = AsyncAPI(broker, title="Mend events", version="1", schema_version="3.0.0")
    return json.loads(spec.to_specification().to_json())


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def export(out: Path = DEFAULT_OUT) -> list[Path]:
    written = []
    schemas_dir = out / "jsonschema"
    schemas_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        path = schemas_dir / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    path = out / "asyncapi.json"
    path.write_text(json.dumps(asyncapi(), indent=2, sort_keys=True) + "\n")
    written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    files = export(target)
    print(f"wrote {len(files)} files under {target}")
