"""Colours and sizes. Contrast of text on its background is at least 4.5:1 (WCAG AA); elder mode scales
text and touch targets (≥ 60 dp) through `app.scale`."""
from kivy.metrics import sp

BACKGROUND = (0.96, 0.97, 0.98, 1)
SURFACE = (1, 1, 1, 1)
TEXT = (0.10, 0.10, 0.12, 1)  # on BACKGROUND: about 17:1
TEXT_MUTED = (0.30, 0.32, 0.36, 1)  # on BACKGROUND: about 10:1
PRIMARY = (0.04, 0.31, 0.61, 1)  # white text on it: about 8:1
PRIMARY_DOWN = (0.02, 0.22, 0.45, 1)
SECONDARY = (0.86, 0.89, 0.93, 1)  # dark text on it: about 13:1
DANGER = (0.70, 0.10, 0.10, 1)  # white on it: about 6.5:1; as text on BACKGROUND: about 6:1
SUCCESS = (0.05, 0.45, 0.20, 1)
HEADER = (0.75, 0.07, 0.10, 1)  # government red header, white text: about 6:1
ON_PRIMARY = (1, 1, 1, 1)

ELDER_SCALE = 1.35

# The type scale, in sp. Every size a label is drawn at opens its own face of the Chinese font, about 2.5 MB each
# and kept for the app's life: the screens named 16 sizes from 14 to 96 sp, one journey opened 19 faces and the
# elder tour 31 (every size again at 1.35 times, some fractional). Each wanted size is taken to a step of this scale.
TYPE_STEPS = (14, 16, 18, 20, 24, 28, 32, 40, 48, 56, 96)


def fs(size: float) -> float:
    """The step of the type scale nearest to `size` (pixels, as `sp(n) * app.scale` gives); halfway goes up."""
    unit = sp(1)
    wanted = size / unit
    return unit * min(TYPE_STEPS, key=lambda step: (abs(step - wanted), -step))


def fs_fit(size: float) -> float:
    """The largest step of the type scale not above `size` (the smallest step if all are): for text that must fit."""
    unit = sp(1)
    wanted = size / unit
    return unit * max((step for step in TYPE_STEPS if step <= wanted), default=TYPE_STEPS[0])
