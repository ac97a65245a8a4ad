"""Replay and volume, on every screen: the citizen hears the screen's instruction again (in any mode) and sets
how loud the prompts are (three steps)."""
from __future__ import annotations

from kivy.app import App
from kivy.event import EventDispatcher
from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout

from screens.base import load_kv

VOLUMES = (1.0, 0.6, 0.3)


class _VolumeState(EventDispatcher):
    step = NumericProperty(0)  # index into VOLUMES, shared by every screen's controls


VOLUME_STATE = _VolumeState()


class VoiceControls(BoxLayout):
    step = NumericProperty(0)  # mirrors VOLUME_STATE.step

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step = VOLUME_STATE.step
        VOLUME_STATE.bind(step=self.setter("step"))

    def replay(self) -> None:
        app = App.get_running_app()
        if app.voice is None:
            return
        screen = app.screen(app.current)
        text = screen.spoken_prompt()
        if text:
            app.voice.say(text, app.language, screen.prompt_is_personal)

    def next_volume(self) -> None:
        app = App.get_running_app()
        VOLUME_STATE.step = (VOLUME_STATE.step + 1) % len(VOLUMES)
        player = getattr(app.voice, "player", None)
        if player is not None and hasattr(player, "volume"):
            player.volume = VOLUMES[VOLUME_STATE.step]


load_kv("voice_controls")
