"""The citizen services one App holds: the catalog and its index, and the journeys' small service objects.

Screens reach them as `citizen_services(app)`; each method that may block (network) is called from a worker
thread through `app.run_bg`.
"""
from __future__ import annotations

import logging
import threading

from kiosk.citizen.catalog_index import CatalogIndex

log = logging.getLogger(__name__)

# Journeys that pass through the item list: what choosing an item does.
MODES = ("apply", "browse", "proxy", "complaint")


class CitizenServices:
    def __init__(self, cfg, terminal) -> None:
        self.cfg = cfg
        self.terminal = terminal
        self._lock = threading.Lock()
        self._catalog: list[dict] = []
        self._index: CatalogIndex | None = None
        self.mode = "apply"
        self.chosen: dict | None = None  # the item (or bundle) the citizen tapped last
        self.back_to = ""  # the list the detail screen returns to (service_list or search)
        self.proxy_item: dict | None = None  # the item a 代办 request is for
        self.pending_item: dict | None = None  # chosen before the card was read ("Apply now" from the guide)
        self.after_login: str = ""  # the screen a card login leads to, when not the item list
        self.outlet_items: list[str] | None = None  # item codes this outlet may handle; None = not known here
        self._actions = None
        self._actions_worker = None
        self.proxy_form: dict = {}  # mode, phone, address of the 代办 request being made
        self.proxy_key: str | None = None  # its idempotency key: a retry after a lost answer is the same request
        self.query_by = ""  # card | qr | typed: how the progress query identifies the citizen's cases
        self.query_ref = ""  # the receipt or request number (qr, typed)
        self.query_purpose = "progress"  # progress | evaluate (the 好差评 tile lists the citizen's cases to rate)
        self.last_case: dict | None = None  # what the citizen may rate next: {"receipt_no"|"request_no", "item_name"}

    # -- catalog ---------------------------------------------------------------------------
    def load_catalog(self) -> list[dict]:
        """The catalog from the hub (or its cached copy), indexed once per distinct copy, and the items this outlet
        is entrusted with (when the hub knows the outlet). Blocking."""
        items = self.terminal.catalog()
        codes = [i.get("item_code") for i in items]
        with self._lock:
            if self._index is None or codes != [i.get("item_code") for i in self._catalog]:
                self._index = CatalogIndex(items)
            self._catalog = items
        self.outlet_items = self._outlet_items()
        return items

    def _outlet_items(self) -> list[str] | None:
        code = self.cfg.kiosk.outlet_code
        if not code:
            return None
        try:
            outlet = self.terminal.hub()._call("GET", f"/api/v1/outlets/{code}").json()
        except Exception as exc:  # the hub away or the outlet unknown: every item is shown as the catalog says
            log.info("outlet %s not known to the hub: %s", code, exc)
            return self.outlet_items
        return list(outlet.get("items") or []) or None

    @property
    def index(self) -> CatalogIndex:
        with self._lock:
            if self._index is None:
                self._index = CatalogIndex(self._catalog)
            return self._index

    @property
    def catalog(self) -> list[dict]:
        return self._catalog

    def by_code(self) -> dict[str, dict]:
        return {i["item_code"]: i for i in self._catalog if "item_code" in i}

    def handled_here(self, item: dict) -> bool:
        """Whether this kiosk can take the application: the outlet is entrusted with it (when known) and the item
        can be applied for at a self-service terminal (网办深度 ≥ 2) without the person at a window."""
        if item.get("kind") == "bundle":
            return not item.get("in_person_required")
        if self.outlet_items and item.get("item_code") not in self.outlet_items:
            return False
        return int(item.get("online_depth") or 1) >= 2 and not item.get("in_person_required")

    # -- hub calls (blocking: run them through app.run_bg) --------------------------------------
    def actions(self):
        """The kiosk's durable action outbox (evaluations), with its sender thread started on first use."""
        with self._lock:
            if self._actions is None:
                from kiosk.sync.action_outbox import ActionOutbox, ActionOutboxWorker

                self._actions = ActionOutbox(self.cfg.kiosk.data_dir)
                self._actions_worker = ActionOutboxWorker(self._actions, self.terminal.hub())
                self._actions_worker.start()
            return self._actions

    def evaluation(self):
        from kiosk.citizen.evaluation import EvaluationService

        outbox = self.actions()
        return EvaluationService(outbox, self._actions_worker)

    def proxy(self):
        from kiosk.citizen.proxy import ProxyService

        return ProxyService(self.terminal.hub(), self.cfg.kiosk.device_id, self.cfg.kiosk.outlet_code)

    def lookup(self, *, id_number: str | None = None, receipt_no: str | None = None) -> list[dict]:
        from kiosk.citizen.progress import lookup

        return lookup(self.terminal.hub(), id_number=id_number, receipt_no=receipt_no)

    def stop(self) -> None:
        if self._actions_worker is not None:
            self._actions_worker.stop()

    def reset(self) -> None:
        """The session ended: forget what this citizen chose."""
        self.mode = "apply"
        self.chosen = None
        self.last_case = None
        self.query_by = self.query_ref = ""
        self.query_purpose = "progress"
        self.proxy_form = {}
        self.proxy_key = None
        self.back_to = ""
        self.proxy_item = None
        self.pending_item = None
        self.after_login = ""


def applicant_of(card: dict | None) -> dict:
    """The card holder as the hub's 代办 API takes an applicant (GA/T 2000.156 card type codes)."""
    card = card or {}
    card_type = {"resident": "111"}.get(str(card.get("card_type") or "resident"), str(card.get("card_type")))
    return {"name": card.get("name") or card.get("name_en"), "id_number": card.get("id_number"), "card_type": card_type}


def citizen_services(app) -> CitizenServices:
    """The App's one CitizenServices, made on first use."""
    svc = getattr(app, "_citizen_services", None)
    if svc is None:
        svc = CitizenServices(app.cfg, app.terminal)
        app._citizen_services = svc
    return svc
