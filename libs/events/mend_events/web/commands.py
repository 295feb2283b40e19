"""The command routes of the services: the command context from the verified token, the
typed path ids, and one table of case commands turned into idempotent POST routes."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from mend_events.commands.decider import CommandContext
from mend_events.commands.idempotency import RequestKey
from mend_events.security.identity import Identity, require_identity
from mend_events.web.inputs import CASE_ID_PATTERN, SESSION_ID_PATTERN


async def command_context(
    request: Request,
    identity: Annotated[Identity, Depends(require_identity)],
) -> CommandContext:
    """Who acts (from the verified token) and when (the server's clock, never the client's)."""
    return CommandContext(
        actor=identity.actor, now=datetime.now(UTC), correlation_id=request.state.correlation_id
    )


Ctx = Annotated[CommandContext, Depends(command_context)]
# A case id in a path: pseudonymous, e.g. `case-9c1d2e4f`; anything else is a 422 on `case_id`.
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN)]
# A session id in a path: a pseudonymous id, e.g. `sess-0001`; anything else is a 422.
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
Caller = Annotated[Identity, Depends(require_identity)]
IdempotencyKey = Annotated[str | None, Header(max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def command_response(
    response: Response, case_id: str, result: Any, key: str = "case_id"
) -> dict[str, Any]:
    """What every command answers: 201 when events were written, 200 when the command was
    already satisfied (a retry, a second withdrawal of the same grant). `key` names the path's
    first id (a case's; the hub's agency routes answer with their `agency_id`)."""
    response.status_code = 201 if result.events else 200
    return {
        key: case_id,
        "version": result.version,
        "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
    }


def request_digest(route: str, ids: Mapping[str, Any], body: Any) -> str:
    """A digest of what a command request asks (never its text): an idempotency key is bound
    to it. The body as its model's JSON, so spacing or key order do not make another request."""
    dump = getattr(body, "model_dump_json", None)
    text = dump() if callable(dump) else json.dumps(body, sort_keys=True, default=str)
    path = json.dumps({k: str(v) for k, v in ids.items()}, sort_keys=True)
    return hashlib.sha256(f"{route}|{path}|{text}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CommandCall:
    """One command request as its route received it: the case, who acts and when, the
    idempotency key, the path's other ids, and the request (for the app's service and runtime)."""

    request: Request
    case_id: str
    ctx: CommandContext
    identity: Identity
    idempotency_key: str | None
    ids: Mapping[str, Any]

    @property
    def service(self) -> Any:
        return app_service(self.request)


def app_service(request: Request) -> Any:
    """The service object of the app the request reached (built when its runtime started): a
    route's dependency, `Annotated[XService, Depends(app_service)]`."""
    return request.app.state.service


# Authorise and execute one domain command; answers the CommandResult.
Run = Callable[[CommandCall, Any], Awaitable[Any]]


def command_route(
    api: APIRouter,
    path: str,
    *,
    name: str,
    summary: str,
    run: Run,
    body: Any = None,
    optional_body: bool = False,
    ids: Mapping[str, Any] | None = None,
    build: Callable[..., Any] | None = None,
    case_id: Any = CaseId,
    status_code: int = 201,
    key: str = "case_id",
) -> None:
    """Register `POST path`, a command on the case in the path, answered by `command_response`.

    `body` is the request body's model (validated and documented as such; `optional_body` lets
    it be left out, as None); `case_id` is the case id's type and `ids` the path's other ids,
    name -> type. `build` turns them into the domain command: `build(body, **ids)`, or
    `build(**ids)` when there is no body; without it the body is the command. `run(call,
    command)` authorises and executes it. `name` names the route (and its OpenAPI operation id).
    `key` is the name of the path's first id, `case_id` unless the routes are on something else
    (the hub's agencies: `agency_id`); the call carries it as `case_id` all the same.
    """
    body_type, case_id_type, ids, id_name = body, case_id, dict(ids or {}), key
    if body_type is None and build is None:
        raise TypeError(f"{path}: a command route without a body needs `build`")

    async def endpoint(
        *,
        request: Request,
        ctx: CommandContext,
        identity: Identity,
        response: Response,
        case_id: str = "",  # under another name (`key`) it arrives in `path_ids`
        idempotency_key: str | None = None,
        body: Any = None,
        **path_ids: Any,
    ) -> dict[str, Any]:
        if id_name != "case_id":
            case_id = path_ids.pop(id_name)
        try:
            if build is None:
                command = body
            elif body_type is None:
                command = build(**path_ids)
            else:
                command = build(body, **path_ids)
        except ValidationError as exc:  # the command's own checks: the client's error too
            raise RequestValidationError(exc.errors(include_input=False)) from None
        key = None
        if idempotency_key is not None:  # bound to this request: route, path ids and body
            key = RequestKey(idempotency_key, request_digest(name, path_ids, body))
        call = CommandCall(request, case_id, ctx, identity, key, path_ids)
        return command_response(response, case_id, await run(call, command), id_name)

    def param(param_name: str, annotation: Any, default: Any = inspect.Parameter.empty):
        kind = inspect.Parameter.KEYWORD_ONLY
        return inspect.Parameter(param_name, kind, annotation=annotation, default=default)

    # What FastAPI reads instead of the code's own annotations (strings, under `from __future__
    # import annotations`): real objects, so the body is validated and documented by its model.
    params = [
        param("request", Request),
        param(id_name, case_id_type),
        *(param(key, annotation) for key, annotation in ids.items()),
        param("ctx", Ctx),
        param("identity", Caller),
        param("response", Response),
        param("idempotency_key", IdempotencyKey, None),
    ]
    if body_type is not None and optional_body:
        params.append(param("body", body_type | None, None))
    elif body_type is not None:
        params.append(param("body", body_type))
    endpoint.__signature__ = inspect.Signature(params, return_annotation=dict[str, Any])
    endpoint.__name__ = endpoint.__qualname__ = name
    api.post(path, status_code=status_code, summary=summary, name=name)(endpoint)


class CaseCommand(NamedTuple):
    """One row of a table of command routes (`command_routes`): `POST <prefix><path>`, named
    `name`, run as `action` (or by `run`, when given); `body`, `build` and `optional_body` as
    `command_route` takes them."""

    path: str
    name: str
    action: Any
    summary: str
    body: Any = None
    build: Callable[..., Any] | None = None
    optional_body: bool = False
    run: Run | None = None


def command_routes(
    api: APIRouter,
    prefix: str,
    commands: Iterable[CaseCommand],
    *,
    run_as: Callable[[Any], Run],
    ids: Mapping[str, Any] | None = None,
    case_id: Any = CaseId,
    key: str = "case_id",
) -> None:
    """`command_route` for every row of `commands`, run as `run_as(row.action)` unless the row
    has its own `run`; `ids` (name -> type) are the path ids the rows may name, each route taking
    those its path names; `key` names the path's first id (`command_route`)."""
    for row in commands:
        path = f"{prefix}{row.path}"
        command_route(
            api,
            path,
            name=row.name,
            summary=row.summary,
            run=row.run or run_as(row.action),
            body=row.body,
            optional_body=row.optional_body,
            ids={key: kind for key, kind in (ids or {}).items() if f"{{{key}}}" in path},
            build=row.build,
            case_id=case_id,
            key=key,
        )
