"""Elder mode's spoken prompts: real synthesis with espeak-ng, the cache, newest-wins, and silence without espeak-ng."""
import array
import math
import shutil
import threading
import wave
from pathlib import Path

import pytest

from kiosk.voice import SilentPlayer, VoicePrompter, spell_out

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (deploy/bootstrap.sh installs it)")


def _measure(path: Path) -> tuple[float, float]:
    """Duration in seconds and RMS (0..1) of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        frames = w.readframes(w.getnframes())
        duration = w.getnframes() / w.getframerate()
    samples = array.array("h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return duration, rms


@pytest.fixture
def prompter(tmp_path):
    p = VoicePrompter(tmp_path / "voice", SilentPlayer())
    yield p
    p.close()


@needs_espeak
@pytest.mark.parametrize("language, text", [("zh_CN", "请将身份证放在读卡区"),
                                            ("en", "Please place your ID card on the reader")])
def test_prompt_is_synthesised_to_a_real_wav_and_played(prompter, language, text):
    prompter.say(text, language)
    assert prompter.wait_idle(60)
    path = prompter.wav_path(text, language)
    assert path.exists() and path.parent == prompter.cache_dir
    duration, rms = _measure(path)
    assert duration > 0.5
    assert rms > 0.01, f"prompt looks silent (RMS {rms:.4f})"
    assert prompter.player.played == [path]
    assert not list(prompter.cache_dir.glob(".*")), "temporary files left in the cache"


def test_the_two_languages_are_cached_apart(prompter):
    assert prompter.wav_path("请刷身份证办理业务", "zh_CN") != prompter.wav_path("请刷身份证办理业务", "en")
    assert prompter.wav_path("a", "zh_CN") != prompter.wav_path("b", "zh_CN")


@needs_espeak
def test_a_cached_prompt_is_not_synthesised_again(prompter):
    text = "请取走您的身份证和材料原件"
    first = prompter.synthesise(text, "zh_CN")
    stamp = first.stat().st_mtime_ns
    content = first.read_bytes()
    assert prompter.synthesised == 1
    prompter.say(text, "zh_CN")
    assert prompter.wait_idle(60)
    assert prompter.synthesised == 1
    assert first.stat().st_mtime_ns == stamp and first.read_bytes() == content
    assert prompter.player.played == [first]


class _HoldingPrompter(VoicePrompter):
    """Holds the worker inside the first synthesis until released, so later prompts arrive deterministically
    while it is busy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.made: list[str] = []

    def synthesise(self, text, language, personal=False):
        self.made.append(text)
        if len(self.made) == 1:
            self.entered.set()
            assert self.release.wait(60)
        return super().synthesise(text, language, personal)


class _CountingPlayer(SilentPlayer):
    def __init__(self):
        super().__init__()
        self.stops = 0

    def stop(self):
        self.stops += 1


@needs_espeak
def test_the_newest_prompt_wins(tmp_path):
    player = _CountingPlayer()
    p = _HoldingPrompter(tmp_path / "voice", player)
    try:
        p.say("First screen.", "en")
        assert p.entered.wait(60)
        stops_before = player.stops
        # While the first prompt is being synthesised, three more screens go by.
        p.say("Second screen.", "en")
        p.say("Third screen.", "en")
        p.say("请选择您要办理的业务。", "zh_CN")
        p.release.set()
        assert p.wait_idle(60)
        newest = p.wav_path("请选择您要办理的业务。", "zh_CN")
        # The overtaken first prompt is not played; the two skipped ones are not even synthesised.
        assert player.played == [newest]
        assert p.made == ["First screen.", "请选择您要办理的业务。"]
        assert not p.wav_path("Second screen.", "en").exists()
        assert not p.wav_path("Third screen.", "en").exists()
        # Each new prompt stopped whatever was sounding.
        assert player.stops == stops_before + 3
    finally:
        p.close()


@needs_espeak
def test_stop_silences_a_prompt_not_yet_played(tmp_path):
    player = _CountingPlayer()
    p = _HoldingPrompter(tmp_path / "voice", player)
    try:
        p.say("First screen.", "en")
        assert p.entered.wait(60)
        p.say("Second screen.", "en")
        p.stop()
        p.release.set()
        assert p.wait_idle(60)
        assert player.played == []
        assert p.made == ["First screen."]
    finally:
        p.close()


def test_without_espeak_the_kiosk_stays_silent(tmp_path, monkeypatch, caplog):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    p = VoicePrompter(tmp_path / "voice", SilentPlayer())
    try:
        with caplog.at_level("WARNING", logger="kiosk.voice"):
            p.say("请刷身份证办理业务", "zh_CN")
            assert p.wait_idle(30)
            p.say("Please swipe your ID card to start.", "en")
            assert p.wait_idle(30)
            assert p.synthesise("请将身份证放在读卡区", "zh_CN") is None
        assert p.player.played == []
        assert not list(tmp_path.rglob("*.wav"))
        warnings = [r for r in caplog.records if "espeak-ng" in r.getMessage()]
        assert len(warnings) == 1, "the missing synthesiser is reported once, not on every screen"
        assert "apt-get install espeak-ng" in warnings[0].getMessage()
    finally:
        p.close()


def test_a_failing_synthesiser_is_silent_too(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "espeak-ng"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'voice not found' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    p = VoicePrompter(tmp_path / "voice", SilentPlayer())
    try:
        p.say("请刷身份证办理业务", "zh_CN")
        assert p.wait_idle(30)
        assert p.player.played == []
        assert not p.wav_path("请刷身份证办理业务", "zh_CN").exists()
    finally:
        p.close()


def test_a_player_that_fails_does_not_stop_the_prompter(tmp_path):
    class Broken(SilentPlayer):
        def play(self, path):
            raise RuntimeError("no sound device")

        def stop(self):
            raise RuntimeError("no sound device")

    p = VoicePrompter(tmp_path / "voice", Broken(), executable="definitely-not-installed-espeak")
    try:
        p.say("x", "en")  # stop() raising inside say() must not reach the caller
        assert p.wait_idle(30)
    finally:
        p.close()


def test_after_close_say_does_nothing(tmp_path):
    p = VoicePrompter(tmp_path / "voice", SilentPlayer())
    p.close()
    p.say("请刷身份证办理业务", "zh_CN")
    assert p.wait_idle(5)
    assert p.player.played == []


def test_receipt_numbers_are_read_one_character_at_a_time():
    assert spell_out("K0001-20261122-0007") == "K 0 0 0 1, 2 0 2 6 1 1 2 2, 0 0 0 7"
    assert spell_out("") == ""


@needs_espeak
def test_personal_prompts_are_deleted_when_the_session_ends(tmp_path):
    prompter = VoicePrompter(tmp_path / "voice", SilentPlayer())
    try:
        prompter.say("请刷身份证办理业务", "zh_CN")
        prompter.wait_idle(60)
        shared = prompter.wav_path("请刷身份证办理业务", "zh_CN")
        prompter.say("您的身份证已于2025-06-01过期", "zh_CN", personal=True)
        prompter.wait_idle(60)
        personal = prompter.wav_path("您的身份证已于2025-06-01过期", "zh_CN", personal=True)
        assert personal.exists() and shared.exists() and personal.parent != shared.parent
        prompter.forget_session()
        assert prompter.wait_idle(60)
        assert not personal.exists() and shared.exists()
    finally:
        prompter.close()
