"""Run the benchmarks: `python -m bench [suite ...]` (the SUITES below; all by default).

Writes bench/results/latest.json (a list of {name, value, unit, baseline_name,
baseline_value, ratio}) and prints a table. Copy the table into bench/RESULTS.md when the
figures change."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import uvloop
from mend_events.app.settings import Settings

from bench.common import broker_state, machine

SUITES = [
    "append", "command", "rebuild", "relay", "e2e", "withdrawal", "replay", "halt", "signin",
    "web", "case_page", "scale", "disclosure", "report",
]  # fmt: skip
OUT = Path(__file__).parent / "results" / "latest.json"


def table(results) -> str:
    lines = [
        f"{'name':<22} {'value':>12} {'unit':<9} {'baseline':>12}  ratio  baseline name",
        "-" * 100,
    ]
    for r in results:
        lines.append(
            f"{r.name:<22} {r.value:>12,.1f} {r.unit:<9} {r.baseline_value:>12,.1f}  "
            f"{r.ratio:>5.2f}  {r.baseline_name}"
        )
    return "\n".join(lines)


async def main(names: list[str]) -> None:
    settings = Settings.from_env()
    print(f"# {await broker_state(settings)}", file=sys.stderr)
    results = []
    for name in names or SUITES:
        module = importlib.import_module(f"bench.{name}")
        before = machine()
        started = time.perf_counter()
        got = await module.run(settings)
        results.extend(got)
        elapsed = time.perf_counter() - started
        print(f"# {name}: {elapsed:.1f}s; before: {before}; after: {machine()}", file=sys.stderr)
        print(table(got), file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n")
    print(table(results))
    print(f"# {machine()}")


if __name__ == "__main__":
    # The services run on uvloop (mend_events.app.serve); so do their measurements and baselines.
    uvloop.run(main(sys.argv[1:]))
