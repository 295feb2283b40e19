"""A case file for the record: the case document as JSON, or its timeline as CSV.

Both are built from `case_file.document` alone, so an export is as deterministic as the history:
the same events (and the same `as_of`) give the same bytes. The CSV has one row per event with
its cause (by place in the timeline and by event id) and what it caused; cells that a
spreadsheet would read as a formula are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mend_audit.history import to_json

FORMATS = ("json", "csv")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}

CSV_COLUMNS = (
    "seq",
    "recorded_at",
    "occurred_at",
    "service",
    "stream_id",
    "stream_version",
    "global_position",
    "event_id",
    "type",
    "actor_id",
    "actor_role",
    "agency",
    "summary",
    "caused_by_seq",
    "caused_by_type",
    "causation_id",
    "consequences",
    "correlation_id",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def case_file(document: dict[str, Any], fmt: str) -> bytes:
    """The exported bytes in `fmt` (json or csv); ValueError for another format."""
    if fmt == "json":
        return to_json({"format": "mend-case-file/1", **document})
    if fmt == "csv":
        return timeline_csv(document).encode()
    raise ValueError(f"unknown format {fmt!r}: expected json or csv")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def timeline_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in document["timeline"]:
        cause = item.get("caused_by") or {}
        who = item["who"]
        writer.writerow(
            _cell(v)
            for v in (
                item["seq"],
                item["recorded_at"],
                item["occurred_at"],
                item["service"],
                item["stream_id"],
                item["stream_version"],
                item["global_position"],
                item["event_id"],
                item["type"],
                who["actor_id"],
                who["role"],
                who["agency"],
                item["summary"],
                cause.get("seq"),
                cause.get("type"),
                item["causation_id"],
                " ".join(str(n) for n in item["consequences"]),
                item["correlation_id"],
            )
        )
    return out.getvalue()
