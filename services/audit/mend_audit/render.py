"""Plain text of an audit answer for people: a case history with its causes, the halts with
their consequences, a case's state as of a moment (what `mend audit` prints without `--json`)."""

from __future__ import annotations

from typing import Any


def _t(stamp: str | None) -> str:
    """2026-03-01T14:30:00.123456+00:00 -> 2026-03-01 14:30:00.123 (UTC throughout)."""
    return "-" if not stamp else stamp[:23].replace("T", " ")


def _who(who: dict[str, Any]) -> str:
    return f"{who.get('actor_id')} ({who.get('role')})"


def _by(who: dict[str, Any]) -> str:
    return f"{who.get('actor_id')}, {who.get('role')}"


def render_history(doc: dict[str, Any]) -> str:
    lines = []
    moment = (
        f"as of {_t(doc['as_of'])} UTC" if doc["as_of"] else f"up to {_t(doc['state_as_of'])} UTC"
    )
    lines.append(
        f"Case {doc['case_id']} (agency {doc['agency'] or '?'}): {doc['events']} event(s) "
        f"recorded {moment}"
    )
    lines.append("")
    if not doc["timeline"]:
        lines.append("  (nothing recorded by then)")
    width = len(str(len(doc["timeline"])))
    pad = " " * (width + 3)
    for item in doc["timeline"]:
        lines.append(
            f"  {item['seq']:>{width}}  {_t(item['recorded_at'])}  {item['service']:<9}  "
            f"{_who(item['who']):<32} {item['type']}"
        )
        lines.append(f"{pad}occurred {_t(item['occurred_at'])}  {item['summary']}")
        cause = item.get("caused_by")
        if cause:
            lines.append(f"{pad}<- caused by #{cause['seq']} {cause['type']} ({_by(cause['who'])})")
        elif item.get("causation_id"):
            lines.append(f"{pad}<- caused by event {item['causation_id']} (not in this case)")
        if item["consequences"]:
            by_seq = {i["seq"]: i for i in doc["timeline"]}
            caused = ", ".join(f"#{n} {by_seq[n]['type']}" for n in item["consequences"])
            lines.append(f"{pad}-> caused {caused}")
    lines.append("")
    lines.extend(render_halts(doc["halts"], with_case=False))
    if doc.get("state") is not None:
        lines.append("")
        lines.extend(render_state(doc["state"], doc["as_of"] or doc["state_as_of"]))
    return "\n".join(lines)


def _tree(consequences: list[dict[str, Any]], depth: int) -> list[str]:
    out = []
    for c in consequences:
        out.append(
            f"{'  ' * depth}#{c['seq']} {c['type']} ({c['service']}, {_by(c['who'])}, "
            f"{_t(c['recorded_at'])}): {c['summary']}"
        )
        out.extend(_tree(c["consequences"], depth + 1))
    return out


def render_halts(halts: list[dict[str, Any]], *, with_case: bool = True) -> list[str]:
    if not halts:
        return ["Halts and withdrawals: none"]
    lines = [f"Halts and withdrawals ({len(halts)}):"]
    for h in halts:
        case = f"{h['case_id']} " if with_case else ""
        lines.append(
            f"  {case}#{h['seq']} {h['kind']}: {h['type']} by {_who(h['who'])} at "
            f"{_t(h['recorded_at'])} (occurred {_t(h['occurred_at'])})"
        )
        lines.append(f"      what: {h['what']}")
        cause = h.get("cause")
        if cause:
            lines.append(
                f"      cause: #{cause['seq']} {cause['type']} by {_who(cause['who'])}: "
                f"{cause['summary']}"
            )
        elif h.get("cause_id"):
            lines.append(f"      cause: event {h['cause_id']} (not in this case's history)")
        else:
            lines.append("      cause: the act of the person named (no reason is owed)")
        if h["consequences"]:
            lines.append("      caused:")
            lines.extend("        " + line for line in _tree(h["consequences"], 0))
        else:
            lines.append("      caused: nothing further recorded")
    return lines


def _plain_forms(decision: dict[str, Any]) -> str:
    forms = decision.get("permitted_forms") or []
    if not forms:
        return "no contact form"
    return ", ".join(
        f"{f.get('form')} ({'with' if f.get('with_responsible_person') else 'without'} the "
        f"responsible person)"
        for f in forms
    )


def render_state(state: dict[str, Any], moment: str | None) -> list[str]:
    lines = [f"State as of {_t(moment)} UTC:"]
    c = state.get("consent", {})
    in_force = [f"{g['participant_id']} {g['scope']}" for g in c.get("in_force", [])]
    lines.append(f"  consent    in force: {', '.join(in_force) or 'none'}")
    grants = (c.get("state") or {}).get("grants", {})
    ended = [
        f"{g.get('participant_id')} {g.get('scope')} ({g.get('status')})"
        for g in grants.values()
        if isinstance(g, dict) and g.get("status") != "active"
    ]
    if ended:
        lines.append(f"             ended: {', '.join(ended)}")
    acks = c.get("acknowledgements_standing", [])
    lines.append(f"             acknowledgement stands: {', '.join(acks) or 'none'}")
    r = state.get("risk", {})
    decision = r.get("governing_decision")
    if decision:
        lines.append(
            f"  risk       decision: {decision.get('decision')}: {_plain_forms(decision)}; "
            f"valid until {_t(decision.get('valid_until'))}"
        )
    else:
        lines.append("  risk       decision: none governing (no current full assessment)")
    flags = [
        f"{(f.get('raised') or {}).get('severity')} {(f.get('raised') or {}).get('category')}"
        for f in r.get("unresolved_flags", [])
    ]
    lines.append(
        f"             unresolved flags: {', '.join(flags) or 'none'}; reassessment due: "
        f"{'yes' if r.get('reassessment_due') else 'no'}"
    )
    s = (state.get("sessions") or {}).get("state") or {}
    paused = s.get("paused_for") or []
    lines.append(
        f"  sessions   case {s.get('status', '?')}; facilitator {s.get('facilitator_id') or 'none'}"
        f"; paused: {', '.join(paused) if paused else 'no'}"
    )
    for sid, session in sorted((s.get("sessions") or {}).items()):
        lines.append(
            f"             {sid} {session.get('form')} {session.get('status')} (scheduled for "
            f"{_t(session.get('scheduled_for'))})"
        )
    a = (state.get("aftercare") or {}).get("state") or {}
    check_ins = a.get("check_ins") or {}
    open_check_ins = sum(1 for ci in check_ins.values() if ci.get("outcome") is None)
    lines.append(
        f"  aftercare  status {a.get('status', '?')}; offers {len(a.get('offers') or {})}; "
        f"check-ins {len(check_ins)} ({open_check_ins} open); referrals "
        f"{len(a.get('referrals') or {})}; commitments {len(a.get('commitments') or {})}"
    )
    if state.get("unreadable"):
        lines.append(f"  unreadable events: {len(state['unreadable'])} (see --json)")
    return lines
