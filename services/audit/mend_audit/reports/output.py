"""A commissioners' report as it is published: the figures suppressed, as a JSON document or
CSV rows. A hidden figure is `null` in JSON and `<threshold` in CSV ("<5"), never its count."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from mend_audit.reports.figures import LINKS, Figures
from mend_audit.reports.suppression import HIDDEN, median_if_enough, suppress_report

SCHEMA = "mend.report.commissioner.v1"


def document(
    figures: Figures, *, as_of: datetime, threshold: int, rule_pack: str | None = None
) -> dict[str, Any]:
    """The report: each table's cells and total, medians of days between opening and each
    stage, and the voluntary outcome measures (how many answers, and their median score)."""
    tables = {t.name: (t.cells, t.with_total) for t in figures.tables}
    published = suppress_report(tables, threshold, LINKS)
    measures = []
    for (measure, point), scores in sorted(figures.scores.items()):
        answers = suppress_report({"m": ({"n": len(scores)}, False)}, threshold)["m"].cells["n"]
        measures.append({"measure": measure, "point": point, "answers": answers,
                         "median_score": median_if_enough(scores, threshold)})  # fmt: skip
    return {
        "schema": SCHEMA,
        "agency": figures.agency,
        "as_of": as_of.isoformat(),
        "threshold": threshold,
        "rule_pack": rule_pack,  # whose threshold it is
        "tables": [
            {"name": name, "cells": p.cells, "with_total": p.has_total, "total": p.total}
            for name, p in published.items()
        ],
        "median_days_from_opening": {
            stage: median_if_enough(days, threshold)
            for stage, days in figures.days_to_stage.items()
        },
        "outcome_measures": measures,
    }


def to_csv(report: dict[str, Any]) -> str:
    """One row per figure: section, name, key, value (hidden figures as `<threshold`)."""
    hidden = f"<{report['threshold']}"

    def shown(value: Any) -> str:
        return hidden if value is HIDDEN else str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "name", "key", "value"])
    writer.writerow(["report", "agency", "", report["agency"]])
    writer.writerow(["report", "as_of", "", report["as_of"]])
    writer.writerow(["report", "rule_pack", "", report.get("rule_pack") or ""])
    for table in report["tables"]:
        for key, value in table["cells"].items():
            writer.writerow(["table", table["name"], key, shown(value)])
        if table["with_total"]:
            writer.writerow(["table", table["name"], "total", shown(table["total"])])
    for stage, days in report["median_days_from_opening"].items():
        writer.writerow(["median_days_from_opening", stage, "", shown(days)])
    for m in report["outcome_measures"]:
        key = f"{m['measure']}:{m['point']}"
        writer.writerow(["outcome_measures", "answers", key, shown(m["answers"])])
        writer.writerow(["outcome_measures", "median_score", key, shown(m["median_score"])])
    return out.getvalue()
