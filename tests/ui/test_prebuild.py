"""While the kiosk idles on home its screens are built one by one, the installer's (transient) ones not at all; once
the last one is built, everything alive is frozen out of the collector's reach (kiosk.memory.freeze). Before, the
prebuild went on to build the installer's screens and froze only after them, when it next found the kiosk on home:
a citizen who came in meanwhile left the ~300,000 objects of the screens to the collector, whose full collections
then took 100-135 ms in the middle of screen changes."""
import pytest
from probe_support import run_probe

pytestmark = pytest.mark.ui


def test_prebuild_builds_the_screens_not_the_transient_ones_and_then_freezes():
    r = run_probe("prebuild_probe.py")
    assert r["built"] == {"a": True, "b": True, "installer": False}
    assert r["unbuilt"] == []
    assert r["frozen_when"] == {"a": True, "b": True}  # frozen once both were built, not before
