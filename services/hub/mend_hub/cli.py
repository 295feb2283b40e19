"""`mend hub ...`: agencies, staff and allocations from the command line, through the hub's HTTP
API with the caller's own token (so the same rules decide as for any other client).

    mend hub agency add AGENCY --name NAME [--sign-in local|oidc] [--key KID=PEMFILE]...
    mend hub agency show|suspend|reinstate AGENCY [--reason CODE]
    mend hub agency key add AGENCY KID --pem FILE
    mend hub agency key retire AGENCY KID [--at TIMESTAMP]
    mend hub agency idp set AGENCY --issuer URL --jwks-url URL [--audience A]
        [--role-claim C] [--subject-claim C]
    mend hub staff add PERSON --role ROLE [--agency AGENCY]
    mend hub staff qualify PERSON --level N [--rj-trained] [--sexual-harm-trained]
        [--specialism S]... [--agency AGENCY]
    mend hub staff deactivate PERSON --reason CODE [--agency AGENCY]
    mend hub staff reactivate PERSON [--agency AGENCY]
    mend hub staff list [--agency AGENCY]
    mend hub allocate CASE PRACTITIONER [--reason CODE]
    mend hub deallocate CASE PRACTITIONER --reason CODE
    mend hub reallocate CASE FROM TO --reason CODE
    mend hub caseload [PERSON]
    mend hub history CASE
    mend hub person add|show|contact|reads|details|route ...   (mend_hub.people.cli)

Every command takes `--json` (the API's answer as JSON), `--token` (default `$MEND_TOKEN`) and
`--url` (default `$MEND_HUB_URL`, else the local hub on 8106). `--agency` defaults to the
token's. Exit codes: 0 done, 2 refused or unreachable (one line on standard error: the API's
reason and field, never a stack trace). The `mend` script (services/audit) finds this module
through the `mend.commands` entry point declared in services/hub/pyproject.toml."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
from mend_events.app.config import CliSettings

from mend_hub.cli_text import render
from mend_hub.people import cli as people_cli

PROG = "mend hub"
Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


class UsageError(Exception):
    """A mistake on the command line, said in one line (exit code 2)."""


# --- the requests each command makes ------------------------------------------------------------


def _token_agency(token: str) -> str | None:
    """The agency the token names (unverified: only a default; the hub verifies it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def _pem(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read the key file {path}: {type(exc).__name__}") from None


def _keys(pairs: Sequence[str]) -> list[dict[str, str]]:
    keys = []
    for pair in pairs:
        kid, sep, path = pair.partition("=")
        if not sep or not kid or not path:
            raise UsageError(f"--key {pair!r}: expected KID=PEMFILE")
        keys.append({"kid": kid, "public_key_pem": _pem(path)})
    return keys


def _agency_request(a: argparse.Namespace) -> Request:
    base = f"/agencies/{a.agency}"
    if a.action == "add":
        body = {"agency_id": a.agency, "name": a.name, "sign_in": a.sign_in, "keys": _keys(a.key)}
        return "POST", "/agencies", body
    if a.action == "show":
        return "GET", base, None
    if a.action == "suspend":
        return "POST", f"{base}/suspension", {"reason": a.reason}
    if a.action == "reinstate":
        return "POST", f"{base}/reinstatement", None
    if a.action == "key" and a.key_action == "add":
        return "POST", f"{base}/keys", {"kid": a.kid, "public_key_pem": _pem(a.pem)}
    if a.action == "key":
        body = {"retired_at": a.at} if a.at else None
        return "POST", f"{base}/keys/{a.kid}/retirement", body
    idp = {"issuer": a.issuer, "jwks_url": a.jwks_url, "audience": a.audience,
           "role_claim": a.role_claim, "subject_claim": a.subject_claim}  # fmt: skip
    return "POST", f"{base}/identity-provider", idp


def _staff_request(a: argparse.Namespace) -> Request:
    base = f"/agencies/{a.agency}/staff"
    if a.action == "add":
        return "POST", base, {"person_id": a.person, "role": a.role}
    if a.action == "qualify":
        body = {"rj_trained": a.rj_trained, "sexual_harm_trained": a.sexual_harm_trained,
                "level": a.level, "specialisms": a.specialism}  # fmt: skip
        return "POST", f"{base}/{a.person}/qualifications", body
    if a.action == "deactivate":
        return "POST", f"{base}/{a.person}/deactivation", {"reason": a.reason}
    if a.action == "reactivate":
        return "POST", f"{base}/{a.person}/reactivation", None
    return "GET", base, None


def _case_request(a: argparse.Namespace) -> Request:
    base = f"/cases/{a.case}/allocations"
    if a.command == "allocate":
        return "POST", base, {"practitioner_id": a.practitioner, "reason": a.reason}
    if a.command == "deallocate":
        return "POST", f"{base}/{a.practitioner}/end", {"reason": a.reason}
    if a.command == "reallocate":
        body = {"from_practitioner_id": a.from_practitioner, "to_practitioner_id": a.to,
                "reason": a.reason}  # fmt: skip
        return "POST", f"{base}/reallocation", body
    return "GET", base, None


# --- the command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="the API's answer as JSON")
    common.add_argument("--token", help="the caller's signed token (default: $MEND_TOKEN)")
    common.add_argument("--url", help="the hub's URL (default: $MEND_HUB_URL or the local hub)")
    agency_opt = argparse.ArgumentParser(add_help=False)
    agency_opt.add_argument("--agency", help="the agency (default: the token's)")
    kw = {"parents": [common]}

    parser = argparse.ArgumentParser(prog=PROG, description="Agencies, staff and allocations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    agency = commands.add_parser("agency", help="onboard, suspend, keys, identity provider")
    actions = agency.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="onboard an agency (the deployment's operators)", **kw)
    add.add_argument("agency")
    add.add_argument("--name", required=True)
    add.add_argument("--sign-in", choices=("local", "oidc"), default="local")
    add.add_argument("--key", action="append", default=[], metavar="KID=PEMFILE")
    actions.add_parser("show", help="the agency's record", **kw).add_argument("agency")
    suspend = actions.add_parser("suspend", help="refuse every token of the agency", **kw)
    suspend.add_argument("agency")
    suspend.add_argument("--reason", required=True)
    actions.add_parser("reinstate", help="reinstate a suspended agency", **kw).add_argument(
        "agency"
    )
    key = actions.add_parser("key", help="add or retire a token key")
    key_actions = key.add_subparsers(dest="key_action", required=True, metavar="ACTION")
    key_add = key_actions.add_parser("add", help="add a public key (Ed25519 PEM)", **kw)
    key_add.add_argument("agency")
    key_add.add_argument("kid")
    key_add.add_argument("--pem", required=True, metavar="FILE")
    retire = key_actions.add_parser("retire", help="retire a key, now or later", **kw)
    retire.add_argument("agency")
    retire.add_argument("kid")
    retire.add_argument("--at", metavar="TIMESTAMP", help="ISO 8601 with zone (default: now)")
    idp = actions.add_parser("idp", help="the agency's OpenID Connect provider")
    idp_actions = idp.add_subparsers(dest="idp_action", required=True, metavar="ACTION")
    idp_set = idp_actions.add_parser("set", help="set the identity provider", **kw)
    idp_set.add_argument("agency")
    idp_set.add_argument("--issuer", required=True)
    idp_set.add_argument("--jwks-url", required=True)
    idp_set.add_argument("--audience", default="mend")
    idp_set.add_argument("--role-claim", default="mend_role")
    idp_set.add_argument("--subject-claim", default="mend_pid")

    staff = commands.add_parser("staff", help="enrol, qualify, deactivate, list")
    staff_actions = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    skw = {"parents": [common, agency_opt]}
    s_add = staff_actions.add_parser("add", help="enrol a member of staff", **skw)
    s_add.add_argument("person")
    s_add.add_argument("--role", required=True)
    qualify = staff_actions.add_parser("qualify", help="record qualifications", **skw)
    qualify.add_argument("person")
    qualify.add_argument("--level", type=int, required=True)
    qualify.add_argument("--rj-trained", action="store_true")
    qualify.add_argument("--sexual-harm-trained", action="store_true")
    qualify.add_argument("--specialism", action="append", default=[])
    off = staff_actions.add_parser("deactivate", help="end sign-in and allocations", **skw)
    off.add_argument("person")
    off.add_argument("--reason", required=True)
    staff_actions.add_parser("reactivate", help="reactivate", **skw).add_argument("person")
    staff_actions.add_parser("list", help="the agency's staff", **skw)

    allocate = commands.add_parser("allocate", help="allocate a practitioner to a case", **kw)
    allocate.add_argument("case")
    allocate.add_argument("practitioner")
    allocate.add_argument("--reason", default="new_case")
    deallocate = commands.add_parser("deallocate", help="end an allocation", **kw)
    deallocate.add_argument("case")
    deallocate.add_argument("practitioner")
    deallocate.add_argument("--reason", required=True)
    realloc = commands.add_parser("reallocate", help="move a case to another practitioner", **kw)
    realloc.add_argument("case")
    realloc.add_argument("from_practitioner", metavar="FROM")
    realloc.add_argument("to", metavar="TO")
    realloc.add_argument("--reason", required=True)
    caseload = commands.add_parser("caseload", help="a practitioner's cases now", **kw)
    caseload.add_argument("person", nargs="?", help="default: the token's person")
    commands.add_parser("history", help="a case's allocations over time", **kw).add_argument("case")
    people_cli.add_parser(commands, **kw)
    return parser


def _request(args: argparse.Namespace, token: str) -> Request:
    if args.command in {"staff"} and not args.agency:
        args.agency = _token_agency(token)
        if not args.agency:
            raise UsageError("no agency: pass --agency (the token names none)")
    builders: dict[str, Callable[[argparse.Namespace], Request]] = {
        "agency": _agency_request,
        "staff": _staff_request,
    }
    if args.command in builders:
        return builders[args.command](args)
    if args.command == "person":
        return people_cli.request(args)
    if args.command == "caseload":
        person = args.person or jwt.decode(token, options={"verify_signature": False}).get("sub")
        return "GET", f"/practitioners/{person}/caseload", None
    return _case_request(args)


def _call(url: str, token: str, request: Request) -> httpx.Response:
    method, path, body = request
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.request(method, path, json=body, headers=headers)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = CliSettings.load()
    url = args.url or config.hub_url
    try:
        token = args.token or (config.token.get_secret_value() if config.token else None)
        if not token:
            raise UsageError("no token: pass --token or set MEND_TOKEN")
        response = _call(url, token, _request(args, token))
    except (UsageError, people_cli.PeopleUsageError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(
            f"{PROG}: error: cannot reach the hub at {url}: {type(exc).__name__}", file=sys.stderr
        )
        return 2
    try:
        answer = response.json()
    except ValueError:
        answer = {"reason": f"HTTP {response.status_code}", "field": None}
    if response.status_code >= 400:
        field = f" ({answer.get('field')})" if answer.get("field") else ""
        reason = answer.get("reason") or f"HTTP {response.status_code}"
        print(f"{PROG}: error: {response.status_code} {reason}{field}", file=sys.stderr)
        return 2
    print(json.dumps(answer, indent=2, sort_keys=True) if args.json else render(args, answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
