"""`kiosk proxy list|show|claim|transition|escalate`: 代办 requests from the command line, over the hub's HTTP API
(docs/proxy-api.md); `kiosk proxy key-project list|show|create|assign|close`: 重点项目 (key projects). Output is
masked by the hub; `--json` prints the hub's answer as one JSON document (its codes, in English), otherwise lines for
a person in `--lang` (zh_CN by default, en)."""
from __future__ import annotations

import os
import uuid

from dataclasses import dataclass

import click

from kiosk.china_time import shown
from kiosk.cli.common import config_option, echo_json, load
from kiosk.errors import InvalidInput, KioskError, Unavailable
from kiosk.i18n import N_, gettext
from kiosk.proxy_words import CHANNELS, EVENTS, LEVELS, MANDATE, MODES, STATUS

ACTIONS = ("start", "wait_citizen", "resume", "file", "complete", "cancel", "refuse", "release", "renew")


class TimedOut(KioskError):
    exit_code = 4


class Refused(KioskError):
    """The hub answered 4xx for this request as asked (exit 5, the reason on stderr)."""

    exit_code = 5


class _Client:
    def __init__(self, hub_url: str, token: str, timeout: float, verify: bool, o: "_Options") -> None:
        self.base = hub_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.verify = verify
        self.o = o

    def call(self, method: str, path: str, json=None, params=None, timeout: float | None = None,
             headers: dict | None = None):
        import requests

        _ = self.o._
        try:
            r = requests.request(method, f"{self.base}{path}", json=json, params=params, verify=self.verify,
                                 headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
                                 timeout=timeout or self.timeout)
        except requests.Timeout:
            raise TimedOut(_("the hub at {url} did not answer in time", url=self.base),
                           _("check the hub (kiosk hub serve) and the network, then try again")) from None
        except requests.RequestException as exc:
            raise Unavailable(_("cannot reach the hub at {url}: {error}", url=self.base, error=type(exc).__name__),
                              _("check hub.url / --hub and that the hub is running")) from None
        if r.status_code == 204:
            return None
        try:
            doc = r.json()
        except ValueError:
            doc = {"detail": r.text[:200]}
        if r.status_code < 400:
            return doc
        detail = doc.get("detail") if isinstance(doc, dict) else doc
        if isinstance(detail, list):  # FastAPI's field errors
            detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in detail)
        state = ""
        if isinstance(doc, dict) and "status" in doc:  # a 409: where the request or project stands now
            now = doc["status"]
            word = self.o.word(STATUS, now) if now in STATUS else self.o.word(PROJECT_STATUS, now)
            state = (_(" (status {status} [{code}], level {level})", status=word, code=now,
                       level=self.o.word(LEVELS, doc["level"])) if "level" in doc
                     else _(" (status {status} [{code}])", status=word, code=now))
        if r.status_code in (401, 403):
            raise KioskError(_("the hub refused this token: {detail}", detail=detail),
                             _("use a token of the right role and outlet (--token, KIOSK_PROXY_TOKEN or hub.token)"))
        if r.status_code in (400, 404, 409, 413, 422):
            raise Refused(_("the hub refused: {detail}", detail=detail) + state,
                          _("check the request's state and the arguments"))
        raise KioskError(_("the hub answered {code}: {detail}", code=r.status_code, detail=detail),
                         _("see the hub's log"))


@dataclass(frozen=True)
class _Options:
    hub_url: str | None
    token: str | None
    config_path: str | None
    lang: str

    def _(self, message: str, **values) -> str:
        """`message` in this command's language, with `values` filled in."""
        text = gettext(message, self.lang)
        return text.format(**values) if values else text

    def word(self, words: dict, code) -> str:
        return self._(words[code]) if code in words else str(code or "-")


def _client(obj: _Options) -> _Client:
    hub_url, token, config_path = obj.hub_url, obj.token, obj.config_path
    cfg = load(config_path)
    token = token or os.environ.get("KIOSK_PROXY_TOKEN") or cfg.hub.token
    if not token:
        raise InvalidInput(obj._("no hub token"),
                           obj._("pass --token, set KIOSK_PROXY_TOKEN, or set hub.token in the config"))
    return _Client(hub_url or cfg.hub.url, token, cfg.hub.timeout_s, getattr(cfg.hub, "verify_tls", True), obj)


def _list(obj, path: str, line, as_json: bool, **filters) -> None:
    """GET a list with the filters given (flags as "true"), then one line per item or the JSON document."""
    params = {k: ("true" if v is True else v) for k, v in filters.items() if v is not None and v is not False}
    doc = _client(obj).call("GET", path, params=params)
    if as_json:
        echo_json(doc)
        return
    for d in doc["items"]:
        click.echo(line(obj, d))
    click.echo(obj._("{shown} of {total} shown", shown=len(doc["items"]), total=doc["total"]), err=True)


def _at(iso: str, seconds: bool = False) -> str:
    """`2026-12-02T02:00:01+00:00` as China reads it: `2026-12-02 10:00` (`10:00:01` with seconds)."""
    return shown(iso, "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _events(o: _Options, events: list[dict], words: dict) -> None:
    for e in events:
        note = f" — {e['note']}" if e.get("note") else ""
        click.echo(f"  {_at(e['at'], seconds=True)}  {e['actor']:<16} {o.word(words, e['action'])}{note}")


def _line(o: _Options, d: dict) -> str:
    """One request on one line: number, status, level, mode, outlet, masked applicant, due time, holder, marks."""
    applicant = d.get("applicant") or {}
    who = applicant.get("name") or applicant.get("org_name") or "-"
    marks = ([o._("Overdue")] if d.get("overdue") else []) + ([o._("Green channel")] if d.get("priority") == "green"
                                                               else [])
    fields = [f"{d['id']:>6}", f"{d['request_no']:<22}", o.word(STATUS, d["status"]), o.word(LEVELS, d["level"]),
              o.word(MODES, d["mode"]), d["outlet"], who, o._("due {at}", at=_at(d["sla_due_at"])),
              d["holder"] or "-"]
    return "  ".join(fields + (["【" + "｜".join(marks) + "】"] if marks else []))


def _show(o: _Options, d: dict) -> None:
    click.echo(_line(o, d))
    sla = d["sla"]
    click.echo("  " + o._("; ").join([
        o._("Item: {code} {name}", code=d["item_code"], name=d["item_name"]),
        o._("Channel: {channel}", channel=o.word(CHANNELS, d["channel"])),
        o._("Phone: {phone}", phone=d["contact_phone"]),
        o._("Time used: {percent}% of {days} working days", percent=sla["percent"], days=sla["days"]),
        o._("Proxy fee: {fee} yuan (free)", fee=d["proxy_fee"]) if not d["proxy_fee"]
        else o._("Proxy fee: {fee} yuan", fee=d["proxy_fee"])]
        + ([o._("Complaint")] if d.get("kind") == "complaint" else [])))
    if d.get("mandate"):
        m = d["mandate"]
        click.echo("  " + o._("Mandate (委托书) #{id}: {status}, until {until}", id=m["id"], status=o.word(MANDATE, m["status"]),
                              until=_at(m["expires_at"])))
    _events(o, d.get("events", []), EVENTS)


def register(cli: click.Group) -> None:
    @cli.group("proxy")
    @click.option("--hub", "hub_url", default=None, help="The hub's URL (default: hub.url of the config).")
    @click.option("--token", default=None, help="Bearer token (default: $KIOSK_PROXY_TOKEN, else hub.token).")
    @click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
                  help="Language of the lines printed (--json is the same in both).")
    @config_option
    @click.pass_context
    def proxy(ctx, hub_url, token, lang, config_path) -> None:
        """代办 requests: list, show, claim, transition and escalate them through the hub."""
        ctx.obj = _Options(hub_url, token, config_path, lang)

    @proxy.command("list")
    @click.option("--status", default=None, help="Comma-separated statuses (new,claimed,…).")
    @click.option("--outlet", default=None, help="This outlet and its subtree.")
    @click.option("--level", type=click.IntRange(0, 3), default=None)
    @click.option("--mode", type=click.Choice(["remote_guidance", "home_visit", "full_proxy"]), default=None)
    @click.option("--kind", type=click.Choice(["proxy", "complaint"]), default=None)
    @click.option("--overdue", is_flag=True, help="Only requests past their promised time.")
    @click.option("--mine", is_flag=True, help="Only requests this token holds.")
    @click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def list_cmd(obj, status, outlet, level, mode, kind, overdue, mine, limit, as_json):
        """Requests this token may see, best first."""
        _list(obj, "/api/v1/proxy-requests", _line, as_json, status=status, outlet=outlet, level=level, mode=mode,
              kind=kind, limit=limit, overdue=overdue, mine=mine)

    @proxy.command("show")
    @click.argument("request_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def show(obj, request_id, as_json):
        """One request with its 委托书 and events."""
        doc = _client(obj).call("GET", f"/api/v1/proxy-requests/{request_id}")
        echo_json(doc) if as_json else _show(obj, doc)

    @proxy.command("claim")
    @click.option("--outlet", default=None, help="Only this part of the token's subtree.")
    @click.option("--mode", type=click.Choice(["remote_guidance", "home_visit", "full_proxy"]), default=None)
    @click.option("--kind", type=click.Choice(["proxy", "complaint"]), default=None)
    @click.option("--id", "request_id", type=click.IntRange(1, 2 ** 31 - 1), default=None, help="Claim this one.")
    @click.option("--wait", type=click.FloatRange(0, 30), default=0, help="Seconds to wait for a request.")
    @click.option("--start", is_flag=True,
                  help="Start it too, in the same call (a 全程代办 stays claimed: its 委托书 comes first).")
    @click.option("--json", "as_json", is_flag=True, help="Print the request, or null when nothing waits.")
    @click.pass_obj
    def claim(obj, outlet, mode, kind, request_id, wait, start, as_json):
        """Claim the next request (green first, then oldest); nothing waiting is not an error."""
        body = {k: v for k, v in dict(outlet=outlet, mode=mode, kind=kind, id=request_id).items() if v is not None}
        if wait:
            body["wait_s"] = wait
        if start:
            body["start"] = True
        client = _client(obj)
        doc = client.call("POST", "/api/v1/proxy-requests/claim", json=body, timeout=client.timeout + wait)
        if doc is None:
            click.echo(obj._("Nothing is waiting in the queue."), err=True)
        elif start and doc.get("status") == "claimed":  # a 全程代办: the claim does not start it
            click.echo(obj._("Claimed but not started: a full proxy needs its power of attorney checked first;"
                             " then start it with `kiosk proxy transition {id} start`.").format(id=doc["id"]), err=True)
        if as_json:
            echo_json(doc)
        elif doc is not None:
            _show(obj, doc)

    @proxy.command("transition")
    @click.argument("request_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.argument("action", type=click.Choice(ACTIONS))
    @click.option("--note", default="", help="Why (required for refuse: told to the citizen).")
    @click.option("--receipt-no", default=None, help="file: the receipt number of the submitted case.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def transition(obj, request_id, action, note, receipt_no, as_json):
        """Move a request: start, wait_citizen, resume, file, complete, cancel, refuse, release, renew."""
        body = {"action": action, "note": note}
        if receipt_no:
            body["receipt_no"] = receipt_no
        doc = _client(obj).call("POST", f"/api/v1/proxy-requests/{request_id}/transitions", json=body)
        echo_json(doc) if as_json else click.echo(_line(obj, doc))

    @proxy.command("escalate")
    @click.argument("request_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.argument("direction", type=click.Choice(["up", "down"]))
    @click.option("--reason", required=True, help="Why it moves (up: what is stuck; down: how it was resolved).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def escalate(obj, request_id, direction, reason, as_json):
        """Escalate one level up, or de-escalate one level down once resolved."""
        doc = _client(obj).call("POST", f"/api/v1/proxy-requests/{request_id}/escalations",
                                json={"direction": direction, "reason": reason})
        echo_json(doc) if as_json else click.echo(_line(obj, doc))

    register_key_projects(proxy)


# -- 重点项目 (key projects) ------------------------------------------------------------------------

PROJECT_STATUS = {"open": N_("Being tracked"), "suspended": N_("Suspended"), "closed": N_("Closed (销号)")}
PROJECT_EVENTS = {**EVENTS, "created": N_("opened"), "closed": N_("closed (销号)"), "suspended": N_("suspended"),
                  "specialist_assigned": N_("specialist assigned"), "specialist_reassigned": N_("specialist changed"),
                  "entry_added": N_("added to the dossier"), "proxy_request_linked": N_("proxy request linked")}


def _project_line(o: _Options, d: dict) -> str:
    return "  ".join([
        f"{d['id']:>6}", f"{d['project_no']:<20}", o.word(PROJECT_STATUS, d["status"]), d["outlet"],
        o._("{n} days", n=d["age_days"]), o._("specialist {who}", who=d["specialist"] or "-"),
        o._("{open} of {linked} requests open", open=d["open_requests"], linked=d["linked_requests"]),
        d["organisation"]["uscc"], d["name"]])


def _show_project(o: _Options, d: dict) -> None:
    click.echo(_project_line(o, d))
    contact = d.get("contact") or {}
    click.echo("  " + o._("; ").join([
        d["organisation"]["org_name"],
        o._("Contact: {name} {phone}", name=contact.get("name") or "-", phone=contact.get("phone") or ""),
        o._("Outlet: {name}", name=d["outlet_name"]),
        o._("Opened {at} by {who}", at=_at(d["created_at"]), who=d["created_by"])]))
    if d.get("closed_at"):
        click.echo("  " + o._("Closed (销号) {at} by {who}: {note}", at=_at(d["closed_at"]),
                              who=d["closed_by"], note=d.get("close_note") or ""))
    for e in d.get("dossier", []):
        what = {"proxy_request": lambda: o._("Proxy request {no} ({status})", no=e["request_no"],
                                             status=o.word(STATUS, e["request_status"])),
                "case": lambda: o._("Case {no} {title}", no=e["receipt_no"], title=e["title"]),
                "document": lambda: o._("Document {title} ({upload})", title=e["title"], upload=e["upload_id"]),
                "note": lambda: o._("Note")}[e["kind"]]()
        note = f" — {e['note']}" if e.get("note") else ""
        click.echo(f"  {o._('Dossier')} #{e['id']} {_at(e['at'], seconds=True)}  {e['actor']:<16} {what}{note}")
    _events(o, d.get("events", []), PROJECT_EVENTS)


def register_key_projects(proxy: click.Group) -> None:
    @proxy.group("key-project")
    def key_project() -> None:
        """重点项目: enterprises' key projects, each with one 代办专员 and one 档案, tracked until 销号."""

    @key_project.command("list")
    @click.option("--status", default=None, help="Comma-separated: open,suspended,closed.")
    @click.option("--outlet", default=None, help="This outlet and its subtree.")
    @click.option("--specialist", default=None, help="Projects of this 代办专员 (role:name, e.g. runner:wang).")
    @click.option("--mine", is_flag=True, help="Only projects whose 代办专员 is this token.")
    @click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def kp_list(obj, status, outlet, specialist, mine, limit, as_json):
        """Key projects this token may see, oldest first."""
        _list(obj, "/api/v1/key-projects", _project_line, as_json, status=status, outlet=outlet,
              specialist=specialist, limit=limit, mine=mine)

    @key_project.command("show")
    @click.argument("project_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def kp_show(obj, project_id, as_json):
        """One key project with its 档案 and events."""
        doc = _client(obj).call("GET", f"/api/v1/key-projects/{project_id}")
        echo_json(doc) if as_json else _show_project(obj, doc)

    @key_project.command("create")
    @click.option("--name", required=True, help="The project, e.g. 年产5万吨新材料项目.")
    @click.option("--org-name", required=True, help="The enterprise's registered name.")
    @click.option("--uscc", required=True, help="Its 统一社会信用代码 (18 characters; the check character is verified).")
    @click.option("--outlet", required=True, help="The outlet that tracks it.")
    @click.option("--contact-name", default="", help="The enterprise's contact person.")
    @click.option("--contact-phone", default="", help="The contact's phone.")
    @click.option("--project-no", default=None, help="The outlet's own number (default: KP-<date>-<id>).")
    @click.option("--specialist", default=None, help="The 代办专员 now (role:name, e.g. runner:wang).")
    @click.option("--note", default="", help="Why it is a key project, or where it is listed.")
    @click.option("--idempotency-key", default=None, help="Reuse to retry safely (default: a new UUID).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def kp_create(obj, name, org_name, uscc, outlet, contact_name, contact_phone, project_no, specialist, note,
                  idempotency_key, as_json):
        """Open a key project (supervisor, 中心领导 or 窗口人员 of the outlet)."""
        body = {"name": name, "outlet": outlet, "contact_phone": contact_phone, "note": note,
                "organisation": {"org_name": org_name, "uscc": uscc.strip().upper(), "contact_name": contact_name}}
        if project_no:
            body["project_no"] = project_no
        if specialist:
            body["specialist"] = specialist
        doc = _client(obj).call("POST", "/api/v1/key-projects", json=body,
                                headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())})
        echo_json(doc) if as_json else click.echo(_project_line(obj, doc))

    @key_project.command("assign")
    @click.argument("project_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.argument("specialist")
    @click.option("--note", default="", help="Why (e.g. the previous one moved).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def kp_assign(obj, project_id, specialist, note, as_json):
        """Make SPECIALIST (role:name) the project's one 代办专员, in place of any previous one."""
        doc = _client(obj).call("POST", f"/api/v1/key-projects/{project_id}/specialist",
                                json={"specialist": specialist, "note": note})
        echo_json(doc) if as_json else click.echo(_project_line(obj, doc))

    @key_project.command("close")
    @click.argument("project_id", type=click.IntRange(1, 2 ** 31 - 1))
    @click.option("--note", required=True, help="The closing note (销号: why the project is finished).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def kp_close(obj, project_id, note, as_json):
        """销号: close the project; refused while a linked 代办 request is still open."""
        doc = _client(obj).call("POST", f"/api/v1/key-projects/{project_id}/close", json={"note": note})
        echo_json(doc) if as_json else click.echo(_project_line(obj, doc))
