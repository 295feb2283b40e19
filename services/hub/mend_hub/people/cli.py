"""`mend hub person ...`: the people directory from the command line (part of `mend hub`, through
the hub's HTTP API with the caller's token, so the same rule decides and every contact read is
recorded with its purpose).

    mend hub person add PERSON
    mend hub person details PERSON --file FILE      (JSON: name, preferred_name, pronouns, ...)
    mend hub person show PERSON
    mend hub person route add PERSON --file FILE    (JSON: channel, address, safe_times, ...)
    mend hub person route remove PERSON ROUTE
    mend hub person contact PERSON --purpose CODE
    mend hub person reads PERSON

Details never go on the command line, where the shell's history and the process list would keep
them: they come from a file, or standard input with `--file -`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mend_events.contracts.catalog.hub import ContactReadPurpose

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body (as mend_hub.cli)


class PeopleUsageError(ValueError):
    """A mistake on the command line, said in one line; never quoting the file's content."""


def add_parser(commands: Any, **kw: Any) -> None:
    """The `person` command and its actions, on `mend hub`'s sub-parsers."""
    person = commands.add_parser("person", help="the people directory: participants' details")
    actions = person.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("add", help="register a participant in the agency", **kw).add_argument(
        "person"
    )
    details = actions.add_parser("details", help="record the person's details", **kw)
    details.add_argument("person")
    details.add_argument("--file", required=True, help="JSON file of the details ('-': stdin)")
    actions.add_parser("show", help="the person's details", **kw).add_argument("person")
    route = actions.add_parser("route", help="add or remove a contact route")
    route_actions = route.add_subparsers(dest="route_action", required=True, metavar="ACTION")
    r_add = route_actions.add_parser("add", help="record a safe way to reach the person", **kw)
    r_add.add_argument("person")
    r_add.add_argument("--file", required=True, help="JSON file of the route ('-': stdin)")
    r_remove = route_actions.add_parser("remove", help="remove a contact route", **kw)
    r_remove.add_argument("person")
    r_remove.add_argument("route")
    contact = actions.add_parser("contact", help="read the contact routes (recorded)", **kw)
    contact.add_argument("person")
    contact.add_argument("--purpose", required=True, choices=[str(p) for p in ContactReadPurpose])
    actions.add_parser("reads", help="who read the contact routes", **kw).add_argument("person")


def _body(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        body = json.loads(text)
    except (OSError, UnicodeError, ValueError) as exc:
        raise PeopleUsageError(f"cannot read JSON from {path}: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise PeopleUsageError(f"{path}: expected a JSON object")
    return body


def request(args: argparse.Namespace) -> Request:
    base = f"/people/{args.person}"
    if args.action == "add":
        return "POST", "/people", {"person_id": args.person}
    if args.action == "details":
        return "PUT", f"{base}/details", _body(args.file)
    if args.action == "show":
        return "GET", base, None
    if args.action == "route" and args.route_action == "add":
        return "POST", f"{base}/contact-routes", _body(args.file)
    if args.action == "route":
        return "DELETE", f"{base}/contact-routes/{args.route}", None
    if args.action == "contact":
        return "GET", f"{base}/contact?purpose={args.purpose}", None
    return "GET", f"{base}/reads", None


def _value(v: Any) -> str:
    return "-" if v is None else str(v)


def render(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    """What a person reads (without `--json`)."""
    who = answer.get("person_id")
    if args.action == "show":
        head = f"Person {who} ({answer['kind']}, {answer['agency']})"
        if answer["erased"]:
            return f"{head}: details erased"
        lines = [head + ("" if answer["recorded"] else ": no details recorded")]
        lines += [f"  {k}: {_value(v)}" for k, v in answer["details"].items() if v is not None]
        return "\n".join(lines)
    if args.action == "contact":
        lines = [f"Contact routes of {who} (read {answer['read_id']} recorded, "
                 f"purpose {answer['purpose']}):"]  # fmt: skip
        if answer["erased"]:
            lines.append("  details erased")
        for r in answer["routes"]:
            messages = "messages may be left" if r["may_leave_messages"] else "no messages"
            lines.append(f"  {r['route_id']}  {r['channel']}: {_value(r['address'])}; "
                         f"safe times: {_value(r['safe_times'])}; {messages}; "
                         f"who knows: {_value(r['who_knows'])}")  # fmt: skip
        return "\n".join(lines)
    if args.action == "reads":
        lines = [f"Reads of {who}'s contact routes ({len(answer['reads'])}):"]
        for r in answer["reads"]:
            via = f", via {r['via_case']}" if r["via_case"] else ""
            lines.append(f"  {r['read_at']}  {r['reader_id']} ({r['reader_role']}, "
                         f"{r['reader_agency']})  {r['purpose']}{via}")  # fmt: skip
        return "\n".join(lines)
    events = answer.get("events") or []
    if not events:
        return f"{who}: nothing to do (already so)"
    route = f", route {answer['route_id']}" if answer.get("route_id") else ""
    return f"{who}: {', '.join(e['type'] for e in events)} (version {answer['version']}){route}"
