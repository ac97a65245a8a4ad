"""A citizen's scanned material of a 代办 request, page by page, for the clerk who holds the request (or the
escalation level that owns it): the hub serves the PDF (and records the viewing), the pages are shown as scanned.
Nothing of it stays on the counter once the clerk leaves the screen."""
from __future__ import annotations

import io

from kivy.properties import NumericProperty, StringProperty

from kiosk.counter import services as svc
from kiosk.errors import InvalidInput
from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen


class CounterMaterialScreen(CounterScreen):
    voice_prompt = N_("The citizen's scanned material, page by page.")
    title_line = StringProperty("")
    page_line = StringProperty("")
    problem = StringProperty("")
    page_no = NumericProperty(0)  # 1-based; 0 while nothing is shown
    page_count = NumericProperty(0)

    _pages: list[bytes] = []

    def open_material(self, request: dict, material: dict) -> None:
        """Fetch and show `material` (an entry of the request's `materials`) of `request`."""
        self.reset()
        self.title_line = f"{material.get('name') or material.get('code') or ''} · {request.get('request_no') or ''}"
        rid, upload_id = request["id"], material["upload_id"]
        self.app.run_bg(lambda: svc.material_pages(self.services, rid, upload_id), self._loaded, self._failed,
                        busy_text=self._("Loading the scan…"))

    def _loaded(self, pages: list[bytes]) -> None:
        self._pages = list(pages)
        self.page_count = len(self._pages)
        self.show_page(1)

    def _failed(self, exc) -> None:
        if isinstance(exc, InvalidInput):
            self.problem = self._("This scan cannot be shown on the counter. Ask the citizen for the paper original.")
        else:
            self.problem = self.refusal_text(exc)
            self.after_refusal(exc)

    def show_page(self, number: int) -> None:
        if not self._pages:
            return
        number = max(1, min(number, len(self._pages)))
        from kivy.core.image import Image as CoreImage

        data = self._pages[number - 1]
        ext = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"
        try:
            texture = CoreImage(io.BytesIO(data), ext=ext).texture
        except Exception:  # a page image Kivy cannot decode: say so, keep the other pages
            self.ids.page.texture = None
            self.problem = self._("Page {n} cannot be shown. Ask the citizen for the paper original.").format(n=number)
        else:
            self.ids.page.texture = texture
            self.problem = ""
        self.page_no = number
        self.page_line = self._("Page {n} of {total}").format(n=number, total=len(self._pages))

    def next_page(self) -> None:
        self.show_page(self.page_no + 1)

    def previous_page(self) -> None:
        self.show_page(self.page_no - 1)

    def on_leave(self, *args):
        self.reset()  # the citizen's pages do not stay in memory behind the clerk's back

    def reset(self) -> None:
        self._pages = []
        self.page_no = self.page_count = 0
        self.title_line = self.page_line = self.problem = ""
        if "page" in self.ids:
            self.ids.page.texture = None


SCREEN_CLASS = CounterMaterialScreen
load_kv("counter/material")
