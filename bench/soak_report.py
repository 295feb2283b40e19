"""The soak's report as Markdown (bench/soak.py writes it next to its JSON)."""

from __future__ import annotations

from typing import Any


def render(out: dict[str, Any]) -> str:
    lines = [f"# Soak ({out['machine_before']} before; {out.get('machine_after')} after)", ""]
    if "fixed" in out:
        f = out["fixed"]
        end = f["end"]
        lines += [
            f"## Fixed rate: {f['rate_asked']} journeys/s asked, {f['rate_held']} held, "
            f"{f['seconds']:.0f} s",
            "",
            f"journeys started {f['journeys_started']}, done {f['journeys_done']}, late starts "
            f"{f['late_starts']}, errors {f['errors']}; `mend audit verify`: "
            f"{'passed' if end['verify_ok'] else 'FAILED'}; withdrawals {end['withdrawals']}, "
            f"without their halt: {len(end['withdrawals_without_halt'])}",
            "",
            "| call | n | p50 ms | p99 ms |",
            "| --- | --- | --- | --- |",
            *(f"| {k} | {v['n']} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} |"
              for k, v in f["calls"].items()),
            "",
            "| t (s) | RSS MB | sockets | DB connections | journeys done | errors | load 1m |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *(f"| {s['t_s']} | {s['rss_mb']} | {s['sockets']} | {s['db_connections']} | "
              f"{s['journeys_done']} | {s['errors']} | {s['load_1m']} |" for s in f["samples"]),
            "",
        ]  # fmt: skip
        growth = f.get("memory_growth")
        if isinstance(growth, list):  # reports written before the sums by our frames
            growth = {"places": growth}
        if growth:
            if "total_kib" in growth:
                lines += [f"The Python heap grew by {growth['total_kib'] / 1024:.1f} MiB over "
                          "the fixed phase (tracemalloc).", ""]  # fmt: skip
            lines += ["Where the Python heap grew most (tracemalloc, one allocation place each):",
                      "", *(f"- {g}" for g in growth["places"]), ""]  # fmt: skip
            if growth.get("by_our_frame"):
                lines += ["The same growth summed by the first frame of our code on each stack:",
                          "", *(f"- {g}" for g in growth["by_our_frame"]), ""]  # fmt: skip
        if f["first_errors"]:
            lines += ["First errors:", "", *(f"- {e}" for e in f["first_errors"]), ""]
    if "ramp" in out:
        r = out["ramp"]
        lines += [f"## Ramp: gave at {r['gave_at_rate']} journeys/s: {r['what_gave']}", "",
                  "| rate asked | held | done | errors | late | worst command p99 | machine |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        lines += [
            f"| {s['rate']} | {s['rate_held']} | {s['journeys_done']} | {s['errors']} | "
            f"{s['late_starts']} | {s['worst_command']} {s['worst_p99_ms']:.0f} ms | "
            f"{s['machine']} |"
            for s in r["stages"]
        ]
    return "\n".join(lines) + "\n"
