"""`mend audit ...`: the auditor's command line. Reads the stores directly (SELECT only, as the
application role), so it works with the services stopped. `mend erase` records a person's
erasure request (see `mend_audit.erase`).

    mend audit history CASE [--as-of TIMESTAMP] [--json]
    mend audit halts [--case CASE] [--since TIMESTAMP] [--as-of TIMESTAMP] [--json]
    mend audit verify [--service NAME] [--no-kafka] [--jobs N] [--json]
    mend audit export CASE --format json|csv [--as-of TIMESTAMP] [--output FILE]
    mend audit report --agency AGENCY [--as-of TIMESTAMP] [--format json|csv]
    mend audit rebuild
    mend audit migrate
    mend erase PERSON --basis CODE [--agency AGENCY] [--token TOKEN] [--json]
    mend NAME ...   a tool another package adds (e.g. `mend hub ...`, see `plugins`)

Settings come from the `MEND_*` environment (`make status` prints them). Exit codes: 0 when all
holds, 1 when verification found a problem, 2 for a mistake in the request or an unreachable
database (said in one line, never a stack trace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import structlog
from mend_events.app.db import connect, create_pool
from mend_events.app.logging import scrub_personal_data
from mend_events.app.settings import SERVICES, Settings
from mend_events.errors import MendError

from mend_audit import erase
from mend_audit.export import FORMATS
from mend_audit.history import to_json
from mend_audit.projection import AUDIT_SCHEMA, CaseHistoryProjection, migrate
from mend_audit.reader import AuditReader, parse_moment
from mend_audit.render import render_halts, render_history
from mend_audit.reports import output as report_output

PROG = "mend"


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit code 2."""


# Tools other packages add to `mend`: an entry point `NAME = "module:main"` in the group
# `mend.commands` of the package's pyproject (e.g. the hub's `hub = "mend_hub.cli:main"`);
# `mend NAME ARGS...` calls `main(ARGS)` for its exit code. Found through the installed
# packages' metadata, so this package imports no service.
PLUGIN_GROUP = "mend.commands"
BUILT_IN = frozenset({"audit", "erase"})


def plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """The tools the installed packages add, by name (a built-in name is never taken over)."""
    found = importlib.metadata.entry_points(group=PLUGIN_GROUP)
    return {ep.name: ep for ep in found if ep.name not in BUILT_IN}


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
    audit.add_argument(
        "--ledger-schema", default="disclosure", help="schema of the disclosure ledger"
    )
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
        "--service",
        action="append",
        metavar="NAME",
        help=f"one of {', '.join(SERVICES)}, or disclosure (the disclosure ledger)",
    )
    verify.add_argument("--no-kafka", action="store_true", help="check the hash chains only")
    verify.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes hashing a large store's chains (default: one per CPU)",
    )
    verify.add_argument("--json", action="store_true")

    disclosures = commands.add_parser(
        "disclosures",
        help="who learned what about a person, when, under which grant (the disclosure ledger)",
    )
    disclosures.add_argument("--person", required=True, metavar="PERSON", help="pseudonymous id")
    disclosures.add_argument("--json", action="store_true")

    export = commands.add_parser("export", help="a case file as JSON or CSV")
    export.add_argument("case", metavar="CASE")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--as-of", metavar="TIMESTAMP")
    export.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    report = commands.add_parser(
        "report", help="an agency's figures for commissioners, small cells hidden"
    )
    report.add_argument("--agency", required=True, metavar="AGENCY")
    report.add_argument("--as-of", metavar="TIMESTAMP", help="as recorded by then (default: now)")
    report.add_argument("--format", default="json", choices=("json", "csv"))

    erase.add_parser(tools)
    for name, entry in sorted(plugins().items()):  # listed in `mend --help`; run by `main`
        tools.add_parser(name, help=f"see `{PROG} {name} --help` ({entry.value})", add_help=False)

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


# --- commands ----------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    schemas = _schemas(args.schema)
    if args.tool == "erase":
        return await erase.run(args, settings, schemas["consent"], _out)
    if args.command == "migrate":
        conn = await connect(settings.admin_database_url)
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
            ledger_schema=args.ledger_schema,
        )
        if args.command == "disclosures":
            rows = await reader.disclosures(args.person)
            _out(to_json(rows) if args.json else "\n".join(_disclosure_lines(rows)))
            return 0
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
            report = await reader.verify(
                services=args.service,
                kafka=not args.no_kafka,
                dsn=settings.database_url,
                jobs=max(1, args.jobs),
            )
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
        if args.command == "report":
            doc = await reader.commissioner_report(args.agency, as_of)
            _out(to_json(doc) if args.format == "json" else report_output.to_csv(doc))
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


def _disclosure_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return ["nothing about this person has left Mend"]
    return [
        f"{r['recorded_at']}  {r['kind']:<17} to {r['recipient_agency']} "
        f"({r['recipient_principal']})  case {r['case_id'] or '-'}  "
        f"events {len(r['event_ids'])}  fields {', '.join(r['field_paths']) or '-'}  "
        f"grant {r['grant_id'] or '-'} v{r['grant_version'] or '-'}  "
        f"{r['purpose'] or '-'} / {r['legal_basis'] or '-'}"
        for r in rows
    ]


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
    argv = list(sys.argv[1:] if argv is None else argv)
    tool = plugins().get(argv[0]) if argv else None
    if tool is not None:
        return int(tool.load()(argv[1:]) or 0)
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
