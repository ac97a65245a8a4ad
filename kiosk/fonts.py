"""The Simplified Chinese UI font.

Kivy opens only face 0 of a .ttc, and face 0 of Debian's Noto Sans CJK collection is the Japanese one
(直骨角写 in Japanese shapes); Kivy also has no font fallback and no synthetic bold. So at first start we
extract the Simplified Chinese Regular and Bold faces from `fonts-noto-cjk` with fontTools into the data
directory, and register those two static files. The extraction runs in a child process: fontTools reading a
16 MB collection would leave its modules and some 10 MB more in the kiosk's own memory for the rest of its life.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import KioskError

log = logging.getLogger(__name__)

NOTO_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"), Path("/usr/share/fonts/opentype/noto-cjk"))
COLLECTIONS = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}
SC_FAMILY = "Noto Sans CJK SC"
PARTIAL_PREFIX = ".extracting-"
EXTRACT_TIMEOUT_S = 300  # about a second each on a kiosk; a child that hangs must not hold the start for ever
PACKAGE_HINT = "install the Debian package fonts-noto-cjk (deploy/bootstrap.sh does it)"


class FontMissing(KioskError):
    exit_code = 3


@dataclass(frozen=True)
class UiFonts:
    regular: Path
    bold: Path


def _find_collection(filename: str) -> Path:
    for d in NOTO_DIRS:
        candidate = d / filename
        if candidate.is_file():
            return candidate
    raise FontMissing(f"the Chinese font {filename} is not installed", PACKAGE_HINT)


def _sc_face_index(collection) -> int:
    for index, font in enumerate(collection.fonts):
        names = {rec.toUnicode() for rec in font["name"].names if rec.nameID in (1, 16)}
        if SC_FAMILY in names:
            return index
    raise FontMissing(f"no {SC_FAMILY} face in the installed Noto CJK collection", PACKAGE_HINT)


def _extract(collection_path: Path, target: Path) -> None:
    """Extract in a child process (see the module's note); its failure is told as a missing font, with its cause.
    A child stopped half-way leaves no partial file: it writes a temporary file, removed here if it is left."""
    root = str(Path(__file__).resolve().parents[1])  # this project, ahead of whatever the working directory holds
    code = f"import sys; sys.path.insert(0, {root!r}); from kiosk.fonts import main; main()"
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(collection_path), str(target)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=EXTRACT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _remove_partial(target)
        raise FontMissing(f"extracting the Chinese font from {collection_path} did not finish within "
                          f"{EXTRACT_TIMEOUT_S} s", "check the disk and the machine's load, then start again") from None
    if proc.returncode != 0 or not target.is_file():
        _remove_partial(target)
        lines = proc.stderr.strip().splitlines()
        raise FontMissing(f"the Chinese font could not be extracted from {collection_path}: "
                          f"{lines[-1] if lines else f'exit {proc.returncode}, nothing written'}", PACKAGE_HINT)


def _remove_partial(target: Path) -> None:
    for partial in target.parent.glob(f"{PARTIAL_PREFIX}*.tmp") if target.parent.is_dir() else ():
        partial.unlink(missing_ok=True)


def _extract_here(collection_path: Path, target: Path) -> None:
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(collection_path), lazy=True)
    font = collection.fonts[_sc_face_index(collection)]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=PARTIAL_PREFIX, suffix=".tmp")
    os.close(fd)
    try:
        font.save(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_ui_fonts(data_dir: str | os.PathLike) -> UiFonts:
    """Return the extracted SC Regular and Bold faces, extracting them on first use (about a second each)."""
    out = Path(data_dir) / "fonts"
    paths = {}
    for weight, filename in COLLECTIONS.items():
        target = out / f"NotoSansCJKsc-{weight.capitalize()}.otf"
        if not target.is_file() or target.stat().st_size == 0:
            source = _find_collection(filename)
            log.info("extracting the Simplified Chinese %s face from %s", weight, source)
            _extract(source, target)
        paths[weight] = target
    return UiFonts(regular=paths["regular"], bold=paths["bold"])


def main() -> None:
    """The child `_extract` starts: COLLECTION TARGET on its command line."""
    try:
        _extract_here(Path(sys.argv[1]), Path(sys.argv[2]))
    except FontMissing as exc:
        sys.exit(exc.message)
