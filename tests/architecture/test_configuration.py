"""Every `MEND_*` variable a process reads is in the README's configuration table, so an
operator never meets a setting that only the code knows (the table is the documentation; this
test keeps it whole). Variables built from a service's name (`MEND_<SERVICE>_URL`, `_PORT`)
count as their documented pattern."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [ROOT / "libs" / "events" / "mend_events", ROOT / "deploy" / "local",
              *sorted((ROOT / "services").glob("*/mend_*"))]  # fmt: skip
SERVICES = {p.name for p in (ROOT / "services").iterdir() if p.is_dir()}
NAME = re.compile(r"\bMEND_[A-Z0-9_]*[A-Z0-9]\b")


def read_in_code() -> set[str]:
    names: set[str] = set()
    for root in PRODUCTION:
        for path in root.rglob("*.py"):
            names.update(NAME.findall(path.read_text()))
    return names


def documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `MEND_")]
    return {name for row in rows for name in NAME.findall(row.split(" | ")[0])}


def by_pattern(name: str) -> bool:
    m = re.fullmatch(r"MEND_([A-Z]+)_(URL|PORT)", name)
    return m is not None and m.group(1).lower() in SERVICES


def test_every_variable_the_code_reads_is_in_the_readme():
    missing = {n for n in read_in_code() - documented() if not by_pattern(n)}
    # Prefixes the code builds names from (MEND_KAFKA_<USER>_PASSWORD in compose), not settings.
    missing -= {"MEND_KAFKA", "MEND_WEB"}
    assert missing == set(), (
        f"read by the code, missing from README's Configuration: {sorted(missing)}"
    )


def test_the_table_names_no_variable_the_code_no_longer_reads():
    stale = {n for n in documented() - read_in_code() if not by_pattern(n)}
    assert stale == set(), f"in README's Configuration, read by nothing: {sorted(stale)}"
