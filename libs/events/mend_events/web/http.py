"""The HTTP edge shared by the services: the app factory (errors as clear 4xx with the field
and the reason, health) and the OpenAPI document it declares. The ASGI layer (strict bodies, the
correlation id) is in `http_edge`; the command routes in `http_commands`.
Anything a client can send gets a 4xx; a 500 means a bug of ours and says nothing more."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from mend_events import metrics
from mend_events.errors import MendError
from mend_events.web.edge import MAX_BODY_BYTES, Correlation, StrictBody, Timing
from mend_events.web.inputs import CASE_ID_PATTERN, SESSION_ID_PATTERN

__all__ = ["CASE_ID_PATTERN", "SESSION_ID_PATTERN"]

log = structlog.get_logger("mend.http")

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

    app.add_middleware(StrictBody, max_body_bytes=max_body_bytes)
    app.add_middleware(Correlation)
    app.add_middleware(Timing, service=service)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    # Prometheus' scrape, without a token: names and counts only, no case and no person (see
    # mend_events.metrics); in a deployment reachable from the cluster's network only.
    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

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
