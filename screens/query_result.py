"""The citizen's cases and 代办 requests with their status in words and dates; rate one (好差评), or reprint a
receipt this kiosk printed for the card holder."""
from __future__ import annotations

from pathlib import Path

from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.citizen.progress import describe
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.widgets import BigButton


class ResultCard(BoxLayout):
    title = StringProperty("")
    status = StringProperty("")
    body = StringProperty("")


class QueryResultScreen(KioskScreen):
    voice_prompt = N_("Here is the progress of your applications.")
    heading = StringProperty("")
    problem = StringProperty("")
    results = ListProperty([])

    def on_pre_enter(self, *args):
        svc = citizen_services(self.app)
        self.heading = self._("Choose the service to rate") if svc.query_purpose == "evaluate" else self._("Progress")
        self.problem = ""
        self.results = []
        self.ids.cards.clear_widgets()
        self.load()

    def spoken_prompt(self) -> str:
        if citizen_services(self.app).query_purpose == "evaluate":
            return self._("Please choose the service you want to rate.")
        return self._(self.voice_prompt)

    def load(self) -> None:
        app = self.app
        svc = citizen_services(app)
        if svc.query_by == "card":
            card = app.session.card or {}
            work = lambda: svc.lookup(id_number=card.get("id_number"))  # noqa: E731
        else:
            ref = svc.query_ref
            work = lambda: svc.lookup(receipt_no=ref)  # noqa: E731
        app.run_bg(work, self._show, self._failed, busy_text=self._("Looking up your applications…"))

    def _show(self, results) -> None:
        self.results = results
        box = self.ids.cards
        box.clear_widgets()
        if not results:
            self.problem = self._("Nothing was found. Please check the number on your receipt, or ask the staff.")
            return
        svc = citizen_services(self.app)
        for r in results:
            text = describe(r, self._)
            card = ResultCard(title=text["title"], status=text["status"], body="\n".join(text["lines"]))
            buttons = card.ids.buttons
            if int(r.get("evaluations") or 0) < 2 and r.get("kind") != "complaint":
                rate = BigButton(text=self._("Rate this service"), kind="secondary")
                rate.bind(on_release=lambda b, r=r: self.rate(r))
                buttons.add_widget(rate)
            if svc.query_by == "card" and r.get("kind") == "case" and self._local_receipt(r["receipt_no"]):
                again = BigButton(text=self._("Print the receipt again"), kind="secondary")
                again.bind(on_release=lambda b, r=r: self.reprint(r))
                buttons.add_widget(again)
            box.add_widget(card)

    def _failed(self, error) -> None:
        self.problem = self._("The service centre cannot be reached right now. Please try again later or ask the staff.")

    def rate(self, result: dict) -> None:
        svc = citizen_services(self.app)
        ref = {"receipt_no": result["receipt_no"]} if result.get("kind") == "case" else {"request_no": result["request_no"]}
        svc.last_case = {**ref, "item_name": result.get("item_name", "")}
        self.app.go("evaluation")

    def _local_receipt(self, receipt_no: str) -> Path | None:
        path = Path(self.app.cfg.kiosk.data_dir) / "receipts" / f"{receipt_no}.bin"
        return path if path.is_file() else None

    def reprint(self, result: dict) -> None:
        """Only for the card holder (query by card): the copy this kiosk kept when it printed the receipt."""
        path = self._local_receipt(result["receipt_no"])
        if path is None:
            return
        app = self.app
        data = path.read_bytes()
        app.run_bg(lambda: app.terminal.print_receipt(data), self._printed, self._failed,
                   busy_text=self._("Printing…"))

    def _printed(self, outcome) -> None:
        printed, message = outcome
        self.app.notice = (self._("Please take your receipt from the printer.") if printed else
                           self._("The receipt could not be printed. Please ask the staff."))

    def finish(self) -> None:
        self.app.end_session()

    def reset(self) -> None:
        self.results = []
        self.problem = ""
        self.ids.cards.clear_widgets()


SCREEN_CLASS = QueryResultScreen
load_kv("query_result")
