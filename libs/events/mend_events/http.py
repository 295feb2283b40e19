"""The HTTP edge shared by the services: errors as clear 4xx with the field and the reason,
a correlation id on every request, health, and the command context from the verified token.
Anything a client can send gets a 4xx; a 500 means a bug of ours and says nothing more."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple
from uuid import UUID, uuid4

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from mend_events.decider import CommandContext
from mend_events.errors import MendError
from mend_events.identity import Identity, require_identity

log = structlog.get_logger("mend.http")


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def create_app(
    service: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    *,
    version: str = "1",
) -> FastAPI:
    app = FastAPI(
        title=f"Mend {service} service",
        version=version,
        lifespan=lifespan,
    )

    @app.exception_handler(MendError)
    async def mend_error(_: Request, exc: MendError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Only the location and pydantic's message: never echo the input (it may be personal).
        errors = [{"field": _field_of(e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "reason": "invalid request"}
        return JSONResponse({"error": "invalid", **first, "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("http.unexpected", error=type(exc).__name__)
        return JSONResponse(
            {"error": "internal", "field": None, "reason": "unexpected server error"},
            status_code=500,
        )

    app.add_middleware(_Correlation)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    return app


class _Correlation:
    """A correlation id on every request (the client's `x-correlation-id` when it is a UUID),
    bound for logs and echoed on the response. Plain ASGI: a BaseHTTPMiddleware would cost a
    task group and a body stream copy per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        try:
            correlation_id = UUID(raw.decode("latin-1")) if raw else uuid4()
        except ValueError:
            correlation_id = uuid4()
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        echo = (b"x-correlation-id", str(correlation_id).encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), echo]
            await send(message)

        structlog.contextvars.bind_contextvars(correlation_id=str(correlation_id))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")


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
CaseId = Annotated[str, Path(pattern=r"^case-[A-Za-z0-9_-]{4,64}$")]
Caller = Annotated[Identity, Depends(require_identity)]
IdempotencyKey = Annotated[str | None, Header(max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def command_response(response: Response, case_id: str, result: Any) -> dict[str, Any]:
    """What every command answers: 201 when events were written, 200 when the command was
    already satisfied (a retry, a second withdrawal of the same grant)."""
    response.status_code = 201 if result.events else 200
    return {
        "case_id": case_id,
        "version": result.version,
        "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
    }


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
        return self.request.app.state.service


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
) -> None:
    """Register `POST path`, a command on the case in the path, answered by `command_response`.

    `body` is the request body's model (validated and documented as such; `optional_body` lets
    it be left out, as None); `case_id` is the case id's type and `ids` the path's other ids,
    name -> type. `build` turns them into the domain command: `build(body, **ids)`, or
    `build(**ids)` when there is no body; without it the body is the command. `run(call,
    command)` authorises and executes it. `name` names the route (and its OpenAPI operation id).
    """
    body_type, case_id_type, ids = body, case_id, dict(ids or {})
    if body_type is None and build is None:
        raise TypeError(f"{path}: a command route without a body needs `build`")

    async def endpoint(
        request: Request,
        case_id: str,
        ctx: CommandContext,
        identity: Identity,
        response: Response,
        idempotency_key: str | None = None,
        body: Any = None,
        **path_ids: Any,
    ) -> dict[str, Any]:
        if build is None:
            command = body
        elif body_type is None:
            command = build(**path_ids)
        else:
            command = build(body, **path_ids)
        call = CommandCall(request, case_id, ctx, identity, idempotency_key, path_ids)
        return command_response(response, case_id, await run(call, command))

    def param(param_name: str, annotation: Any, default: Any = inspect.Parameter.empty):
        kind = inspect.Parameter.KEYWORD_ONLY
        return inspect.Parameter(param_name, kind, annotation=annotation, default=default)

    # What FastAPI reads instead of the code's own annotations (strings, under `from __future__
    # import annotations`): real objects, so the body is validated and documented by its model.
    params = [
        param("request", Request),
        param("case_id", case_id_type),
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
) -> None:
    """`command_route` for every row of `commands`, run as `run_as(row.action)` unless the row
    has its own `run`; `ids` (name -> type) are the path ids the rows may name, each route taking
    those its path names."""
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
        )
