"""What `mend hub` prints for a person (without `--json`): one line for a command, a short
table for a list."""

from __future__ import annotations

import argparse
from typing import Any


def _written(answer: dict[str, Any]) -> str:
    subject = answer.get("agency_id") or answer.get("case_id")
    events = answer.get("events") or []
    if not events:
        return f"{subject}: nothing to do (already so)"
    return f"{subject}: {', '.join(e['type'] for e in events)} (version {answer['version']})"


def _staff_lines(answer: dict[str, Any]) -> str:
    lines = [f"Staff of {answer['agency_id']} ({len(answer['staff'])}):"]
    for s in answer["staff"]:
        q = s["qualifications"]
        quals = ""
        if q:
            trained = [n for n, k in (("RJ", "rj_trained"), ("sexual harm", "sexual_harm_trained"))
                       if q[k]]  # fmt: skip
            quals = f"  level {q['level']}; trained: {', '.join(trained) or 'none'}"
            quals += f"; {', '.join(q['specialisms'])}" if q["specialisms"] else ""
        status = "active" if s["active"] else "deactivated"
        lines.append(f"  {s['person_id']:<16} {s['role']:<13} {status}{quals}")
    return "\n".join(lines)


def _caseload_lines(answer: dict[str, Any]) -> str:
    lines = [f"Caseload of {answer['person_id']} ({len(answer['cases'])}):"]
    for c in answer["cases"]:
        lines.append(f"  {c['case_id']}  since {c['allocated_at']}  ({c['reason']}, by "
                     f"{c['allocated_by']})")  # fmt: skip
    return "\n".join(lines)


def _history_lines(answer: dict[str, Any]) -> str:
    now = ", ".join(a["practitioner_id"] for a in answer["allocated"]) or "nobody"
    lines = [f"Case {answer['case_id']}: allocated to {now}", "History:"]
    for h in answer["history"]:
        verb = "allocated" if h["type"] == "CaseAllocated" else "ended"
        lines.append(f"  {h['at']}  {verb:<9} {h['practitioner_id']}  ({h['reason']}, by "
                     f"{h['by']}, {h['by_role']})")  # fmt: skip
    return "\n".join(lines)


def _agency_lines(answer: dict[str, Any]) -> str:
    lines = [f"Agency {answer['agency_id']} ({answer['name']}), sign-in {answer['sign_in']}"
             + (f", SUSPENDED ({answer['suspended']})" if answer["suspended"] else "")]  # fmt: skip
    for k in answer["keys"]:
        retired = f", retired from {k['retired_at']}" if k["retired_at"] else ""
        lines.append(f"  key {k['kid']}: added {k['added_at']}{retired}")
    if answer["identity_provider"]:
        lines.append(f"  identity provider {answer['identity_provider']['issuer']}")
    return "\n".join(lines)


def render(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    if args.command == "staff" and args.action == "list":
        return _staff_lines(answer)
    if args.command == "caseload":
        return _caseload_lines(answer)
    if args.command == "history":
        return _history_lines(answer)
    if args.command == "agency" and args.action == "show":
        return _agency_lines(answer)
    return _written(answer)
