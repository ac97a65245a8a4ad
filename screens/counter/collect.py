"""代收: accept papers for an application the citizen filed elsewhere (another kiosk, the window, online).

Find the application by its receipt number (typed or the receipt's QR under the camera) or the citizen's card,
scan the papers the citizen brought, one material at a time (retake replaces a scan), and file them: the pages
go to the hub with the application under the clerk's name, and a 材料接收凭条 is printed. With the hub away the
collection waits in the counter's queue and the slip says so.
"""
from __future__ import annotations

from kivy.properties import DictProperty, ListProperty, StringProperty

from kiosk import china_time
from kiosk.i18n import N_
from kiosk.session import CitizenSession, Material
from screens.base import load_kv
from screens.counter.base import CounterScreen
from screens.widgets import BigButton

OTHER = {"code": "SUPP", "name": "其他补充材料", "name_en": "Other supporting paper"}


def _camera_ready(terminal, timeout_s: float = 20.0) -> None:
    """Start the document camera and wait until it sends fresh pictures (it may be reconnecting)."""
    import time

    cam = terminal.camera()
    deadline = time.monotonic() + timeout_s
    start = cam.latest()[0]
    while time.monotonic() < deadline:
        if cam.latest()[0] > start + 1:
            return
        time.sleep(0.05)


class CounterPickButton(BigButton):
    payload = DictProperty({})


class CounterCollectScreen(CounterScreen):
    voice_prompt = N_("Find the application, then scan the papers the citizen brought.")
    problem = StringProperty("")
    message = StringProperty("")
    selected = DictProperty({})
    scanned_line = StringProperty("")
    forwarding_line = StringProperty("")  # earlier collections of the selected application: 已转交 / 待转交
    materials = ListProperty([])  # the item's materials (catalog), plus "other"
    _session: CitizenSession | None = None

    def reset(self) -> None:
        if self._session is not None:
            self._session.wipe()
        self._session = None
        self.problem = self.message = self.scanned_line = self.forwarding_line = ""
        self.selected = {}
        self.materials = []
        self.ids.code.text = ""
        self.ids.case_items.clear_widgets()
        self.ids.material_items.clear_widgets()

    def on_pre_enter(self, *args):
        import threading

        threading.Thread(target=lambda: _camera_ready(self.app.terminal), daemon=True, name="collect-camera").start()

    def on_leave(self, *args):
        self.reset()
        try:
            self.app.terminal.release_camera()
        except Exception:
            pass

    # -- finding the application -------------------------------------------------------------
    def card_placed(self, card: dict) -> None:
        self._lookup(id_number=card.get("id_number", ""))

    def find(self) -> None:
        text = self.ids.code.text.strip()
        if not text:
            self.problem = self._("Enter the receipt number of the application.")
            return
        self._lookup(receipt_no=text)

    def find_by_qr(self) -> None:
        from kiosk.counter.qr import read_receipt_qr

        def done(receipt_no):
            if not receipt_no:
                self.problem = self._("No receipt QR code was found under the camera. Lay the receipt flat and try again.")
                return
            self.ids.code.text = receipt_no
            self._lookup(receipt_no=receipt_no)

        self.app.run_bg(lambda: read_receipt_qr(self.app.terminal.camera().capture_still()), done,
                        lambda exc: setattr(self, "problem", self._("The document camera is not available. Type the receipt number instead.")),
                        busy_text=self._("Reading the QR code…"))

    def _lookup(self, **by) -> None:
        self.problem = self.message = ""
        self.app.run_bg(lambda: (self.services.lookup(**by), self.app.terminal.catalog()), self._show, self._failed,
                        busy_text=self._("Looking up…"))

    def _show(self, found) -> None:
        results, catalog = found
        self._catalog = {c.get("item_code") or c.get("code"): c for c in catalog}
        box = self.ids.case_items
        box.clear_widgets()
        if not results:
            self.problem = self._("No application was found for this card or number.")
            return
        for r in results:
            b = CounterPickButton(payload=r, kind="secondary")
            b.text = f"{r['receipt_no']} · {r['item_name']}\n{r['applicant_name']} {r['applicant_id_number']}"
            b.bind(on_release=lambda btn: self.select(btn.payload))
            box.add_widget(b)
        if len(results) == 1:
            self.select(results[0])

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)

    def select(self, case: dict) -> None:
        self.selected = case
        for b in self.ids.case_items.children:
            b.kind = "primary" if b.payload.get("receipt_no") == case.get("receipt_no") else "secondary"
        item = getattr(self, "_catalog", {}).get(case.get("item_code"), {})
        mats = [{"code": m.get("code") or f"M{i + 1}", "name": m["name"], "name_en": m.get("name_en") or m["name"]}
                for i, m in enumerate(item.get("materials", []))] + [OTHER]
        self.materials = mats
        self.forwarding_line = forwarding_text(self._, case.get("collections") or [])
        if self._session is not None:
            self._session.wipe()
        self._session = CitizenSession()
        self._session.materials = [Material(code=m["code"], name=m["name"], required=False) for m in mats]
        self._refresh_materials()

    # -- scanning ----------------------------------------------------------------------------
    def _refresh_materials(self) -> None:
        box = self.ids.material_items
        box.clear_widgets()
        english = self.app.language == "en"
        for m in self._session.materials if self._session else []:
            label = next((x["name_en"] for x in self.materials if x["code"] == m.code and english), m.name)
            b = CounterPickButton(payload={"code": m.code}, kind="primary" if m.pages else "secondary")
            b.text = (self._("Add a page: {name} ({n} scanned)").format(name=label, n=len(m.pages)) if m.pages
                      else self._("Scan: {name}").format(name=label))
            b.bind(on_release=lambda btn: self.scan(btn.payload["code"]))
            box.add_widget(b)
        pages = sum(len(m.pages) for m in (self._session.materials if self._session else []))
        self.scanned_line = self._("{n} page(s) scanned").format(n=pages) if pages else ""

    def scan(self, code: str) -> None:
        """One page under the camera for this material (press again for its next page)."""
        material = next(m for m in self._session.materials if m.code == code)
        self.problem = ""

        def work():
            _camera_ready(self.app.terminal)
            page = self.app.terminal.capture_page(self._session, material)
            material.pages.append(page)
            return page

        self.app.run_bg(work, lambda page: self._refresh_materials(), self._scan_failed,
                        busy_text=self._("Scanning, hold still…"))

    def start_again(self) -> None:
        """Retake: forget every page scanned for this application."""
        for m in self._session.materials if self._session else []:
            m.pages = []
        self._refresh_materials()

    def _scan_failed(self, exc) -> None:
        code = getattr(exc, "message_id", "")
        if code == "no_page_found":
            self.problem = self._("No page was found. Put the whole page inside the frame, away from bright light, and try again.")
        elif code == "same_page":
            self.problem = self._("This page was already scanned ({name}). Lay the next page under the camera.").format(
                name=getattr(exc, "detail", ""))
        else:
            self.problem = self._("The document camera is not available. Please check its cable.")

    # -- filing --------------------------------------------------------------------------------
    def file(self) -> None:
        scanned = [m for m in (self._session.materials if self._session else []) if m.pages]
        if not self.selected:
            self.problem = self._("Find the application first.")
            return
        if not scanned:
            self.problem = self._("Scan at least one paper first.")
            return
        case = dict(self.selected)
        session = self._session

        def work():
            from kiosk.counter.printing import print_slip

            self.app.terminal.assemble(session)  # one PDF per material from its pages
            body = {"receipt_no": case["receipt_no"],
                    "materials": [{"code": m.code, "name": m.name, "pages": len(m.pages), "sha256": m.sha256,
                                   "bytes": m.size, "upload_url": "pending"} for m in scanned]}
            files = [{"path": str(m.document), "code": m.code} for m in scanned]
            answer = self.services.perform("collection", "POST", "/api/v1/counter/collections", body, files=files)
            clerk = self.services.clerk
            now = china_time.now()
            data = {"collection_no": (answer or {}).get("collection_no") or f"待上传-{now:%H%M%S}",
                    "receipt_no": case["receipt_no"], "case_no": case.get("case_no"), "item_name": case["item_name"],
                    "applicant_name": case["applicant_name"], "applicant_id_number": case["applicant_id_number"],
                    "materials": [{"name": m["name"], "pages": m["pages"]} for m in body["materials"]],
                    "clerk": clerk.name, "outlet": clerk.outlet_name, "accepted_at": now.isoformat(timespec="seconds"),
                    "pending_upload": answer is None, "training": clerk.training}
            return answer, print_slip(self.app.terminal, "material_receipt", data, f"collect-{case['receipt_no']}")

        self.app.run_bg(work, self._filed, self._failed, busy_text=self._("Filing the materials…"))

    def _filed(self, outcome) -> None:
        answer, printer = outcome
        if answer is None:
            self.message = self.queued_text()
        else:
            self.message = self._("Materials filed with application {no} ({cno}).").format(
                no=answer["receipt_no"], cno=answer["collection_no"])
            if (answer.get("forwarding") or {}).get("status") != "delivered":
                self.message += " " + self._("The hub forwards them to the platform by itself (待转交).")
        self.message += " " + self._(printer)
        if self._session is not None:
            self._session.wipe()
            self._session = None
        self.selected = {}
        self.ids.material_items.clear_widgets()
        self.scanned_line = ""


FORWARDING = {"pending": N_("waiting to be forwarded (待转交)"), "delivered": N_("forwarded to the platform (已转交)"),
              "failed": N_("not forwarded: {error}")}
COLLECTED_EARLIER = N_("Collected earlier: {cno}, {state}")


def forwarding_text(tr, collections: list[dict]) -> str:
    """Earlier collections of an application and how far each got to the platform, one line each."""
    lines = []
    for c in collections:
        fwd = c.get("forwarding") or {}
        state = tr(FORWARDING.get(fwd.get("status"), FORWARDING["pending"])).format(error=fwd.get("error") or "")
        lines.append(tr(COLLECTED_EARLIER).format(cno=c.get("collection_no", ""), state=state))
    return "\n".join(lines)


SCREEN_CLASS = CounterCollectScreen
load_kv("counter/collect")
