"""The real kiosk app (offscreen, on a simulated site) under a stand-in for systemd's watchdog: it feeds the
watchdog from its own Kivy clock (screens/app.py → kiosk.watchdog.feed_from_clock). With FREEZE_AFTER_S set, the
UI thread blocks after that many seconds, as a hung call would. Run by test_watchdog.py."""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.config import Config  # noqa: E402
from kiosk.diag.simulated import SimulatedSite  # noqa: E402


def main() -> None:
    from screens.tour import make_app

    with tempfile.TemporaryDirectory(prefix="frozen-ui-") as work:
        with SimulatedSite(Path(work) / "site") as site:
            base = Config()
            base.kiosk.data_dir = os.environ.get("KIOSK_TEST_DATA_DIR") or str(Path(work) / "data")
            base.display.fullscreen = False
            app = make_app(site.configure(base), headless=True)
            from kivy.clock import Clock

            freeze = float(os.environ.get("FREEZE_AFTER_S", "0"))
            if freeze:
                # A blocking call on the UI thread (a hung driver call, a deadlock): the screen stops changing.
                Clock.schedule_once(lambda dt: time.sleep(3600), freeze)
            app.run()


main()
