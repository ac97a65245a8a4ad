"""The Simplified Chinese UI font.

Kivy opens only face 0 of a .ttc, and face 0 of Debian's Noto Sans CJK collection is the Japanese one
(直骨角写 in Japanese shapes); Kivy also has no font fallback and no synthetic bold. So at first start we
extract the Simplified Chinese Regular and Bold faces from `fonts-noto-cjk` with fontTools into the data
directory, and register those two static files. The extraction runs in a child process: fontTools reading a
16 MB collection would leave its modules and some 10 MB more in the kiosk's own memory for the rest of its life.

The kiosk's screens draw with a copy without CFF subroutines (`ensure_screen_fonts`): Kivy opens one FreeType face
per text size, and FreeType copies the font's 46,000 subroutines into every face it opens — 2.5 MB a face, 0.7 MB
without them, for the same pixels. AFDKO's `tx` (Debian's afdko-bin) writes that copy in about three seconds;
without it the screens use the extracted faces as they are.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
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
# AFDKO's tx where Debian's afdko-bin puts it (not a `tx` on the PATH: that name is also Transifex's client).
TX_PATHS = (Path("/usr/libexec/afdko/tx"),)
TX_HINT = "install the Debian package afdko-bin (deploy/bootstrap.sh does it)"
SCREEN_SUFFIX = "-screen"  # the copy without subroutines the kiosk's screens draw with
# Written when tx fails on the font: which tx failed and why. That tx is not run again at every start (a failure
# costs seconds each time); another tx (an upgraded or reinstalled afdko-bin) is tried again.
TX_FAILED = ".tx-failed"


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


def _extract(collection_path: Path, target: Path, tx: Path | None = None) -> None:
    """Extract in a child process (see the module's note); its failure is told as a missing font, with its cause.
    With `tx` the face is written without subroutines. A child stopped half-way leaves its temporary file, which
    `_ensure` removes once every child has ended."""
    root = str(Path(__file__).resolve().parents[1])  # this project, ahead of whatever the working directory holds
    code = f"import sys; sys.path.insert(0, {root!r}); from kiosk.fonts import main; main()"
    args = [str(collection_path), str(target), *([str(tx)] if tx else [])]
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=EXTRACT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FontMissing(f"extracting the Chinese font from {collection_path} did not finish within "
                          f"{EXTRACT_TIMEOUT_S} s", "check the disk and the machine's load, then start again") from None
    if proc.returncode != 0 or not target.is_file():
        lines = proc.stderr.strip().splitlines()
        raise FontMissing(f"the Chinese font could not be extracted from {collection_path}: "
                          f"{lines[-1] if lines else f'exit {proc.returncode}, nothing written'}",
                          TX_HINT if tx else PACKAGE_HINT)


def _remove_partial(directory: Path) -> None:
    for partial in directory.glob(f"{PARTIAL_PREFIX}*.tmp") if directory.is_dir() else ():
        partial.unlink(missing_ok=True)


def _partial(directory: Path) -> str:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX, suffix=".tmp")
    os.close(fd)
    return tmp


def _extract_here(collection_path: Path, target: Path, tx: Path | None = None) -> None:
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(collection_path), lazy=True)
    font = collection.fonts[_sc_face_index(collection)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(target.parent)
    try:
        font.save(tmp)
        if tx is not None:
            _without_subroutines(Path(tmp), tx)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _without_subroutines(path: Path, tx: Path) -> None:
    """Rewrite the font at `path` with its CFF table written by `tx -cff`, which writes charstrings without
    subroutines and keeps their hints; every other table is copied as it is."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    cff, flat = _partial(path.parent), _partial(path.parent)
    try:
        proc = subprocess.run([str(tx), "-cff", str(path), cff], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True)
        if proc.returncode != 0 or os.path.getsize(cff) == 0:
            lines = proc.stderr.strip().splitlines()
            raise FontMissing(f"{tx} could not rewrite the font without subroutines: "
                              f"{lines[-1] if lines else f'exit {proc.returncode}'}", TX_HINT)
        font = TTFont(str(path), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        table = DefaultTable("CFF ")
        table.data = Path(cff).read_bytes()
        font["CFF "] = table
        font.save(flat)
        font.close()
        os.replace(flat, path)
    finally:
        for leftover in (cff, flat):
            if os.path.exists(leftover):
                os.unlink(leftover)


def tx_path() -> Path | None:
    """AFDKO's tx, when it is installed."""
    return next((p for p in TX_PATHS if p.is_file() and os.access(p, os.X_OK)), None)


def _ensure(data_dir: str | os.PathLike, suffix: str = "", tx: Path | None = None) -> UiFonts:
    out = Path(data_dir) / "fonts"
    targets = {weight: out / f"NotoSansCJKsc-{weight.capitalize()}{suffix}.otf" for weight in COLLECTIONS}
    missing = [w for w, t in targets.items() if not t.is_file() or t.stat().st_size == 0]
    if missing:
        sources = {w: _find_collection(COLLECTIONS[w]) for w in missing}
        for weight in missing:
            log.info("extracting the Simplified Chinese %s face from %s%s", weight, sources[weight],
                     " without subroutines" if tx else "")
        with ThreadPoolExecutor(len(missing)) as pool:  # each in its own child process, side by side
            jobs = [pool.submit(_extract, sources[w], targets[w], tx) for w in missing]
        failed = [job.exception() for job in jobs if job.exception() is not None]
        if failed:
            _remove_partial(out)  # what a child stopped half-way left behind
            raise failed[0]
    return UiFonts(regular=targets["regular"], bold=targets["bold"])


def ensure_ui_fonts(data_dir: str | os.PathLike) -> UiFonts:
    """Return the extracted SC Regular and Bold faces, extracting them on first use (about a second each)."""
    return _ensure(data_dir)


def ensure_screen_fonts(data_dir: str | os.PathLike) -> UiFonts:
    """The faces the kiosk's screens draw with: the extracted faces without CFF subroutines (a few seconds on first
    use), or the extracted faces as they are when AFDKO's tx is missing or fails (told in the log)."""
    tx = tx_path()
    if tx is None:
        log.warning("AFDKO's tx is not installed: each text size on screen costs 2.5 MB of memory instead of 0.7 MB"
                    " (%s)", TX_HINT)
        return ensure_ui_fonts(data_dir)
    marker = tx_failed_marker(data_dir)
    failed_before = tx_failure(data_dir)
    if failed_before is not None:
        log.warning("%s (at an earlier start); the screens use the font with its subroutines. To try again, "
                    "reinstall afdko-bin or delete %s", failed_before, marker)
        return ensure_ui_fonts(data_dir)
    try:
        return _ensure(data_dir, SCREEN_SUFFIX, tx)
    except FontMissing as exc:
        if exc.action != TX_HINT:
            raise
        log.warning("%s; the screens use the font with its subroutines", exc.message)
        _write_marker(marker, f"{_tx_stamp(tx)}\n{exc.message}\n")
        return ensure_ui_fonts(data_dir)


def tx_failed_marker(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "fonts" / TX_FAILED


def _tx_stamp(tx: Path) -> str:
    st = tx.stat()
    return f"{tx} {st.st_size} {st.st_mtime_ns}"


def tx_failure(data_dir: str | os.PathLike) -> str | None:
    """Why this installation's tx failed on the font at an earlier start, or None (never failed, or another tx)."""
    tx = tx_path()
    try:
        stamp, reason = tx_failed_marker(data_dir).read_text(encoding="utf-8").split("\n", 1)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if tx is None or stamp != _tx_stamp(tx):
        return None
    return reason.strip() or f"{tx} failed"


def _write_marker(marker: Path, text: str) -> None:
    tmp = None
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = _partial(marker.parent)
        Path(tmp).write_text(text, encoding="utf-8")
        os.replace(tmp, marker)
    except OSError as exc:  # a read-only data directory: tx is simply tried again next time
        log.warning("cannot record tx's failure in %s: %s", marker, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def main() -> None:
    """The child `_extract` starts: COLLECTION TARGET [TX] on its command line."""
    try:
        _extract_here(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    except FontMissing as exc:
        sys.exit(exc.message)
