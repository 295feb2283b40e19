"""The HTTP edge shared by the services: errors as clear 4xx with the field and the reason,
a correlation id on every request, health, and the command context from the verified token.
Anything a client can send gets a 4xx; a 500 means a bug of ours and says nothing more."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple
from urllib.parse import parse_qsl
from uuid import UUID, uuid4

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from mend_events.application import RequestKey
from mend_events.decider import CommandContext
from mend_events.errors import MendError
from mend_events.identity import Identity, require_identity
from mend_events.inputs import CASE_ID_PATTERN, SESSION_ID_PATTERN

__all__ = ["CASE_ID_PATTERN", "SESSION_ID_PATTERN"]

log = structlog.get_logger("mend.http")

# The largest request body any route takes: commands are a few hundred bytes; anything near
# this is a mistake or an attack, refused before it is read (413).
MAX_BODY_BYTES = 64 * 1024
# Statuses the shared edge and the domain's errors answer: declared on every operation.
_ERROR_STATUSES = {
    "400": "Malformed request (a body that is not UTF-8 JSON)",
    "401": "No valid token",
    "403": "The caller may not do this on this case",
    "404": "No such case or resource",
    "409": "A conflicting write (a stale expected version)",
    "413": "The request body is too large",
    "422": "Invalid input, or a rule of the domain refuses the command",
    "503": "A dependency is behind or busy: try again shortly",
}
_BODY_ONLY = {"409", "413"}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def create_app(
    service: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    *,
    version: str = "1",
    max_body_bytes: int = MAX_BODY_BYTES,
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

    app.add_middleware(_StrictBody, max_body_bytes=max_body_bytes)
    app.add_middleware(_Correlation)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI, with every error status the shared edge can answer declared on every
    operation (one place, not per route), each as the one error shape."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, routes=app.routes, description=app.description
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "reason": {"type": "string"},
        },
        "required": ["error", "field", "reason"],
    }
    for operations in doc.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if method == "post" and "201" in responses and "200" not in responses:
                # `command_response`: 201 when events were written, 200 when already satisfied.
                responses["200"] = {
                    **responses["201"],
                    "description": "Already satisfied (a retry): nothing new was written",
                }
            for status, description in _ERROR_STATUSES.items():
                if status in _BODY_ONLY and method not in ("post", "put", "patch"):
                    continue
                responses[status] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc


class _BadBody(Exception):
    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.field, self.reason = status, field, reason


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _BadBody(422, key, "duplicate key in the JSON object")
        seen[key] = value
    return seen


def _nul_at(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where a string with a NUL character is (PostgreSQL text cannot hold one), if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, (*path, key)) or _nul_at(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def check_json(raw: bytes) -> None:
    """Raise `_BadBody` unless `raw` is strict JSON: UTF-8 (no BOM), well formed, no object with
    a key twice (the last would silently win), no NUL in any string, not absurdly nested."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadBody(400, "body", "the body is not valid UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _BadBody(
            422, "body", f"malformed JSON at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _BadBody(422, "body", "the JSON is nested too deeply") from None
    if "\\u0000" in text:
        where = _nul_at(value)
        if where is not None:
            raise _BadBody(422, ".".join(where) or "body", "NUL characters are not allowed")


class _StrictBody:
    """Every request body is bounded and strict JSON before any route sees it: over
    `max_body_bytes` is a 413 (from the announced length before reading, or as soon as the
    stream passes it), and what `check_json` refuses is a 4xx naming the field. A NUL in the
    query is refused too: no string a client sends reaches PostgreSQL with one."""

    def __init__(self, app: Any, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_query(scope.get("query_string", b""))
            if scope["method"] not in ("POST", "PUT", "PATCH"):
                await self.app(scope, receive, send)
                return
            raw = await self._read(scope, receive)
            if raw:
                check_json(raw)
        except _BadBody as bad:
            body = {"error": "invalid", "field": bad.field, "reason": bad.reason}
            if bad.status == 413:
                body["error"] = "too_large"
            await JSONResponse(body, status_code=bad.status)(scope, receive, send)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # a disconnect, when the client goes

        await self.app(scope, replay, send)

    async def _read(self, scope: dict[str, Any], receive: Any) -> bytes:
        too_large = _BadBody(413, "body", f"the body exceeds {self.max_body_bytes} bytes")
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                raise _BadBody(400, "content-length", "not a number of bytes") from None
            if announced > self.max_body_bytes:
                raise too_large
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _check_query(query: bytes) -> None:
    if b"%00" not in query and b"\x00" not in query:
        return
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            field = key if "\x00" not in key else "query"
            raise _BadBody(422, field, "NUL characters are not allowed")


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
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN)]
# A session id in a path: a pseudonymous id, e.g. `sess-0001`; anything else is a 422.
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
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
