"""安装维护密码: the installer's PIN pad. Wrong PINs lock the pad for a growing time (kiosk.installer_pin)."""
from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk.installer_pin import PinGate
from screens.base import KioskScreen, load_kv


class InstallerPinScreen(KioskScreen):
    message = StringProperty("")
    wait_s = NumericProperty(0)
    _gate: PinGate | None = None
    _tick = None

    def gate(self) -> PinGate:
        if self._gate is None:
            self._gate = PinGate(self.app.cfg.installer.pin_hash, Path(self.app.cfg.kiosk.data_dir) / "installer-pin.json")
        return self._gate

    def on_pre_enter(self, *args):
        self.ids.pin.text = ""
        self.message = "" if self.gate().configured else self._("No installer PIN is set: run `kiosk setup --pin` on this machine.")
        self._update_wait()

    def _update_wait(self, *_):
        self.wait_s = int(self.gate().wait_s() + 0.999)
        if self.wait_s > 0:
            self.message = self._("Wrong PIN. Try again in {s} s.").format(s=self.wait_s)
            if self._tick is None:
                self._tick = Clock.schedule_interval(self._update_wait, 0.5)
        elif self._tick is not None:
            self._tick.cancel()
            self._tick = None
            self.message = ""

    def submit(self) -> None:
        pin = self.ids.pin.text
        self.ids.pin.text = ""
        if self.gate().check(pin):
            self.message = ""
            self.app.go("installer")
            return
        if self.gate().configured:
            self.message = self._("Wrong PIN.")
        self._update_wait()

    def on_leave(self, *args):
        # The lockout lives in the gate's file, not here: the countdown restarts from it on the next entry (this
        # screen is released once left, see screens.installer.install).
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def reset(self) -> None:
        if "pin" in self.ids:
            self.ids.pin.text = ""


SCREEN_CLASS = InstallerPinScreen
load_kv("installer_pin")
