"""One 代办 request: who, what, how late, its materials, its 委托书 and its history; every transition and
escalation as a button with a note; for 全程代办 the 委托书 (signed on the screen or scanned from paper), filing
the application on the citizen's behalf (代录, the case links back to the request) and the 代办受理单."""
from __future__ import annotations


from kivy.properties import BooleanProperty, DictProperty, StringProperty

from kiosk import china_time
from kiosk.china_time import shown
from kiosk.counter import services as svc
from kiosk.counter.actors import actor_words
from kiosk.counter.sla import level as sla_level
from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen
from kiosk.proxy_words import EVENTS, LEVELS, MANDATE, MODES, STATUS
from screens.widgets import BigButton

ACTIONS = {  # status → the holder's buttons, in order
    "claimed": ("start", "release", "cancel", "refuse"),
    "in_progress": ("wait_citizen", "complete", "release", "cancel", "refuse"),
    "waiting_citizen": ("resume", "release", "cancel", "refuse"),
    "filed": ("complete",),
    "new": ("claim",), "released": ("claim",),
}
LABELS = {"claim": N_("Claim"), "start": N_("Start"), "wait_citizen": N_("Wait for the citizen"), "resume": N_("Resume"),
          "complete": N_("Complete"), "release": N_("Back to the pool"), "cancel": N_("Cancel (citizen withdrew)"),
          "refuse": N_("Refuse (reason told to the citizen)"), "up": N_("Escalate"), "down": N_("Resolve and send down")}
SLA_WORDS = {"ok": N_("on time"), "amber": N_("warning"), "red": N_("urgent")}


class CounterActionButton(BigButton):
    action = StringProperty("")


class CounterRequestScreen(CounterScreen):
    voice_prompt = N_("The proxy request and what can be done with it.")
    request = DictProperty({})
    info = StringProperty("")
    mandate_line = StringProperty("")
    history = StringProperty("")
    problem = StringProperty("")
    message = StringProperty("")
    full_proxy = BooleanProperty(False)
    can_file = BooleanProperty(False)
    holder_is_me = BooleanProperty(False)
    request_id = 0

    def reset(self) -> None:
        self.request = {}
        self.info = self.mandate_line = self.history = self.problem = self.message = ""
        self.full_proxy = self.can_file = self.holder_is_me = False
        self.request_id = 0
        self.ids.note.text = ""
        self.ids.actions.clear_widgets()
        self.ids.materials.clear_widgets()

    def show(self, request_id: int) -> None:
        self.request_id = request_id
        self.problem = self.message = ""
        self.load()

    def on_pre_enter(self, *args):
        if self.request_id and not self.request:
            self.load()

    def load(self) -> None:
        rid = self.request_id
        self.app.run_bg(lambda: svc.request_detail(self.services, rid), self._show, self._failed,
                        busy_text=self._("Loading the request…"))

    def _show(self, r: dict) -> None:
        self.request = r
        clerk = self.services.clerk
        sla = r.get("sla") or {}
        share = float(sla.get("percent", 0)) / 100.0
        who = r.get("applicant") or {}
        lines = [
            f"{r.get('request_no')} · {r.get('item_name') or ''}",
            self._("Mode: {m}").format(m=self._(MODES.get(r.get("mode"), r.get("mode") or ""))) + " · " +
            self._("Status: {s}").format(s=self._(STATUS.get(r.get("status"), r.get("status") or ""))) + " · " +
            self._("Level: {l}").format(l=self._(LEVELS.get(r.get("level", 0), ""))),
            self._("Applicant: {name} {id}").format(name=who.get("name") or who.get("org_name") or "",
                                                    id=who.get("id_number") or who.get("uscc") or "") +
            "  " + self._("Phone: {p}").format(p=r.get("contact_phone", "")),
            self._("Promised by: {date}").format(date=china_time.promised_day(r.get("sla_due_at"))) + "  " +
            self._("SLA used: {p}% ({state})").format(p=int(round(share * 100)), state=self._(SLA_WORDS[sla_level(share)])),
            self._("Held by: {h}").format(h=actor_words(r.get("holder"), self._)) + ("  " + self._("Green channel") if r.get("priority") == "green" else ""),
            self._("Materials: {m}").format(m="、".join(m.get("name", "") for m in r.get("materials") or []) or "—"),
        ]
        if r.get("receipt_no"):
            lines.append(self._("Filed as receipt {no}").format(no=r["receipt_no"]))
        self.info = "\n".join(lines)
        m = r.get("mandate")
        if m:
            self.mandate_line = "\n".join((  # the term on a line of its own: a date is never split from its words
                self._("Power of attorney (委托书): {state}, until {date}").format(
                    state=self._(MANDATE.get(m.get("status"), m.get("status"))), date=china_time.shown(m.get("expires_at"), "%Y-%m-%d")),
                self._("Scope of the 委托书: {scope}").format(scope=m.get("scope_text") or "")))
        else:
            self.mandate_line = self._("No power of attorney (委托书) yet.") if r.get("mode") == "full_proxy" else ""
        self.history = "\n".join(
            f"{shown(e.get('at'), '%m-%d %H:%M')}  {actor_words(e.get('actor'), self._)}  "
            f"{self._(EVENTS[e['action']]) if e.get('action') in EVENTS else e.get('action', '')}"
            + (f"  「{e['note']}」" if e.get("note") else "") for e in (r.get("events") or [])[-8:])
        self.full_proxy = r.get("mode") == "full_proxy"
        self.holder_is_me = bool(clerk) and r.get("holder") == clerk.actor
        self.can_file = self.holder_is_me and r.get("status") == "in_progress"
        self._buttons(r, clerk)
        self._material_buttons(r, clerk)

    def _material_buttons(self, r: dict, clerk) -> None:
        """A button per scanned material for those the hub shows them to: the holder and the level that owns
        the request."""
        box = self.ids.materials
        box.clear_widgets()
        owner = clerk is not None and clerk.level >= 1 and r.get("level") == clerk.level
        if not (self.holder_is_me or owner):
            return
        for m in r.get("materials") or []:
            if not m.get("upload_id"):
                continue
            b = CounterActionButton(action=f"material:{m['upload_id']}", kind="secondary",
                                    text=self._("View: {name}").format(name=m.get("name") or m.get("code") or ""))
            b.bind(on_release=lambda btn, m=m: self.view_material(m))
            box.add_widget(b)

    def view_material(self, material: dict) -> None:
        self.app.screen("counter_material").open_material(dict(self.request), material)
        self.app.go("counter_material")

    def _buttons(self, r: dict, clerk) -> None:
        box = self.ids.actions
        box.clear_widgets()
        actions = list(ACTIONS.get(r.get("status"), ())) if (self.holder_is_me or r.get("status") in ("new", "released")) else []
        if clerk is not None and clerk.level >= 1 and r.get("level") == clerk.level and r.get("status") not in ("done", "cancelled", "refused"):
            actions += [a for a in ("release", "cancel", "refuse") if a not in actions and r.get("status") not in ("new", "released")]
            actions += ["down"]
        if r.get("status") not in ("done", "cancelled", "refused") and (self.holder_is_me or (clerk and clerk.level >= 1 and r.get("level") == clerk.level)) and r.get("level", 0) < 3:
            actions.append("up")
        for a in actions:
            b = CounterActionButton(action=a, kind="danger" if a in ("cancel", "refuse") else ("primary" if a in ("start", "claim", "complete", "resume", "down") else "secondary"),
                             text=self._(LABELS[a]))
            b.bind(on_release=lambda btn: self.act(btn.action))
            box.add_widget(b)

    def button(self, action: str):
        """The button of `action` (for the tour and the tests); `material:<upload id>` opens that scan."""
        for b in self.ids.actions.children + self.ids.materials.children:
            if b.action == action:
                return b
        return None

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)

    # -- acting ---------------------------------------------------------------------------------
    def act(self, action: str) -> None:
        note = self.ids.note.text.strip()
        rid = self.request_id
        if action in ("refuse", "up", "down") and not note:
            self.problem = self._("Please write the reason in the note first: it is recorded and, for a refusal, told to the citizen.")
            return
        if action == "claim":
            work = lambda: svc.claim_next(self.services, rid)  # noqa: E731
        elif action in ("up", "down"):
            work = lambda: svc.escalate(self.services, rid, action, note)  # noqa: E731
        else:
            work = lambda: svc.transition(self.services, rid, action, note)  # noqa: E731
        self.app.run_bg(work, lambda answer: self._acted(action, answer), self._failed, busy_text=self._("Saving…"))

    def _acted(self, action: str, answer) -> None:
        self.ids.note.text = ""
        if answer is None:
            self.message = self.queued_text()
            return
        self.message = self._("Done: {what}.").format(what=self._(LABELS.get(action, action)))
        if isinstance(answer, dict) and answer.get("id"):
            self.load()

    # -- 委托书, filing, the slip ------------------------------------------------------------------
    def sign_on_screen(self) -> None:
        self.app.screen("counter_proxy_signature").prepare(dict(self.request))
        self.app.go("counter_proxy_signature")

    def scan_paper_mandate(self) -> None:
        """A 委托书 signed on paper: its photo under the camera stands as the signature."""
        sig = self.app.screen("counter_proxy_signature")
        sig.prepare(dict(self.request))
        sig.scan_paper = True
        self.app.go("counter_proxy_signature")

    def file_application(self) -> None:
        """全程代办: enter the application for the citizen (代录); the case links back to this request."""
        self.app.counter.filing_request_id = str(self.request_id)
        self.app.counter.filing_item_code = self.request.get("item_code") or ""
        self.app.start_session()

    def print_slip(self) -> None:
        r = dict(self.request)

        def work():
            from kiosk.counter.printing import print_slip

            full = svc.request_detail(self.services, r["id"], unmasked=True) if self.holder_is_me else r
            clerk = self.services.clerk
            m = r.get("mandate") or {}
            who = full.get("applicant") or {}
            data = {"request_no": r["request_no"], "item_name": r.get("item_name") or "—",
                    "applicant_name": who.get("name") or who.get("org_name") or "—",
                    "applicant_id_number": who.get("id_number") or who.get("uscc") or "—",
                    "phone": full.get("contact_phone") if self.holder_is_me else None,
                    "proxy_mode": r.get("mode") if r.get("mode") in ("full_proxy", "remote_guidance") else "home_visit",
                    "mandate_status": m.get("status", ""), "mandate_scope": m.get("scope_text") or None,
                    "mandate_expires": china_time.shown(m.get("expires_at"), "%Y-%m-%d") or None, "clerk": clerk.name,
                    "outlet": clerk.outlet_name, "accepted_at": china_time.now().isoformat(timespec="seconds"),
                    "sla_due_at": r.get("sla_due_at"), "training": clerk.training,
                    "tracking_url": f"{self.app.cfg.kiosk.tracking_base_url}?p={r['request_no']}"}
            return print_slip(self.app.terminal, "proxy_acceptance", data, f"proxy-{r['request_no']}")

        self.app.run_bg(work, lambda words: setattr(self, "message", self._(words)), self._failed,
                        busy_text=self._("Printing…"))


SCREEN_CLASS = CounterRequestScreen
load_kv("counter/request_detail")
