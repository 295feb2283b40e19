"""A page of the case-history projection as it is written: the summaries and withheld facts
computed in Python (`prepare_page`), the rest joined from the source store in SQL
(`insert_sql`)."""

from __future__ import annotations

from typing import Any

import orjson

from mend_audit.entries import COLUMNS
from mend_audit.summaries import summary_and_facts


def prepare_page(rows: list[Any]) -> tuple[list[int], str, str]:
    """A page as the INSERT's three parameters: the positions, and the summaries and the
    withheld facts (null where the facts are the stored data) as two JSON arrays. JSON
    text is one string to send where a text[] would be encoded element by element."""
    positions: list[int] = []
    summaries: list[str] = []
    withheld: list[dict[str, Any] | None] = []
    summarise, loads = summary_and_facts, orjson.loads
    for position, event_type, data in rows:
        positions.append(position)
        summary, facts = summarise(event_type, loads(data))
        summaries.append(summary)
        withheld.append(facts)
    return positions, orjson.dumps(summaries).decode(), orjson.dumps(withheld).decode()


def insert_sql(schema: str, source: str) -> str:
    """The INSERT of a page of `source`'s events into `schema`.case_history: the envelope
    columns taken by the database from the store, the summaries and facts from the page."""
    meta = "e.metadata->>"
    return (
        f"INSERT INTO {schema}.case_history ({', '.join(COLUMNS)}) "
        f"SELECT e.case_id, e.recorded_at, $4::text, $5::smallint, e.global_position, "
        f"e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version, "
        f"coalesce({meta}'actor_id', '?'), coalesce({meta}'role', '?'), "
        f"coalesce({meta}'agency', '?'), "
        f"coalesce(({meta}'occurred_at')::timestamptz, e.recorded_at), "
        f"({meta}'correlation_id')::uuid, ({meta}'causation_id')::uuid, "
        # A JSON null stands for "the facts are the stored data" (facts are never null).
        f"u.summary, coalesce(nullif(u.facts, 'null'::jsonb), e.data) "
        f"FROM ROWS FROM (unnest($1::bigint[]), jsonb_array_elements_text($2::text::jsonb), "
        f"jsonb_array_elements($3::text::jsonb)) AS u(position, summary, facts) "
        f"JOIN {source}.events e ON e.global_position = u.position "
        # The batch's range bounds the index scan of the store.
        f"WHERE e.global_position BETWEEN $6 AND $7"
    )
