"""The supervisors' web console under /console/: sign-in, today's board, statistics, the 差评 list, device
health, exports and the monthly PDF report. Pages are rendered on the server (Jinja2); no script is needed."""
from __future__ import annotations

import functools
import inspect
import logging
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kiosk.fonts import FontMissing, ensure_ui_fonts
from kiosk.hub import audit
from kiosk.hub.console import views
from kiosk.hub.console.auth import still_valid, viewer_from_pin, viewer_from_token
from kiosk.hub.console.charts import chart_data_uri
from kiosk.hub.console.exports import filename, to_csv, to_xlsx
from kiosk.hub.console.periods import ConsoleInputError
from kiosk.hub.console.web import (HERE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, check_csrf, render, request_lang,
                                   secure_headers, set_cookie, store_of)
from kiosk.i18n import gettext as _

log = logging.getLogger("kiosk.hub.console")
router = APIRouter(prefix="/console", include_in_schema=False)
STATIC = HERE / "static"
STATIC_FILES = {"console.css": "text/css; charset=utf-8"}


class NeedLogin(Exception):
    def __init__(self, expired: bool = False) -> None:
        self.expired = expired


def _session(request: Request):
    store = store_of(request)
    sess, expired = store.get(request.cookies.get(SESSION_COOKIE))
    if sess is None:
        raise NeedLogin(expired)
    if not still_valid(request.app, sess.viewer):
        store.drop(sess.sid)
        raise NeedLogin(True)
    return sess


def page(fn):
    """Wraps a route: no session → the login page; bad input → the error page with what to do. Nothing changes."""

    @functools.wraps(fn)
    async def wrapper(request: Request, *args, **kwargs):
        try:
            result = fn(request, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        except NeedLogin as exc:
            lang = request_lang(request)
            if request.method == "GET":
                target = "/console/?" + urlencode({"next": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
                                                   **({"expired": "1"} if exc.expired else {})})
                return RedirectResponse(target, status_code=303)
            return render(request, "error.html", 401, lang, title=_("Please sign in", lang),
                          message=_("Your console session has ended; nothing was changed.", lang),
                          action=_("Sign in again, then repeat the action.", lang))
        except ConsoleInputError as exc:
            lang = request_lang(request)
            sess = None
            try:
                sess = store_of(request).get(request.cookies.get(SESSION_COOKIE))[0]
                lang = sess.viewer.lang if sess else lang
            except Exception:  # noqa: BLE001 - the error page must render whatever went wrong
                pass
            return render(request, "error.html", exc.status, lang, title=_("That did not work", lang),
                          message=exc.message, action=exc.action, viewer=sess.viewer if sess else None,
                          csrf=sess.csrf if sess else "")

    return wrapper


def _audit(app, actor: str, action: str, **detail) -> None:
    with app.state.hub.sessions() as s, s.begin():
        audit.record(s, actor, "console", "login", action, **detail)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


# -- sign-in ----------------------------------------------------------------------------------------------------


def _login_page(request: Request, status: int = 200, error: str = "", action: str = ""):
    import secrets

    lang = request_lang(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    notice = _("Your session has expired; please sign in again.", lang) if request.query_params.get("expired") else ""
    nxt = request.query_params.get("next", "")
    resp = render(request, "login.html", status, lang, csrf=token, error=error, error_action=action, notice=notice,
                  next=nxt if nxt.startswith("/console/") and not nxt.startswith("//") else "")
    set_cookie(request, resp, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return resp


@router.get("/")
async def login_form(request: Request):
    sess, _expired = store_of(request).get(request.cookies.get(SESSION_COOKIE))
    if sess is not None:
        return RedirectResponse("/console/board", status_code=303)
    return _login_page(request)


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    lang = request_lang(request, str(form.get("lang") or "zh_CN"))
    if not check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
        return _login_page(request, 403, _("The sign-in form was not sent from this console (missing or wrong CSRF token).", lang),
                           _("Open the console's own page and sign in there.", lang))
    store = store_of(request)
    client = _client(request)
    if store.too_many_failures(client):
        return _login_page(request, 429, _("Too many failed sign-ins from this computer.", lang),
                           _("Wait five minutes, then try again.", lang))
    token = str(form.get("token") or "").strip()
    person, pin = str(form.get("person") or "").strip(), str(form.get("pin") or "")
    try:
        if token:
            viewer = await run_in_threadpool(viewer_from_token, request.app, token, lang)
        elif person and pin:
            viewer = await run_in_threadpool(viewer_from_pin, request.app, person, pin, lang)
        else:
            return _login_page(request, 400, _("Enter your token, or your staff number and PIN.", lang))
    except ConsoleInputError as exc:
        store.failed(client)
        await run_in_threadpool(_audit, request.app, f"console:{client}", "login_refused", reason=exc.message[:200])
        return _login_page(request, exc.status, exc.message, exc.action)
    store.succeeded(client)
    viewer.lang = lang
    sess = store.create(viewer)
    await run_in_threadpool(_audit, request.app, viewer.actor, "login", client=client)
    nxt = str(form.get("next") or "")
    target = nxt if nxt.startswith("/console/") and not nxt.startswith("//") else "/console/board"
    resp = RedirectResponse(target, status_code=303)
    set_cookie(request, resp, SESSION_COOKIE, sess.sid)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    secure_headers(resp)
    return resp


@router.post("/logout")
@page
async def logout(request: Request):
    sess = await run_in_threadpool(_session, request)
    form = await request.form()
    if not check_csrf(sess.csrf, form.get("csrf")):
        raise ConsoleInputError(_("This form was not sent from the console (missing or wrong CSRF token).", sess.viewer.lang),
                                _("Reload the page and try again.", sess.viewer.lang), status=403)
    store_of(request).drop(sess.sid)
    await run_in_threadpool(_audit, request.app, sess.viewer.actor, "logout")
    resp = RedirectResponse("/console/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/console")
    return resp


# -- static files and the font ----------------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str):
    if name not in STATIC_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    resp = FileResponse(STATIC / name, media_type=STATIC_FILES[name])
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def fonts_of(request: Request):
    hub = request.app.state.hub
    cached = getattr(request.app.state, "console_fonts", None)
    if cached is None:
        cached = request.app.state.console_fonts = ensure_ui_fonts(Path(hub.upload_dir).parent)
    return cached


@router.get("/fonts/{weight}.otf")
async def font(request: Request, weight: str):
    """The Simplified Chinese face, served by the hub itself (office PCs may have no CJK font; no CDN)."""
    if weight not in ("regular", "bold"):
        return Response("not found", status_code=404, media_type="text/plain")
    try:
        fonts = await run_in_threadpool(fonts_of, request)
    except FontMissing as exc:
        return Response(str(exc), status_code=503, media_type="text/plain")
    resp = FileResponse(getattr(fonts, weight), media_type="font/otf")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# -- views ------------------------------------------------------------------------------------------------------


def _form_csrf(sess, form) -> None:
    if not check_csrf(sess.csrf, form.get("csrf")):
        raise ConsoleInputError(_("This form was not sent from the console (missing or wrong CSRF token); nothing was changed.",
                                        sess.viewer.lang),
                                _("Reload the page and try again.", sess.viewer.lang), status=403)


def _page_context(sess, request: Request, view):
    tables = [dict(table=t, chart=chart_data_uri(t) if t.chart else None) for t in view.tables]
    flash, sess.flash = sess.flash, []
    return dict(viewer=sess.viewer, csrf=sess.csrf, view=view, tables=tables, flash=flash,
                query=urlencode(view.query), nav=view.name)


def _view_page(name: str, template: str):
    async def handler(request: Request):
        sess = await run_in_threadpool(_session, request)
        view = await run_in_threadpool(views.build, request.app.state.hub, name, sess.viewer, dict(request.query_params))
        return render(request, template, 200, sess.viewer.lang, **_page_context(sess, request, view))

    handler.__name__ = f"view_{name}"
    return page(handler)


router.add_api_route("/board", _view_page("board", "board.html"), methods=["GET"])
router.add_api_route("/stats", _view_page("stats", "stats.html"), methods=["GET"])
router.add_api_route("/evaluations", _view_page("evaluations", "evaluations.html"), methods=["GET"])
router.add_api_route("/devices", _view_page("devices", "devices.html"), methods=["GET"])
router.add_api_route("/key-projects", _view_page("key_projects", "key_projects.html"), methods=["GET"])


@router.get("/export/{view_name}/{table_file}")
@page
async def export(request: Request, view_name: str, table_file: str):
    sess = await run_in_threadpool(_session, request)
    lang = sess.viewer.lang
    key, _dot, suffix = table_file.rpartition(".")
    if suffix not in ("csv", "xlsx") or view_name not in views.VIEWS:
        raise ConsoleInputError(_("There is no such export.", lang), _("Use the export links under each table.", lang), 404)
    view = await run_in_threadpool(views.build, request.app.state.hub, view_name, sess.viewer, dict(request.query_params),
                                   export=key)
    table = next((t for t in view.tables if t.key == key), None)
    if table is None:
        raise ConsoleInputError(_("There is no such export.", lang), _("Use the export links under each table.", lang), 404)
    if suffix == "csv":
        body, media = to_csv(table), "text/csv; charset=utf-8"
    else:
        body = await run_in_threadpool(to_xlsx, table, view.subtitle)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = Response(body, media_type=media)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename(view_name, table, suffix, view.file_tag)}"'
    secure_headers(resp)
    return resp


@router.get("/report.pdf")
@page
async def report(request: Request):
    sess = await run_in_threadpool(_session, request)
    fonts = await run_in_threadpool(fonts_of, request)
    body, name = await run_in_threadpool(views.monthly_pdf, request.app.state.hub, sess.viewer, dict(request.query_params), fonts)
    resp = Response(body, media_type="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    secure_headers(resp)
    return resp


@router.post("/requests/{request_no}/{action}")
@page
async def request_action(request: Request, request_no: str, action: str):
    sess = await run_in_threadpool(_session, request)
    form = await request.form()
    _form_csrf(sess, form)
    message = await run_in_threadpool(views.request_action, request.app, sess.viewer, request_no, action, dict(form))
    sess.flash.append(("ok", message))
    back = str(form.get("back") or "/console/board")
    return RedirectResponse(back if back.startswith("/console/") else "/console/board", status_code=303)


@router.get("/requests/{request_no}")
@page
async def request_detail(request: Request, request_no: str):
    sess = await run_in_threadpool(_session, request)
    view = await run_in_threadpool(views.request_detail, request.app, sess.viewer, request_no)
    return render(request, "request.html", 200, sess.viewer.lang, **_page_context(sess, request, view))


@router.post("/evaluations/{evaluation_id}/{action}")
@page
async def evaluation_action(request: Request, evaluation_id: str, action: str):
    sess = await run_in_threadpool(_session, request)
    form = await request.form()
    _form_csrf(sess, form)
    message = await run_in_threadpool(views.evaluation_action, request.app.state.hub, sess.viewer, evaluation_id, action, dict(form))
    sess.flash.append(("ok", message))
    back = str(form.get("back") or "/console/evaluations")
    return RedirectResponse(back if back.startswith("/console/") else "/console/evaluations", status_code=303)


@router.get("/lang/{lang}")
@page
async def switch_language(request: Request, lang: str):
    sess = await run_in_threadpool(_session, request)
    if lang in ("zh_CN", "en"):
        sess.viewer.lang = lang
    back = request.query_params.get("back", "/console/board")
    return RedirectResponse(back if back.startswith("/console/") else "/console/board", status_code=303)
