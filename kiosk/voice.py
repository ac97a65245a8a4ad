"""Spoken prompts for elder mode (长辈模式 语音提示): text → WAV with espeak-ng, cached, played by a small player.

The caller never waits: `VoicePrompter.say()` hands the text to one worker thread and returns. Only the newest prompt
counts: a new one stops the sound that is playing, and a prompt that was overtaken before it was synthesised is
dropped. Audio is a help, never a dependency: without espeak-ng (or a sound device) the kiosk stays silent.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from pathlib import Path
from typing import Protocol

from devices.files import atomic_write

log = logging.getLogger(__name__)

EXECUTABLE = "espeak-ng"
VOICES = {"zh_CN": "cmn", "en": "en"}  # espeak-ng voice names (`espeak-ng --voices`)
# espeak-ng speaks 175 words per minute by default; older listeners follow a slower pace more easily.
ELDER_RATE_WPM = 130
SYNTH_TIMEOUT_S = 30.0
MAX_CACHED = 200  # prompts with a receipt number are unique: keep the cache from growing without end


class Player(Protocol):
    """Plays one WAV file at a time. Both calls return at once; `play` replaces whatever is playing."""

    def play(self, path: Path) -> None: ...

    def stop(self) -> None: ...


class SilentPlayer:
    """For a kiosk without sound output, and for tests: remembers what it was asked to play."""

    def __init__(self) -> None:
        self.played: list[Path] = []

    def play(self, path: Path) -> None:
        self.played.append(Path(path))

    def stop(self) -> None:
        pass


def spell_out(code: str) -> str:
    """A receipt number read one character at a time ("K0001-20261122-0007" → "K 0 0 0 1, 2 0 2 6 …"),
    so that a synthesiser does not read its digits as one large number."""
    groups = [" ".join(part) for part in code.replace("_", "-").split("-") if part]
    return ", ".join(groups)


SESSION_DIR = "session"  # personal prompts of the current session, deleted at its end


class VoicePrompter:
    """Synthesises and plays prompts on a background thread; the newest prompt wins."""

    def __init__(self, cache_dir: str | os.PathLike, player: Player | None = None, executable: str = EXECUTABLE,
                 rate_wpm: int = ELDER_RATE_WPM, max_cached: int = MAX_CACHED) -> None:
        self.cache_dir = Path(cache_dir)
        self.player: Player = player if player is not None else SilentPlayer()
        self.executable = executable
        self.rate_wpm = int(rate_wpm)
        self.max_cached = max_cached
        self._cond = threading.Condition()
        self._generation = 0
        self._pending: tuple[int, str, str, bool] | None = None
        self._forget = False  # delete the session's personal prompts (done by the worker, after any synthesis)
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._warned_missing = False
        self.synthesised = 0  # how many WAV files espeak-ng actually wrote (cache misses)

    # -- public ------------------------------------------------------------------------------
    def say(self, text: str, language: str, personal: bool = False) -> None:
        """Speak `text` in `language` ("zh_CN" or "en") soon; replaces any prompt not yet finished.

        `personal` prompts (a card's expiry date, a receipt number) are kept apart and deleted by
        `forget_session()` at the end of the citizen's session instead of staying in the shared cache."""
        text = (text or "").strip()
        with self._cond:
            if self._closed:
                return
            self._generation += 1
            self._pending = (self._generation, text, language, personal) if text else None
            self._stop_player()
            if self._pending is not None:
                self._ensure_thread()
            self._cond.notify_all()

    def stop(self) -> None:
        """Silence: stop the sound that is playing and forget a prompt still waiting."""
        self.say("", "")

    def forget_session(self) -> None:
        """Silence, then delete every personal prompt of the session that ended (on the worker, never blocking)."""
        with self._cond:
            if self._closed:
                return
            self._generation += 1
            self._pending = None
            self._stop_player()
            self._forget = True
            self._ensure_thread()
            self._cond.notify_all()

    def wav_path(self, text: str, language: str, personal: bool = False) -> Path:
        """Where the synthesised prompt is cached: keyed by language, voice, rate and text."""
        voice = VOICES.get(language, VOICES["zh_CN"])
        key = hashlib.sha256(f"{language}\0{voice}\0{self.rate_wpm}\0{text.strip()}".encode("utf-8")).hexdigest()
        folder = self.cache_dir / SESSION_DIR if personal else self.cache_dir
        return folder / f"{language}-{key[:24]}.wav"

    def synthesise(self, text: str, language: str, personal: bool = False) -> Path | None:
        """The cached WAV for `text`, synthesised first if needed; None when espeak-ng cannot make it."""
        path = self.wav_path(text, language, personal)
        if path.exists():
            return path
        exe = shutil.which(self.executable)
        if exe is None:
            if not self._warned_missing:
                self._warned_missing = True
                log.warning("voice prompts are off: %s is not installed (apt-get install espeak-ng)", self.executable)
            return None
        voice = VOICES.get(language, VOICES["zh_CN"])
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".voice-", dir=path.parent) as tmp:
            out = Path(tmp) / "prompt.wav"
            try:
                # Text on stdin (-b 1: UTF-8), so a prompt can never be read as an option.
                proc = subprocess.run([exe, "-v", voice, "-s", str(self.rate_wpm), "-b", "1", "-w", str(out)],
                                      input=text.encode("utf-8"), capture_output=True, timeout=SYNTH_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.warning("voice prompt not synthesised (%s): %s", path.name, exc)
                return None
            if proc.returncode != 0 or not _valid_wav(out):
                log.warning("voice prompt not synthesised (%s): %s exited %s: %s", path.name, self.executable,
                            proc.returncode, proc.stderr.decode("utf-8", "replace").strip()[:200])
                return None
            atomic_write(path, out.read_bytes())
        self.synthesised += 1
        self._prune()
        return path

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no prompt is waiting or being made (for tests and shutdown); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy and not self._forget, timeout)

    def close(self) -> None:
        """Stop playing and end the worker thread."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._generation += 1
            self._stop_player()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=SYNTH_TIMEOUT_S + 5)

    # -- worker ------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="voice-prompts", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed or self._forget)
                if self._forget:
                    self._forget = False
                    shutil.rmtree(self.cache_dir / SESSION_DIR, ignore_errors=True)
                if self._closed:
                    self._cond.notify_all()
                    return
                if self._pending is None:
                    self._cond.notify_all()
                    continue
                generation, text, language, personal = self._pending
                self._pending = None
                self._busy = True
            try:
                path = self.synthesise(text, language, personal)
                with self._cond:
                    # Checked and played under the lock: a newer say() either comes first (and this prompt is
                    # dropped) or after (and its stop() ends this one).
                    if path is not None and generation == self._generation and not self._closed:
                        self.player.play(path)
            except Exception:  # audio must never take anything else down
                log.exception("voice prompt failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _stop_player(self) -> None:
        try:
            self.player.stop()
        except Exception:
            log.exception("voice player stop failed")

    def _prune(self) -> None:
        try:
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in files[:max(0, len(files) - self.max_cached)]:
            try:
                old.unlink()
            except OSError:
                pass


def _valid_wav(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False
