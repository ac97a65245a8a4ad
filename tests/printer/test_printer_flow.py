"""The printer over its real transports: the simulated printer on TCP, a fake pyusb device below our USB
transport, a pseudo-terminal for serial, a plain file; and the paper-out flow (no job is ever left held)."""
from __future__ import annotations

import os
import socket
import threading

import pytest

from devices.errors import DeviceAbsent, InvalidData
from devices.printer.decoder import decode
from devices.printer.engine import PrinterEngine
from devices.printer.fakeusb import FakeUsbPrinter
from devices.printer.printer import PrinterNotReady, open_printer
from devices.printer.simulator import SimulatedPrinter
from devices.printer.uri import parse_uri
from kiosk.receipt import render_receipt

TRACKING_URL = "https://zwfw.example.gov.cn/track/K0001-20261122-0009"
ACCEPTANCE = {
    "receipt_no": "K0001-20261122-0009", "item_name": "社会保障卡补领", "applicant_name": "张三",
    "applicant_id_number": "610124199001010063", "phone": "13712349050", "submitted_at": "2026-11-22T10:00:00+08:00",
    "promised_by": "2026-11-29", "delivery": "自取", "outlet": "雁塔区邮政网点", "tracking_url": TRACKING_URL,
    "materials": [{"name": "身份证", "pages": 1}],
}


@pytest.fixture
def sim():
    s = SimulatedPrinter()
    s.start()
    yield s
    s.stop()


def receipt() -> bytes:
    return render_receipt("acceptance", ACCEPTANCE)


@pytest.mark.parametrize("state,status,paper", [("ok", "online", "ok"), ("near_end", "online", "near_end"),
                                                ("empty", "user_error", "empty"), ("cover_open", "user_error", "ok")])
def test_status_by_simulator_state(sim, state, status, paper):
    sim.set_state(state)
    with open_printer(sim.device) as p:
        st = p.status()
    assert (st["online"], st["status"], st["paper"]) == (True, status, paper)
    assert st["cover_open"] == (state == "cover_open")


def test_silent_printer_is_offline_with_unknown_paper(sim):
    sim.set_state("silent")
    with open_printer(sim.device) as p:
        st = p.status(timeout=0.2)
        assert (st["online"], st["status"], st["paper"]) == (False, "offline", "unknown")
        with pytest.raises(PrinterNotReady):
            p.print_bytes(receipt(), timeout=0.2)
    assert sim.received == b"" and sim.held == b""


def test_print_ok(sim):
    data = receipt()
    with open_printer(sim.device) as p:
        p.print_bytes(data)
    assert sim.received == data  # the GS r 1 completion query is not print data
    assert decode(sim.received).qr_payloads == [TRACKING_URL]


def test_paper_out_job_is_not_sent_and_nothing_prints_for_the_next_citizen(sim):
    sim.set_state("empty")
    data = receipt()
    with open_printer(sim.device) as p:
        st = p.status()
        assert st["paper"] == "empty"
        with pytest.raises(PrinterNotReady) as e:
            p.print_bytes(data)
        assert e.value.status["paper"] == "empty" and e.value.code == "paper_empty" and not e.value.cleared
    assert sim.held == b""
    sim.set_state("ok")  # staff load paper
    assert sim.received == b""  # the first citizen's receipt does not come out for the next one
    # the kept bytes print fine once paper is back (the clerk's reprint)
    with open_printer(sim.device) as p:
        p.print_bytes(data)
    assert sim.received == data


def test_paper_running_out_mid_job_is_cleared_from_the_printer():
    data = receipt()
    with SimulatedPrinter(paper_out_after=200) as sim:
        with open_printer(sim.device) as p:
            with pytest.raises(PrinterNotReady) as e:
                p.print_bytes(data, job_timeout=0.5)
            assert e.value.cleared and e.value.status["paper"] == "empty"
        assert len(sim.received) == 200 and sim.held == b""
        assert sim.engine.cleared_jobs == 1
        sim.set_state("ok")
        assert len(sim.received) == 200  # nothing held came out after the paper was loaded


def test_a_printer_that_is_sent_a_job_anyway_holds_it(sim):
    # why we check first: the simulator behaves like a real printer and prints held data on recovery
    sim.set_state("empty")
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(b"\x1b@held\n")
        for _ in range(100):
            if sim.held:
                break
            threading.Event().wait(0.01)
    assert sim.held == b"\x1b@held\n"
    sim.set_state("ok")
    assert sim.received == b"\x1b@held\n"


def test_simulator_save_file(tmp_path):
    out = tmp_path / "printed.bin"
    data = receipt()
    with SimulatedPrinter(save=str(out)) as sim:
        with open_printer(sim.device) as p:
            p.print_bytes(data)
    assert out.read_bytes() == data


def test_connection_refused_is_device_absent():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(DeviceAbsent):
        open_printer(f"tcp://127.0.0.1:{port}")


def test_lost_connection_is_no_device(sim):
    p = open_printer(sim.device)
    sim.stop()
    st = p.status(timeout=0.2)
    p.close()
    assert st["status"] in ("no_device", "offline") and st["online"] is False and st["paper"] == "unknown"


# -- USB through a fake pyusb device -----------------------------------------------------------------------------

def test_usb_with_cheap_printer_endpoints():
    fake = FakeUsbPrinter(0x0416, 0x5011, in_ep=0x81, out_ep=0x03)
    data = receipt()
    with open_printer("usb://0416:5011?in=0x81&out=0x03&timeout=3000", usb_find=fake.find) as p:
        assert p.status()["paper"] == "ok"
        p.print_bytes(data)
    assert fake.received == data
    assert not fake.kernel_driver_active and fake.configured
    assert {(ep, t) for ep, _, t in fake.writes} == {(0x03, 3000)}


def test_usb_paper_states():
    fake = FakeUsbPrinter(state="near_end")
    with open_printer("usb://0416:5011?in=0x81&out=0x03", usb_find=fake.find) as p:
        assert p.status()["paper"] == "near_end"
        fake.set_state("empty")
        with pytest.raises(PrinterNotReady):
            p.print_bytes(receipt())
    assert fake.received == b"" and fake.engine.held == b""


def test_usb_epson_default_endpoints_on_a_cheap_printer_fail_clearly():
    fake = FakeUsbPrinter(in_ep=0x81, out_ep=0x03)
    with open_printer("usb://0416:5011", usb_find=fake.find) as p:  # defaults 0x82/0x01
        st = p.status()
    assert st["online"] is False and st["status"] == "no_device"


def test_usb_missing_and_unplugged():
    fake = FakeUsbPrinter()
    with pytest.raises(DeviceAbsent):
        open_printer("usb://04b8:0e15", usb_find=fake.find)
    p = open_printer("usb://0416:5011?in=0x81&out=0x03", usb_find=fake.find)
    fake.unplugged = True
    assert p.status()["status"] == "no_device"


# -- serial on a pseudo-terminal -------------------------------------------------------------------------------

def test_serial_on_a_pty():
    master, slave = os.openpty()
    engine = PrinterEngine("near_end")
    stop = threading.Event()

    def device() -> None:
        import select

        while not stop.is_set():
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    engine.feed(os.read(master, 4096), lambda b: os.write(master, b))
                except OSError:
                    return

    t = threading.Thread(target=device, daemon=True)
    t.start()
    try:
        data = receipt()
        with open_printer(f"serial://{os.ttyname(slave)}?baud=19200") as p:
            assert p.transport.port.dsrdtr is False and p.transport.port.baudrate == 19200
            assert p.status()["paper"] == "near_end"
            p.print_bytes(data)
        assert engine.received == data
    finally:
        stop.set()
        t.join(timeout=2)
        os.close(master)
        os.close(slave)


def test_serial_port_missing():
    with pytest.raises(DeviceAbsent):
        open_printer("serial:///dev/ttyNOPE9?baud=9600")


# -- one-way file ---------------------------------------------------------------------------------------------

def test_file_is_one_way_paper_unknown(tmp_path):
    path = tmp_path / "lp0"
    path.write_bytes(b"")
    data = receipt()
    with open_printer(f"file://{path}") as p:
        st = p.status()
        assert st["paper"] == "unknown" and st["online"] is True and st["errors"][0]["code"] == "status_one_way"
        p.print_bytes(data)
    assert path.read_bytes() == data


def test_file_device_missing():
    with pytest.raises(DeviceAbsent):
        open_printer("file:///dev/usb/lp97")


# -- URIs ------------------------------------------------------------------------------------------------------

def test_uri_parsing():
    u = parse_uri("usb://0416:5011?in=0x81&out=0x03")
    assert (u.scheme, u.target, u.params) == ("usb", "0416:5011", {"in": "0x81", "out": "0x03"})
    u = parse_uri("serial:///dev/ttyUSB0?baud=19200")
    assert (u.scheme, u.target, u.params["baud"]) == ("serial", "/dev/ttyUSB0", "19200")
    u = parse_uri("tcp://10.0.0.5")
    assert (u.host, u.port) == ("10.0.0.5", 9100)
    assert parse_uri("file:///dev/usb/lp0").target == "/dev/usb/lp0"
    assert parse_uri("serial://dev/ttyUSB1").target == "/dev/ttyUSB1"
    assert str(parse_uri("usb://0416:5011?in=0x81&out=0x03")) == "usb://0416:5011?in=0x81&out=0x03"


@pytest.mark.parametrize("bad", ["", "lp0", "http://x", "usb://416:5011", "usb://zzzz:5011", "tcp://", "serial:///dev/ttyS0?baud=fast", "file://",
                                 "file://relative.bin"])
def test_bad_uris(bad):
    with pytest.raises((InvalidData, DeviceAbsent)):
        open_printer(bad)


# -- health checks -------------------------------------------------------------------------------------------

def test_health_levels(sim):
    from devices.printer.health import check_health

    rep = check_health(sim.device, "internal")
    assert rep.status.value == "online" and rep.as_dict()["details"]["paper"] == "ok"
    assert sim.received == b""  # internal: no side effects
    page = receipt()
    rep = check_health(sim.device, "external", test_page=page)
    assert rep.details["printed_bytes"] == len(page) and sim.received == page
    sim.set_state("cover_open")
    rep = check_health(sim.device, "external", test_page=page)
    assert rep.status.value == "user_error" and "cover_open" in {e.code for e in rep.errors}
    assert sim.received == page
    rep = check_health("", "internal")
    assert rep.status.value == "no_device" and rep.errors[0].code == "printer_not_configured"
