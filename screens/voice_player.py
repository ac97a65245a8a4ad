"""Plays voice prompt WAV files with Kivy's SoundLoader, always on the UI thread, one sound at a time."""
from __future__ import annotations

import logging
from pathlib import Path

from kivy.clock import Clock

log = logging.getLogger(__name__)


class KivySoundPlayer:
    """The `kiosk.voice.Player` of the kiosk: callable from any thread; the work happens on the UI thread."""

    def __init__(self) -> None:
        self._sound = None
        self._warned = False
        self.volume = 1.0  # 0..1, set by the volume control on the screens

    def play(self, path: Path) -> None:
        Clock.schedule_once(lambda dt: self._play(Path(path)), 0)

    def stop(self) -> None:
        Clock.schedule_once(lambda dt: self._stop(), 0)

    def _play(self, path: Path) -> None:
        self._stop()
        try:
            from kivy.core.audio import SoundLoader

            sound = SoundLoader.load(str(path))
        except Exception as exc:  # no audio provider or no sound device: stay silent
            sound = None
            reason = str(exc)
        else:
            reason = "no audio provider could open it"
        if sound is None:
            if not self._warned:
                self._warned = True
                log.warning("voice prompt cannot be played (%s); the kiosk carries on silently", reason)
            return
        try:
            sound.volume = self.volume
            sound.play()
        except Exception as exc:
            log.warning("voice prompt playback failed: %s", exc)
            return
        self._sound = sound

    def _stop(self) -> None:
        sound, self._sound = self._sound, None
        if sound is None:
            return
        try:
            sound.stop()
            sound.unload()
        except Exception as exc:
            log.warning("voice prompt stop failed: %s", exc)
