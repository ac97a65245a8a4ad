"""The console's web plumbing: Jinja2 templates, sign-in sessions (an HttpOnly, SameSite=Strict cookie naming a
server-side session), CSRF tokens and the security headers every page carries.

Sessions live in the hub process's memory: restarting the hub signs everybody out, which is what we want of a
console that shows personal data. Each session remembers its own CSRF token; a login form, which comes before
any session, uses a double-submit cookie instead.
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kiosk.china_time import shown
from kiosk.i18n import LANGUAGES, N_, gettext

HERE = Path(__file__).parent
SESSION_COOKIE = "gk_console"
LOGIN_CSRF_COOKIE = "gk_console_login"
IDLE_S = 30 * 60.0  # signed out after half an hour without a request
ABSOLUTE_S = 10 * 3600.0  # and after a working day in any case
FAILED_LOGIN_WINDOW_S = 300.0
FAILED_LOGIN_LIMIT = 8

# No script, style, font or image from anywhere but the hub itself; no framing; forms post only to the hub.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


@dataclass
class Viewer:
    """The person signed in to the console."""

    token_id: int
    role: str
    name: str
    outlet_code: str | None
    person_id: int | None
    lang: str = "zh_CN"

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"

    @property
    def level(self) -> int | None:
        return {"window": 1, "chief": 2, "leader": 3}.get(self.role)

    @property
    def root_outlet(self) -> str | None:
        """Supervisors read every outlet; the escalation levels their own outlet's subtree."""
        return None if self.role == "supervisor" else self.outlet_code


@dataclass
class ConsoleSession:
    sid: str
    viewer: Viewer
    csrf: str
    created: float
    seen: float
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown on the next page


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, ConsoleSession] = {}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def create(self, viewer: Viewer) -> ConsoleSession:
        now = time.monotonic()
        sess = ConsoleSession(secrets.token_urlsafe(32), viewer, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._expire(now)
            self._sessions[sess.sid] = sess
        return sess

    def get(self, sid: str | None) -> tuple[ConsoleSession | None, bool]:
        """The live session for `sid`, and whether a session existed but timed out."""
        if not sid:
            return None, False
        now = time.monotonic()
        with self._lock:
            sess = self._sessions.get(sid)
            if sess is None:
                return None, False
            if now - sess.seen > IDLE_S or now - sess.created > ABSOLUTE_S:
                del self._sessions[sid]
                return None, True
            sess.seen = now
            return sess, False

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def drop_token(self, token_id: int) -> None:
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.viewer.token_id == token_id]:
                del self._sessions[sid]

    def _expire(self, now: float) -> None:
        for sid in [s.sid for s in self._sessions.values() if now - s.seen > IDLE_S or now - s.created > ABSOLUTE_S]:
            del self._sessions[sid]

    def too_many_failures(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < FAILED_LOGIN_WINDOW_S]
            self._failures[client] = recent
            return len(recent) >= FAILED_LOGIN_LIMIT

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def store_of(request: Request) -> SessionStore:
    state = request.app.state
    store = getattr(state, "console_sessions", None)
    if store is None:
        store = state.console_sessions = SessionStore()
    return store


def request_lang(request: Request, default: str = "zh_CN") -> str:
    lang = request.query_params.get("lang") or default
    return lang if lang in LANGUAGES else default


def secure_headers(response, *, no_store: bool = True) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if no_store:
        response.headers["Cache-Control"] = "no-store"


def set_cookie(request: Request, response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def render(request: Request, template: str, status: int = 200, lang: str = "zh_CN", **context) -> HTMLResponse:
    def _(message: str) -> str:
        return gettext(message, lang)

    context.setdefault("viewer", None)
    context.setdefault("csrf", "")
    context.setdefault("flash", [])
    context.setdefault("nav", "")
    html = env.get_template(template).render(_=_, lang=lang, request=request, **context)
    response = HTMLResponse(html, status_code=status)
    secure_headers(response)
    return response


def hidden_csrf(token: str) -> Markup:
    return Markup('<input type="hidden" name="csrf" value="{}">').format(token)


def check_csrf(expected: str | None, sent: str | None) -> bool:
    return bool(expected) and bool(sent) and secrets.compare_digest(str(expected), str(sent))


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return shown(value, fmt)


ROLE_LABELS = {"supervisor": N_("Supervisor"), "window": N_("Window staff"), "chief": N_("Approval chief"),
               "leader": N_("Centre leader"), "clerk": N_("Proxy clerk"), "runner": N_("Runner")}


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


env.globals["hidden_csrf"] = hidden_csrf
env.globals["role_label"] = role_label


def _evaluation_names():
    try:
        from kiosk.hub.console.evals import RECTIFICATION_NAMES, REVISIT_NAMES
    except ImportError:  # a hub without evaluations
        return {}, {}
    return RECTIFICATION_NAMES, REVISIT_NAMES


env.globals["rect_names"], env.globals["revisit_names"] = _evaluation_names()
env.filters["cst"] = local_time


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


env.filters["cell"] = _fmt
