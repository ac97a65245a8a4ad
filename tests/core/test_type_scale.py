"""Text sizes go through the type scale (screens.theme.fs): each size drawn opens a face of the Chinese font of
about 2.5 MB that the app keeps, so the screens draw at a few steps rather than at every size they name."""
import re
from pathlib import Path

from kivy.metrics import sp

from screens import theme

SCREENS = Path(__file__).resolve().parents[2] / "screens"


def test_every_text_size_in_the_screens_goes_through_the_type_scale():
    loose = []
    for kv in sorted(SCREENS.rglob("*.kv")):
        for number, line in enumerate(kv.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"\s*font_size:\s*(.+)$", line)
            if match and not match.group(1).startswith(("theme.fs(", "theme.fs_fit(")):
                loose.append(f"{kv.relative_to(SCREENS)}:{number}: {line.strip()}")
    for py in sorted(SCREENS.rglob("*.py")):
        for number, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"font_size\s*=\s*(?!old\.font_size)", line):
                loose.append(f"{py.relative_to(SCREENS)}:{number}: {line.strip()}")
    assert loose == []


def test_a_size_goes_to_the_nearest_step_and_halfway_goes_up():
    assert theme.fs(sp(19)) == sp(20)
    assert theme.fs(sp(22)) == sp(24)  # halfway between 20 and 24
    assert theme.fs(sp(21)) == sp(20)
    assert theme.fs(sp(30)) == sp(32)
    assert theme.fs(sp(22) * theme.ELDER_SCALE) == sp(28)  # 29.7
    assert theme.fs(sp(8)) == sp(14) and theme.fs(sp(400)) == sp(96)


def test_text_that_must_fit_takes_the_step_below():
    assert theme.fs_fit(sp(23.9)) == sp(20)
    assert theme.fs_fit(sp(24)) == sp(24)
    assert theme.fs_fit(sp(5)) == sp(14)  # nothing smaller: the smallest step
