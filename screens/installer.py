"""安装维护: the installer's screen — live status of each group of checks with a button to run it, the printer
test page, the card-read test (masked), the camera view, the configuration wizard and the report's export.
The terminal lets go of its devices while this screen is open (`kiosk.installer.InstallerService`)."""
from __future__ import annotations

import logging
import threading

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.utils import escape_markup

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)

GROUP_NAMES = {"idcard": N_("ID-card reader"), "printer": N_("Printer"), "camera": N_("Document camera"),
               "network": N_("Network and hub"), "system": N_("This computer")}
COLOURS = {"ok": "0d7333", "warning": "a35f00", "error": "b31a1a", "": "4d525c"}
INSTALLER_SCREENS = ("installer", "installer_camera", "setup")
REFRESH_S = 20.0  # live status: every group again while the screen is open and idle


def installer_service(app):
    svc = getattr(app, "installer_service", None)
    if svc is None:
        from kiosk.installer import InstallerService

        svc = app.installer_service = InstallerService(app.cfg, app.terminal)
    return svc


class InstallerGroupRow(BoxLayout):
    """One group of checks: its name, its verdict in colour, and a button that runs it."""

    group = StringProperty("")
    label = StringProperty("")
    verdict_markup = StringProperty("")
    busy = BooleanProperty(False)
    __events__ = ("on_run",)

    def on_run(self, *_):
        pass


class InstallerCheckRow(BoxLayout):
    """One named check, what it found and what to do, with a button that runs it again (with its group: the
    checks of one device open it once)."""

    check = StringProperty("")
    markup = StringProperty("")
    busy = BooleanProperty(False)
    __events__ = ("on_run",)

    def on_run(self, *_):
        pass


class InstallerScreen(KioskScreen):
    verdicts = DictProperty({})  # group → ok | warning | error | "" (not run yet)
    details = StringProperty("")  # the checks of the last run, as markup
    message = StringProperty("")
    working = BooleanProperty(False)
    _refresh = None

    @property
    def svc(self):
        return installer_service(self.app)

    def on_verdicts(self, *_):
        for g in GROUP_NAMES:
            self.ids[f"row_{g}"].verdict_markup = self.verdict_text(g, self.verdicts)

    def on_pre_enter(self, *args):
        self.svc.lang = self.app.language
        self.svc.begin()
        self.verdicts = {g: "" for g in GROUP_NAMES}
        self.message = ""
        self.run_groups(tuple(GROUP_NAMES))
        self._refresh = Clock.schedule_interval(lambda dt: self.working or self.run_groups(tuple(GROUP_NAMES), quiet=True),
                                                REFRESH_S)

    def on_leave(self, *args):
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None

    def leave(self) -> None:
        """Back to the citizens (the terminal takes its devices again: see `install`)."""
        self.app.go("home")

    # -- background work -----------------------------------------------------------------------
    def _background(self, work, done, busy_text: str = "") -> None:
        self.working = True
        if busy_text:
            self.message = busy_text

        def runner():
            try:
                result, error = work(), None
            except Exception as exc:  # shown in words, the screen stays up
                log.warning("installer task failed: %s", exc)
                result, error = None, exc
            Clock.schedule_once(lambda dt: self._finish(done, result, error), 0)

        threading.Thread(target=runner, name="installer", daemon=True).start()

    def _finish(self, done, result, error) -> None:
        self.working = False
        if error is not None:
            self.message = self._("Failed: {reason}").format(reason=getattr(error, "message", str(error)))
            return
        done(result)

    def run_groups(self, groups: tuple[str, ...], quiet: bool = False) -> None:
        def done(report):
            verdicts = dict(self.verdicts)
            for g in groups:
                checks = self.svc.results.get(g, [])
                verdicts[g] = max((c["severity"] for c in checks), key=("ok", "warning", "error").index, default="ok")
            self.verdicts = verdicts
            self.details = self.render(tuple(GROUP_NAMES))
            self._rebuild_checks()
            if not quiet:
                self.message = ""

        self._background(lambda: self.svc.run(groups), done, "" if quiet else self._("Checking…"))

    def _rebuild_checks(self) -> None:
        from kiosk.installer import _group_of

        box = self.ids.checks
        box.clear_widgets()
        for g in GROUP_NAMES:
            for c in self.svc.results.get(g, []):
                row = InstallerCheckRow(check=c["check"], markup=self._check_markup(c), busy=self.working)
                self.bind(working=row.setter("busy"))
                row.bind(on_run=lambda r: self.run_groups((_group_of(r.check),)))
                box.add_widget(row)

    @staticmethod
    def _check_markup(c: dict) -> str:
        colour = COLOURS[c["severity"]]
        mark = {"ok": "✓", "warning": "!", "error": "✗"}[c["severity"]]
        lines = [f"[color={colour}][b]{mark} {escape_markup(c['check'])}[/b][/color]"]
        for err in c["errors"]:
            lines.append(f"    {escape_markup(err['message'])}")
            lines.append(f"    → {escape_markup(err['action'])}")
        return "\n".join(lines)

    def check_row(self, check: str):
        return next((w for w in self.ids.checks.children if getattr(w, "check", None) == check), None)

    def render(self, groups) -> str:
        lines = []
        for g in groups:
            for c in self.svc.results.get(g, []):
                colour = COLOURS[c["severity"]]
                mark = {"ok": "✓", "warning": "!", "error": "✗"}[c["severity"]]
                lines.append(f"[color={colour}][b]{mark} {escape_markup(c['check'])}[/b][/color]")
                for err in c["errors"]:
                    lines.append(f"    {escape_markup(err['message'])}")
                    lines.append(f"    → {escape_markup(err['action'])}")
        return "\n".join(lines)

    def verdict_text(self, group: str, verdicts) -> str:
        v = verdicts.get(group, "")
        word = {"ok": self._("OK"), "warning": self._("Needs attention"), "error": self._("Not working"),
                "": self._("Not checked")}[v]
        return f"[color={COLOURS[v]}][b]{word}[/b][/color]"

    # -- tests ---------------------------------------------------------------------------------
    def test_page(self) -> None:
        self._background(self.svc.print_test_page,
                         lambda n: setattr(self, "message", self._("Test page sent ({n} bytes): check every line printed.").format(n=n)),
                         self._("Printing…"))

    def card_test(self) -> None:
        def done(card):
            self.message = self._("Card read: {name}  {id_number}  valid to {valid_to}  photo {photo_bytes} bytes").format(**card)

        self._background(self.svc.read_card, done, self._("Place an ID card on the reader…"))

    def export(self) -> None:
        def done(outcome):
            sent = outcome["sent"]
            printed = outcome["printed"]
            self.message = "\n".join([
                self._("Saved: {file}").format(file=outcome["file"]),
                self._("Printed: {bytes} bytes").format(bytes=printed) if isinstance(printed, int) else str(printed),
                self._("Sent to the hub (report {id})").format(id=sent) if isinstance(sent, int) else str(sent)])

        self._background(self.svc.export, done, self._("Exporting…"))


def install(app) -> None:
    """Add the installer screens to the running app and the hidden gesture to its home screen."""
    import importlib

    from screens.installer_gesture import attach

    for name in ("installer_pin", "installer", "installer_camera", "setup"):
        if not app.sm.has_screen(name):
            if hasattr(app.sm, "add_lazy_module"):
                # Staff open these a few times a year: built (module and .kv too) when opened, released once the
                # installer is left for a citizen's screen (screens.lazy_screens).
                app.sm.add_lazy_module(name, f"screens.{name}", transient=True)
            else:
                app.sm.add_widget(importlib.import_module(f"screens.{name}").SCREEN_CLASS(name=name))
    attach(app.screen("home"), lambda: app.go("installer_pin"))

    def left_installer(_sm, name):
        # However the installer leaves (the button, the idle timeout), the terminal gets its devices back.
        svc = getattr(app, "installer_service", None)
        if svc is not None and svc.active and name not in INSTALLER_SCREENS:
            svc.end()

    app.sm.bind(current=left_installer)


SCREEN_CLASS = InstallerScreen
load_kv("installer")
