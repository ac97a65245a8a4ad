"""The hub's database away or saturated, answered in words: `503` with `Retry-After` instead of a bare `500` and a
traceback per request. A kiosk's outbox, the counter and the 代办 clients already send a 5xx again later; the
same request with the same `Idempotency-Key` is safe to repeat. The log gets one line a minute, not one per request
(a hub whose database is down must not fill its disk with the same traceback)."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc

from kiosk.hub.limits import disk_full_response, is_disk_full
from kiosk.hub.logs_throttle import Throttle
from kiosk.i18n import N_, gettext

log = logging.getLogger("kiosk.hub")

RETRY_AFTER_S = 5

_DETAIL = {
    "unreachable": "the hub's database is unreachable; nothing needs to be entered again: retry in a few seconds"
                   " (an operator should check that the database server is running)",
    "busy": "the hub's database is too busy to answer now; retry in a few seconds",
}
_PAGE = {  # the supervisors' console: a page in the viewer's language
    "unreachable": (N_("The hub's database cannot be reached"),
                    N_("Nothing was lost. Reload this page in a minute; if it stays like this, ask the operator to"
                       " check the database server.")),
    "busy": (N_("The hub is too busy to answer"), N_("Nothing was lost. Reload this page in a few seconds.")),
}


_BUSY = ("database is locked", "database table is locked",  # SQLite past its busy timeout
         "deadlock detected", "could not serialize", "lock timeout", "canceling statement",  # PostgreSQL
         "too many clients", "too many connections", "remaining connection slots")


def kind_of(exc: BaseException) -> str | None:
    """`"unreachable"`, `"busy"` or None (an error of another kind: a bug, answered 500 as before)."""
    if isinstance(exc, sa_exc.TimeoutError):  # every pooled connection in use for longer than the pool's timeout
        return "busy"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    text = str(exc.orig).lower()
    if isinstance(exc, sa_exc.OperationalError):
        return "busy" if any(word in text for word in _BUSY) else "unreachable"
    if exc.connection_invalidated:  # the server closed the connection under a statement
        return "unreachable"
    return None


def answer(request: Request, exc: Exception) -> Response:
    if is_disk_full(exc):
        return disk_full_response()
    kind = kind_of(exc)
    if kind is None:
        raise exc  # not the database's state: the server's error middleware answers 500 and logs it
    request.app.state.db_error_log.exception(
        f"the hub's database is {kind}; requests are answered 503 until it is back", exc, key=kind)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith("/console"):
        from kiosk.hub.console.web import render, request_lang

        lang = request_lang(request)
        title, action = _PAGE[kind]
        page = render(request, "error.html", 503, lang, title=gettext(title, lang),
                      message=gettext(action, lang), action="")
        page.headers.update(headers)
        return page
    return JSONResponse({"detail": _DETAIL[kind], "reason": f"database_{kind}"}, status_code=503, headers=headers)


def install(app: FastAPI) -> None:
    app.state.db_error_log = Throttle(log, every_s=60.0)
    # Starlette picks the handler of the nearest class in the exception's MRO; DBAPIError covers
    # OperationalError, InterfaceError (a dropped connection) and the rest, which `answer` re-raises.
    app.add_exception_handler(sa_exc.DBAPIError, answer)
    app.add_exception_handler(sa_exc.TimeoutError, answer)
