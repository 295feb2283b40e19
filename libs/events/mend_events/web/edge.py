"""The ASGI layer every service's app runs behind: request bodies are strict UTF-8 JSON of a
bounded size without duplicate keys or NUL characters, queries carry no NUL either, and every
request carries a correlation id (the client's when it is a UUID, else a new one)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID, uuid4

import structlog
from fastapi.responses import JSONResponse

from mend_events import metrics

# The largest request body any route takes: commands are a few hundred bytes; anything near
# this is a mistake or an attack, refused before it is read (413).
MAX_BODY_BYTES = 64 * 1024


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


class StrictBody:
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


class Correlation:
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


class Timing:
    """Each request's time into `mend_http_request_duration_seconds`, labelled by the route's
    template (`/cases/{case_id}`), never the path a client sent (ids, unbounded)."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.HTTP_SECONDS.labels(
                self.service, scope["method"], route, str(status[0])
            ).observe(time.perf_counter() - start)
