"""`mend audit ...`: the auditor's command line. Reads the stores directly (SELECT only, as the
application role), so it works with the services stopped. `mend erase` records a person's
erasure request (see `mend_audit.erase`).

    mend audit history CASE [--as-of TIMESTAMP] [--json]
    mend audit halts [--case CASE] [--since TIMESTAMP] [--as-of TIMESTAMP] [--json]
    mend audit verify [--service NAME] [--no-kafka] [--json]
    mend audit export CASE --format json|csv [--as-of TIMESTAMP] [--output FILE]
    mend audit rebuild
    mend audit migrate
    mend erase PERSON --basis CODE [--agency AGENCY] [--token TOKEN] [--json]

Settings come from the `MEND_*` environment (`make status` prints them). Exit codes: 0 when all
holds, 1 when verification found a problem, 2 for a mistake in the request or an unreachable
database (said in one line, never a stack trace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import structlog
from mend_events.db import create_pool
from mend_events.errors import MendError
from mend_events.logging import scrub_personal_data
from mend_events.settings import SERVICES, Settings

from mend_audit import erase
from mend_audit.export import FORMATS
from mend_audit.history import to_json
from mend_audit.projection import AUDIT_SCHEMA, CaseHistoryProjection, migrate
from mend_audit.reader import AuditReader, parse_moment

PROG = "mend"


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Mend's command-line tools.")
    tools = parser.add_subparsers(dest="tool", required=True, metavar="TOOL")
    audit = tools.add_parser(
        "audit",
        help="case histories, halts and withdrawals, verification (read-only)",
        description="Replay case histories from the services' stores (read-only).",
    )
    audit.add_argument(
        "--schema",
        action="append",
        default=[],
        metavar="SERVICE=SCHEMA",
        help="read SERVICE's events from SCHEMA (default: the schema named after the service)",
    )
    audit.add_argument(
        "--audit-schema", default=AUDIT_SCHEMA, help="schema of the stored projection"
    )
    audit.add_argument("--topic-prefix", default="", help="prefix of the Kafka topic names")
    commands = audit.add_subparsers(dest="command", required=True, metavar="COMMAND")

    history = commands.add_parser("history", help="a case's timeline and its state as of a moment")
    history.add_argument("case", metavar="CASE", help="the case id, e.g. case-9c1d2e4f")
    history.add_argument("--as-of", metavar="TIMESTAMP", help="ISO 8601; without zone: UTC")
    history.add_argument("--json", action="store_true", help="the full document as JSON")

    halts = commands.add_parser("halts", help="every halt and withdrawal, cause and consequences")
    halts.add_argument("--case", metavar="CASE")
    halts.add_argument("--since", metavar="TIMESTAMP", help="recorded at or after this moment")
    halts.add_argument("--as-of", metavar="TIMESTAMP", help="as the stores stood at this moment")
    halts.add_argument("--json", action="store_true")

    verify = commands.add_parser(
        "verify",
        help="hash chains of every stream, and Kafka against the stores up to each relay's "
        "checkpoint when verify began (events past it are counted as not yet published)",
    )
    verify.add_argument(
        "--service", action="append", metavar="NAME", help=f"one of {', '.join(SERVICES)}"
    )
    verify.add_argument("--no-kafka", action="store_true", help="check the hash chains only")
    verify.add_argument("--json", action="store_true")

    export = commands.add_parser("export", help="a case file as JSON or CSV")
    export.add_argument("case", metavar="CASE")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--as-of", metavar="TIMESTAMP")
    export.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    erase.add_parser(tools)

    commands.add_parser("rebuild", help="rebuild the stored case-history projection")
    commands.add_parser(
        "migrate", help="create or update the audit schema (MEND_ADMIN_DATABASE_URL)"
    )
    return parser


def _schemas(pairs: Sequence[str]) -> dict[str, str]:
    schemas = {s: s for s in SERVICES}
    for pair in pairs:
        service, sep, schema = pair.partition("=")
        if not sep or service not in schemas or not schema:
            raise UsageError(
                f"--schema {pair!r}: expected SERVICE=SCHEMA with SERVICE one of "
                f"{', '.join(SERVICES)}"
            )
        schemas[service] = schema
    return schemas


def _where(dsn: str) -> str:
    """host:port/database, never the password."""
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def _out(text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
    sys.stdout.flush()


# --- text rendering ----------------------------------------------------------------------------


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


# --- commands ----------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    schemas = _schemas(args.schema)
    if args.tool == "erase":
        return await erase.run(args, settings, schemas["consent"], _out)
    if args.command == "migrate":
        conn = await asyncpg.connect(settings.admin_database_url)
        try:
            applied = await migrate(conn, args.audit_schema)
        finally:
            await conn.close()
        _out(f"{args.audit_schema}: {len(applied)} migration(s) applied")
        return 0
    as_of = parse_moment(args.as_of, "--as-of") if getattr(args, "as_of", None) else None
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        reader = AuditReader(
            pool,
            schemas=schemas,
            bootstrap=settings.kafka_bootstrap,
            topic_prefix=args.topic_prefix,
        )
        if args.command == "history":
            doc = await reader.history(args.case, as_of)
            _out(to_json(doc) if args.json else render_history(doc))
            return 0
        if args.command == "halts":
            since = parse_moment(args.since, "--since") if args.since else None
            found = await reader.halts(case=args.case, since=since, as_of=as_of)
            _out(to_json(found) if args.json else "\n".join(render_halts(found)))
            return 0
        if args.command == "verify":
            report = await reader.verify(services=args.service, kafka=not args.no_kafka)
            _out(to_json(report.to_dict()) if args.json else "\n".join(report.lines()))
            return 0 if report.ok else 1
        if args.command == "export":
            data = await reader.export(args.case, args.format, as_of)
            if args.output:
                await asyncio.to_thread(Path(args.output).write_bytes, data)
                _out(f"case file of {args.case} written to {args.output} ({len(data)} bytes)")
            else:
                _out(data)
            return 0
        if args.command == "rebuild":
            projection = CaseHistoryProjection(
                pool, schemas=schemas, audit_schema=args.audit_schema
            )
            started = time.perf_counter()
            total = await projection.rebuild()
            elapsed = time.perf_counter() - started
            positions = await projection.positions()
            where = ", ".join(f"{s} to position {p}" for s, p in positions.items())
            _out(
                f"{args.audit_schema}.case_history rebuilt from {total} event(s) in "
                f"{elapsed:.2f}s ({where})"
            )
            return 0
    finally:
        await pool.close()
    raise UsageError(f"unknown command {args.command}")


class _Stderr:
    """Whatever `sys.stderr` is at the time of writing (a test may swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """The library's log lines (e.g. an erasure's keys destroyed) go to standard error, as
    scrubbed JSON, warnings and worse only: standard output is the answer (`--json | jq`).
    An embedding process (a test) gets its own logging configuration back afterwards."""
    if structlog.is_configured():
        yield
        return
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            scrub_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.reset_defaults()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The Kafka client logs every failed connection attempt; verify reports it in one line.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    logging.getLogger("aiokafka").propagate = False
    settings = Settings.from_env()
    try:
        with _logs_to_stderr():
            code = asyncio.run(_run(args, settings))
    except UsageError as exc:
        print(f"{PROG} {args.tool}: error: {exc}", file=sys.stderr)
        code = 2
    except MendError as exc:
        print(f"{PROG} {args.tool}: error: {exc.reason}", file=sys.stderr)
        code = 2
    except BrokenPipeError:
        code = 0  # the reader (e.g. `head`) stopped reading: nothing more to say
    except OSError as exc:
        where = _where(settings.database_url)
        detail = exc.strerror or type(exc).__name__
        print(
            f"{PROG} {args.tool}: error: cannot reach PostgreSQL at {where}: {detail}",
            file=sys.stderr,
        )
        code = 2
    except asyncpg.PostgresError as exc:
        print(f"{PROG} {args.tool}: error: PostgreSQL refused: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    return code


if __name__ == "__main__":
    sys.exit(main())
