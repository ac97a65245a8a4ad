"""Request limits shared by the hub's routers: a cap on the body read (413 before it is held in memory) and
validation errors that can always be sent back (the offending input is not echoed: it may be a lone surrogate,
NaN or megabytes of text, and it may be personal)."""
from __future__ import annotations

import errno
from typing import Callable

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError

DEFAULT_MAX_BODY = 256 * 1024


def _safe(value) -> str | int:
    if isinstance(value, int):
        return value
    text = str(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:200]


def validation_response(exc: RequestValidationError) -> JSONResponse:
    detail = []
    for err in exc.errors():
        detail.append({"loc": [_safe(p) for p in err.get("loc", ())], "msg": _safe(err.get("msg", "")),
                       "type": _safe(err.get("type", ""))})
    return JSONResponse({"detail": detail}, status_code=422)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class _Capped:
    def __init__(self, receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.seen = 0
        self.exceeded = False

    async def __call__(self):
        message = await self.receive()
        if message.get("type") == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.exceeded = True
                raise BodyTooLarge(self.limit)
        return message


def retry_shortly(detail: str) -> HTTPException:
    """`409` with `Retry-After`: another call with the same key is still at work. A kiosk's outbox sends it again
    rather than give it up (the proxy service's `Busy` answers the same way)."""
    return HTTPException(409, detail, headers={"Retry-After": "1"})


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC from a file write, or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return "disk is full" in text or "no space left" in text or "could not extend file" in text
    return False


def disk_full_response() -> JSONResponse:
    return JSONResponse({"detail": "the hub's disk is full; the case stays in the kiosk's outbox and is sent"
                                   " once an operator has freed space"}, status_code=507,
                        headers={"Retry-After": "60"})


def limited_route(max_body: int = DEFAULT_MAX_BODY) -> type[APIRoute]:
    """An APIRoute class whose requests may carry at most `max_body` bytes (413 otherwise), whose validation
    errors are always serialisable, and which answers a full disk with 507 instead of a bare 500."""

    def too_large() -> JSONResponse:  # built when needed, not for every request
        return JSONResponse({"detail": f"request body larger than {max_body} bytes"}, status_code=413)

    class LimitedRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                declared = request.headers.get("content-length")
                if declared is not None and (not declared.isdigit() or int(declared) > max_body):
                    return too_large()
                capped = _Capped(request.receive, max_body)
                request = Request(request.scope, capped)
                try:
                    return await handler(request)
                except BodyTooLarge:
                    return too_large()
                except RequestValidationError as exc:
                    return validation_response(exc)
                except HTTPException:
                    if capped.exceeded:  # FastAPI turns an error while reading the body into a 400
                        return too_large()
                    raise
                except Exception as exc:
                    if is_disk_full(exc):
                        return disk_full_response()
                    raise

            return limited

    return LimitedRoute
