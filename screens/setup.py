"""配置向导: the installer's configuration wizard on the kiosk itself — find the devices, show what was found and
proposed, take the outlet, the hub URL and the device token, test, and write the config file atomically. The
same core as `kiosk setup` (kiosk.setup_wizard, kiosk.config_writer)."""
from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.utils import escape_markup

from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)
DEFAULT_TARGET = Path("/etc/govkiosk/kiosk.toml")


class SetupScreen(KioskScreen):
    found_text = StringProperty("")
    message = StringProperty("")
    working = BooleanProperty(False)
    proposal = None

    def on_pre_enter(self, *args):
        cfg = self.app.cfg
        self.ids.outlet.text = cfg.kiosk.outlet
        self.ids.hub_url.text = cfg.hub.url
        self.ids.token.text = cfg.hub.token
        self.message = ""
        if self.proposal is None:
            self.find()

    def _background(self, work, done, busy: str) -> None:
        self.working = True
        self.message = busy

        def runner():
            try:
                result, error = work(), None
            except Exception as exc:
                log.warning("setup step failed: %s", exc)
                result, error = None, exc
            Clock.schedule_once(lambda dt: self._finish(done, result, error), 0)

        threading.Thread(target=runner, name="setup", daemon=True).start()

    def _finish(self, done, result, error) -> None:
        self.working = False
        if error is not None:
            self.message = self._("Failed: {reason}").format(reason=getattr(error, "message", str(error)))
        else:
            done(result)

    def search_space(self):
        from kiosk.setup_wizard import SearchSpace

        from devices.idcard.ports import serial_path_of

        space = getattr(self.app, "setup_search_space", None) or SearchSpace()
        known_printer = serial_path_of(self.app.cfg.devices.printer.uri)  # GA 467 frames would come out as print
        space.exclude_ports = [known_printer] if known_printer else []
        return space

    def find(self) -> None:
        from kiosk.setup_wizard import discover, propose

        def done(found):
            self.proposal = propose(self.app.cfg, found)
            lines = [f"[b]{escape_markup(self._('ID-card readers:'))}[/b]"]
            lines += [f"  {escape_markup(r['port'])}  {r['baud']} baud" for r in found.readers] or ["  " + self._("(none found)")]
            lines.append(f"[b]{escape_markup(self._('Printers:'))}[/b]")
            lines += [f"  {escape_markup(p['uri'])}  {p['status']}" for p in found.printers] or ["  " + self._("(none found)")]
            lines.append(f"[b]{escape_markup(self._('Cameras:'))}[/b]")
            lines += [f"  {escape_markup(c['source'])}  " + " ".join(f"{w}×{h}" for w, h in c["modes"])
                      for c in found.cameras] or ["  " + self._("(none found)")]
            self.found_text = "\n".join(lines)
            self.message = self._("Found. Check the outlet, hub URL and token, then test.")

        self._background(lambda: discover(self.search_space()), done, self._("Looking for devices…"))

    def edited(self):
        cfg = copy.deepcopy(self.proposal or self.app.cfg)
        cfg.kiosk.outlet = self.ids.outlet.text.strip()
        cfg.hub.url = self.ids.hub_url.text.strip()
        cfg.hub.token = self.ids.token.text.strip()
        return cfg

    def test(self) -> None:
        from devices.model import HealthLevel
        from kiosk.diag import run_diagnostics
        from kiosk.diag.export import verdict

        cfg = self.edited()

        def done(report):
            bad = [c for c in report["checks"] if c["severity"] != "ok"]
            lines = [self._("Result: {verdict}").format(verdict=verdict(report["overall"], self.app.language))]
            lines += [f"{c['check']}: {c['errors'][0]['message']}" for c in bad if c["errors"]]
            self.message = "\n".join(lines)

        self._background(lambda: run_diagnostics(cfg, HealthLevel.INTERNAL, None, self.app.language), done,
                         self._("Testing…"))

    def save(self) -> None:
        from kiosk.config_writer import write_config

        cfg = self.edited()
        source = self.app.cfg.source
        target = Path(source) if not source.startswith("<") else DEFAULT_TARGET

        def done(path):
            self.message = self._("Written: {path}. Restart the kiosk to use it.").format(path=path)

        self._background(lambda: write_config(cfg, target), done, self._("Saving…"))

    def reset(self) -> None:
        pass


SCREEN_CLASS = SetupScreen
load_kv("setup")
