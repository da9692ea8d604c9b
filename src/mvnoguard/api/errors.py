"""Every error of the HTTP API in the one shape ``{"error": {code, message, field?, details?}}``.

Our own errors render through ``as_dict()`` with their ``http_status`` (a 401 carries
``WWW-Authenticate: Bearer``, a 429 ``Retry-After`` when the wait is known); FastAPI's validation
errors become 422 ``invalid_input`` naming the field; routing errors keep their status (404,
405); an oversized body is refused with 413 before it is parsed; a unique key another request
won at the same moment is 409 ``conflict`` (send again); anything unexpected is a bare 500
``internal``. Validation answers never echo the submitted value, which may be an identity
number.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mvnoguard.errors import MvnoguardError, RateLimited, Unauthorized

logger = logging.getLogger("mvnoguard.api")

MAX_BODY_BYTES = 64 * 1024

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, *, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    if extra:
        body["details"] = extra
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _our_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MvnoguardError)
    if exc.http_status >= 500:
        logger.error("server error %s: %s", exc.code, exc.message)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, RateLimited) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.as_dict(), status_code=exc.http_status, headers=headers or None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        # A JSON syntax error's location is a character position, not a field.
        {"field": "body", "message": "not valid JSON"}
        if err.get("type") == "json_invalid"
        else {"field": _field_name(tuple(err.get("loc", ()))), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return error_response(
        422,
        "invalid_input",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=problems,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = error_response(exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _write_conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    # The rules lock what they check (storage.database.hold_locks); a unique key that another
    # request still won is a race the caller settles by sending the request again.
    logger.warning("write conflict: %s", type(exc.orig).__name__ if exc.orig else "integrity")
    return error_response(
        409,
        "conflict",
        "another request changed the same record at the same time; send this one again",
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MvnoguardError, _our_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _write_conflict)
    app.add_exception_handler(Exception, _unexpected)


class BodySizeLimit:
    """Refuses a request body over ``limit`` bytes with 413 before any handler parses it.

    The declared ``Content-Length`` is checked first; a chunked body (with or without a
    ``Content-Length`` beside it) is read up to the limit and replayed to the application.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        # A chunked body's length is what arrives: a Content-Length sent beside it is no limit
        # (some servers read the chunks all the same), so the bytes themselves are counted.
        if declared is not None and b"transfer-encoding" not in headers:
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "body_too_large", f"the request body exceeds {self.limit} bytes"
        )
        await response(scope, receive, send)
