"""Auto-detection: candidates in order, and never a byte to a port configured for another device."""
from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner

from devices.errors import DeviceAbsent
from devices.idcard import ports
from devices.idcard.reader import CardWatcher, open_reader
from devices.model import Status

from idcard_support import SAMPLES, sample, wait_for


class FakePrinterPort:
    """A pty standing in for a serial receipt printer: records whatever reaches it."""

    def __init__(self, link: str) -> None:
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        self.link = link
        os.symlink(os.ttyname(self.slave), link)

    def received(self) -> bytes:
        out = b""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                return out
            if not chunk:
                return out
            out += chunk

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def printer(tmp_path):
    p = FakePrinterPort(str(tmp_path / "a-printer"))
    yield p
    p.close()


@pytest.fixture
def candidates(monkeypatch, tmp_path):
    # The printer sorts first, so it would be probed first if it were not excluded.
    globs = [str(tmp_path / "a-printer"), str(tmp_path / "b-idcard*")]
    monkeypatch.setattr(ports, "CANDIDATE_GLOBS", globs)
    return tmp_path


def test_candidate_order_and_dedup(tmp_path):
    for name in ("idcard", "by-id-x", "ttyUSB0"):
        (tmp_path / name).write_text("")
    os.symlink(tmp_path / "ttyUSB0", tmp_path / "by-id-link")
    globs = [str(tmp_path / "idcard"), str(tmp_path / "by-id-*"), str(tmp_path / "ttyUSB*")]
    assert ports.candidate_ports(globs=globs) == [str(tmp_path / n) for n in ("idcard", "by-id-link", "by-id-x")]
    # excluded by its real path while listed under a symlink
    assert ports.candidate_ports([str(tmp_path / "ttyUSB0")], globs=globs) == [str(tmp_path / n) for n in ("idcard", "by-id-x")]


def test_auto_skips_the_printer_port(make_sim, printer, candidates):
    sim = make_sim(link_path=str(candidates / "b-idcard0"))
    reader = open_reader("auto", exclude_ports=[printer.link])
    try:
        assert reader.port == sim.port
    finally:
        reader.close()
    assert printer.received() == b""


def test_auto_excludes_by_real_path_too(make_sim, printer, candidates):
    make_sim(link_path=str(candidates / "b-idcard0"))
    reader = open_reader("auto", exclude_ports=[os.ttyname(printer.slave)])
    reader.close()
    assert printer.received() == b""


def test_without_the_exclusion_the_printer_would_be_probed(make_sim, printer, candidates):
    make_sim(link_path=str(candidates / "b-idcard0"))
    reader = open_reader("auto", exclude_ports=[])
    reader.close()
    got = printer.received()
    assert got.startswith(bytes.fromhex("AAAAAA9669000311FFED"))  # only SAM status probes, never 60 xx
    probe = bytes.fromhex("AAAAAA9669000311FFED")
    assert got == probe * (len(got) // len(probe))


def test_explicit_reserved_port_is_refused(printer):
    with pytest.raises(DeviceAbsent, match="another device"):
        open_reader(printer.link, exclude_ports=[printer.link])
    assert printer.received() == b""


def test_watcher_auto_never_writes_to_the_printer(make_sim, printer, candidates):
    sim = make_sim(link_path=str(candidates / "b-idcard0"), card=sample("resident"))
    events = []
    w = CardWatcher("auto", poll_ms=50, on_event=events.append, exclude_ports=[printer.link])
    w.start()
    try:
        assert wait_for(lambda: any(e.kind == "placed" for e in events))
        sim.unplug()
        assert wait_for(lambda: w.status == Status.NO_DEVICE)
        time.sleep(1.2)  # a few reconnect rounds with only the printer present
        sim.replug()
        assert wait_for(lambda: w.status == Status.ONLINE, timeout=8)
    finally:
        w.stop()
    assert printer.received() == b""


def test_cli_port_auto_skips_the_configured_printer(make_sim, printer, candidates):
    from kiosk.cli import cli

    make_sim(link_path=str(candidates / "b-idcard0"), card=sample("resident"))
    config = candidates / "kiosk.toml"
    config.write_text(f'[devices.idcard]\nport = "auto"\n\n[devices.printer]\nuri = "serial://{printer.link}?baud=19200"\n')
    result = CliRunner().invoke(cli, ["idcard", "read", "--port", "auto", "--config", str(config), "--json", "--timeout", "3"])
    assert result.exit_code == 0, result.output
    assert '"id_number": "6*************1237"' in result.stdout
    assert printer.received() == b""


@pytest.mark.parametrize("uri,path", [
    ("serial:///dev/ttyUSB1?baud=19200", "/dev/ttyUSB1"), ("serial:///dev/printer", "/dev/printer"),
    ("tcp://127.0.0.1:9100", None), ("usb://0x0416:0x5011", None), ("", None), (None, None),
])
def test_serial_path_of_printer_uri(uri, path):
    assert ports.serial_path_of(uri) == path
