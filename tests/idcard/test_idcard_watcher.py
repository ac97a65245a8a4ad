"""CardWatcher over the simulated reader: one placed / one removed per placement for both module kinds,
unplug/replug recovery, errors as events, stop() that returns promptly."""
from __future__ import annotations

import threading

import pytest

from devices.idcard.reader import CardEvent, CardWatcher
from devices.model import Status

from idcard_support import sample, wait_for


class Recorder:
    def __init__(self) -> None:
        self.events: list[CardEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: CardEvent) -> None:
        with self.lock:
            self.events.append(event)

    def kinds(self, *only: str) -> list[str]:
        with self.lock:
            return [e.kind for e in self.events if not only or e.kind in only]

    def statuses(self) -> list[Status]:
        with self.lock:
            return [e.status for e in self.events if e.kind == "status"]


@pytest.fixture
def watch():
    watchers = []

    def factory(port: str, **kwargs):
        rec = Recorder()
        w = CardWatcher(port, poll_ms=kwargs.pop("poll_ms", 50), on_event=rec, **kwargs)
        w.start()
        watchers.append(w)
        return w, rec

    yield factory
    for w in watchers:
        w.stop()


def cards(rec: Recorder) -> list[str]:
    return rec.kinds("placed", "removed")


@pytest.mark.parametrize("sim_module,watch_module", [
    ("continuous", "auto"), ("continuous", "continuous"), ("single", "auto"), ("single", "single"),
])
def test_card_left_on_reader_is_read_once(make_sim, watch, sim_module, watch_module):
    sim = make_sim(module=sim_module)
    w, rec = watch(sim.port, module=watch_module)
    assert wait_for(lambda: w.status == Status.ONLINE)
    sim.place(sample("resident"))
    assert wait_for(lambda: cards(rec) == ["placed"])
    reads = sim.commands.count((0x30, 0x01))
    polls = sim.commands.count((0x20, 0x01))
    assert wait_for(lambda: sim.commands.count((0x20, 0x01)) >= polls + 10)  # ten more polls with the card left on
    assert cards(rec) == ["placed"]  # no second "placed", no "removed" while the card stays
    assert sim.commands.count((0x30, 0x01)) == reads == 1
    placed = [e for e in rec.events if e.kind == "placed"][0]
    assert placed.card.name == "王小明" and placed.card.address_latest == "陕西省西安市新城区样例街6号"

    sim.remove()
    polls = sim.commands.count((0x20, 0x01))
    assert wait_for(lambda: sim.commands.count((0x20, 0x01)) >= polls + 5)
    # A continuous module shows the removal; a single one cannot tell it from a card left on the reader.
    assert cards(rec) == (["placed", "removed"] if sim_module == "continuous" else ["placed"])
    sim.place(sample("gat_residence"))
    assert wait_for(lambda: cards(rec) == ["placed", "removed", "placed"])
    assert [e for e in rec.events if e.kind == "placed"][1].card.card_type == "gat_residence"


def test_continuous_module_reports_removal_while_empty(make_sim, watch):
    sim = make_sim(card=sample("resident"), module="continuous")
    w, rec = watch(sim.port)
    assert wait_for(lambda: cards(rec) == ["placed"])
    assert wait_for(lambda: w.module == "continuous")  # learned from a 9F after the read
    sim.remove()
    assert wait_for(lambda: cards(rec) == ["placed", "removed"])
    polls = sim.commands.count((0x20, 0x01))
    assert wait_for(lambda: sim.commands.count((0x20, 0x01)) >= polls + 5)
    assert cards(rec) == ["placed", "removed"]
    assert w.card is None


def test_expired_card_is_still_placed(make_sim, watch):
    sim = make_sim(card=sample("resident_expired"))
    _, rec = watch(sim.port)
    assert wait_for(lambda: cards(rec) == ["placed"])
    assert [e for e in rec.events if e.kind == "placed"][0].card.expired is True


@pytest.mark.parametrize("module", ["continuous", "single"])
def test_unplug_and_replug_recover(make_sim, watch, module):
    sim = make_sim(card=sample("resident"), module=module)
    w, rec = watch(sim.port)
    assert wait_for(lambda: cards(rec) == ["placed"])
    sim.unplug()
    assert wait_for(lambda: w.status == Status.NO_DEVICE)
    assert wait_for(lambda: cards(rec) == ["placed", "removed"])  # presence cannot be vouched for without the reader
    sim.replug()
    assert wait_for(lambda: w.status == Status.ONLINE, timeout=8)
    assert wait_for(lambda: cards(rec) == ["placed", "removed", "placed"], timeout=8)  # the card is still there
    statuses = rec.statuses()
    assert statuses[-2:] == [Status.NO_DEVICE, Status.ONLINE]


def test_start_without_device_then_plug_in(make_sim, watch, tmp_path):
    link = str(tmp_path / "idcard")
    w, rec = watch(link)
    assert wait_for(lambda: w.status == Status.NO_DEVICE)
    sim = make_sim(link_path=link, card=sample("foreign_2017"))
    assert wait_for(lambda: w.status == Status.ONLINE, timeout=8)
    assert wait_for(lambda: cards(rec) == ["placed"], timeout=8)
    assert sim.port == link


def test_silent_reader_goes_offline_then_back(make_sim, watch):
    sim = make_sim()
    w, rec = watch(sim.port)
    assert wait_for(lambda: w.status == Status.ONLINE)
    sim._faults["no_answer"] = -1
    assert wait_for(lambda: w.status == Status.OFFLINE, timeout=10)
    sim._faults["no_answer"] = 0
    assert wait_for(lambda: w.status == Status.ONLINE, timeout=10)


def test_card_removed_mid_read_is_an_error_event_not_a_placement(make_sim, watch):
    sim = make_sim(faults=["removed_mid_read"])
    _, rec = watch(sim.port)
    sim.place(sample("resident"))
    assert wait_for(lambda: "error" in rec.kinds())
    err = [e for e in rec.events if e.kind == "error"][0].error
    assert err.action and "placed" not in rec.kinds()
    sim.place(sample("resident"))
    assert wait_for(lambda: "placed" in rec.kinds())


def test_stop_returns_promptly_during_a_slow_read(make_sim, watch):
    sim = make_sim(card_ms=5000)
    w, rec = watch(sim.port)
    assert wait_for(lambda: w.status == Status.ONLINE, timeout=5)
    sim.place(sample("resident"))
    assert wait_for(lambda: (0x30, 0x01) in sim.commands, timeout=5)
    thread = w._thread
    w.stop()  # joins for at most 1 s: the 5 s read must have been interrupted, not waited out
    assert not thread.is_alive()
    assert "placed" not in rec.kinds()


def test_handler_exceptions_do_not_kill_the_watcher(make_sim):
    sim = make_sim(card=sample("resident"))
    seen = []

    def handler(event):
        seen.append(event.kind)
        raise RuntimeError("handler bug")

    w = CardWatcher(sim.port, poll_ms=50, on_event=handler)
    w.start()
    try:
        assert wait_for(lambda: "placed" in seen)
        assert wait_for(lambda: w.module == "continuous")
        sim.remove()
        assert wait_for(lambda: "removed" in seen)
        assert w.running
    finally:
        w.stop()


def test_stop_returns_promptly_while_probing_a_silent_reader(make_sim):
    sim = make_sim(faults=["no_answer:always"])
    w = CardWatcher(sim.port, poll_ms=50)
    w.start()
    assert wait_for(lambda: len(sim.commands) >= 1)
    thread = w._thread
    w.stop()  # the probe at five rates would take well over a second if it were waited out
    assert not thread.is_alive()
