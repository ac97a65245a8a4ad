"""Keep the kiosk's resident memory flat on glibc.

Camera frames and scanned pages are numpy arrays of several megabytes made and freed on worker threads. glibc
raises its mmap threshold after each such free (up to 32 MB), so later frames land in per-thread heap arenas
that fragment and are never given back: a 5 MP scan left the app about 470 MB larger. A fixed threshold of
1 MB keeps every large buffer in its own mapping (returned to the system when freed), two arenas bound the
per-thread heaps, and `trim()` at the end of a session hands back what the heap keeps free. glibc fixes the
number of arenas when a second thread first allocates, so `kiosk run` sets the limits before anything else
(set later, after the camera, voice and hub threads had started, the app was 40-80 MB larger after 8 journeys).
Elsewhere than glibc (musl, macOS) both calls do nothing.

`freeze()` is about time, not memory: Python's full (generation 2) collection walks every object alive, and the
kiosk keeps a few hundred thousand for good (Kivy, the built screens, pypinyin's phrase data), so each took
0.5-1.6 s on this 2-core machine and landed in the middle of a screen change. Objects alive after start-up,
after the screens are built and after the pinyin data is loaded are moved out of the collector's reach.
What a citizen's session makes is not frozen (it would never be collected); its full collections (20-140 ms, one
or two per journey) are held off while a screen change is drawn (`pause_collections` until the frame is on the
screen) and one is run when the citizen has gone (`collect`), so they fall between changes, not inside them.
A hub process freezes what it holds once started, for the same reason (`kiosk.hub.serving.serve_hub`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024
ARENA_MAX = 2

_libc = None


def _glibc():
    global _libc
    if _libc is None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else False
        except OSError:
            _libc = False
    return _libc or None


def limit_heap() -> bool:
    """Fixed mmap threshold and at most ARENA_MAX arenas; True if applied (glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = libc.mallopt(M_ARENA_MAX, ARENA_MAX) == 1 and ok
    if not ok:
        log.warning("mallopt refused the heap limits")
    return ok


def trim() -> None:
    """Give the heap's free memory back to the system (cheap: a few milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def freeze() -> None:
    """Exclude every object alive now from later cyclic collections (call once long-lived data is loaded)."""
    gc.freeze()


_paused = False


def pause_collections() -> None:
    """Hold cyclic collections off (a screen change is being drawn) until `resume_collections()`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collections() -> None:
    """Let the collector run again if `pause_collections()` stopped it (one that came due runs at the next
    allocation)."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def collect() -> None:
    """A full collection now, then the heap's free memory back to the system: for when nobody is waiting."""
    gc.collect()
    trim()
