"""Opening the reader's port when its lock is taken: for a moment (a child forked by another thread of this process
holds a copy of the port until it execs) the open waits; for longer, the port is reported in use by another program."""
from __future__ import annotations

import fcntl
import os
import threading

import pytest

from devices.errors import DeviceAbsent
from devices.idcard import link as link_mod
from devices.idcard.link import SamLink


def hold_lock(port: str) -> int:
    """Another open file of the port holding its lock, as a forked child's copy (or another program) would."""
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_a_lock_held_for_a_moment_is_waited_for(make_sim):
    sim = make_sim()
    fd = hold_lock(sim.port)
    release = threading.Timer(0.2, os.close, [fd])
    release.start()
    link = SamLink(sim.port)
    try:
        link.open()  # before: "port_busy" at once, while the lock was a subprocess being started elsewhere
        assert link.is_open
    finally:
        link.close()
        release.join()


def test_a_lock_that_stays_is_reported_as_another_program(make_sim, monkeypatch):
    monkeypatch.setattr(link_mod, "BUSY_WAIT_S", 0.2)
    sim = make_sim()
    fd = hold_lock(sim.port)
    try:
        link = SamLink(sim.port)
        with pytest.raises(DeviceAbsent) as caught:
            link.open()
        assert caught.value.code == "port_busy" and not link.is_open
        assert "another program" in caught.value.message
    finally:
        os.close(fd)
    link.open()  # released: the port opens
    link.close()


def test_a_missing_port_is_reported_at_once_not_waited_for(tmp_path, monkeypatch):
    opens = []
    real_serial = link_mod.serial.Serial

    def counting(*args, **kwargs):
        opens.append(args[0])
        return real_serial(*args, **kwargs)

    monkeypatch.setattr(link_mod.serial, "Serial", counting)
    with pytest.raises(DeviceAbsent) as caught:
        SamLink(str(tmp_path / "ttyNONE")).open()
    assert caught.value.code == "no_port"
    assert len(opens) == 1  # only a lock is asked again
