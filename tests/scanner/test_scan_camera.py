"""The camera layer against the simulated camera: modes, newest frame, preview, stills, unplug/replug, stall."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from devices.errors import DeviceAbsent, DeviceTimeout
from devices.model import Status
from devices.scanner import simulator, synthetic
from devices.scanner.autocapture import StillnessTrigger, draw_outline
from devices.scanner.camera import Camera
from devices.scanner.detect import Detection
from devices.scanner.source import VideoCaptureSource

MODES = [(640, 480), (1296, 972)]


@pytest.fixture
def sim():
    simulator.reset()
    dev = simulator.device("sim:")
    dev.modes = list(MODES)
    dev.read_timeout = 0.2
    dev.fps = 30
    yield dev
    simulator.reset()


@pytest.fixture
def camera(sim):
    cam = Camera("sim:", preview_width=640)
    cam.start()
    yield cam
    cam.stop()


def _wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_mjpg_is_requested_before_the_size_and_the_highest_mode_is_used(sim):
    calls = []

    class Recording(simulator.SimulatedVideoCapture):
        def set(self, prop, value):
            calls.append(prop)
            return super().set(prop, value)

    src = VideoCaptureSource("sim:", capture_factory=Recording)
    assert src.open() == MODES[-1]
    src.close()
    assert calls.index(cv2.CAP_PROP_FOURCC) < calls.index(cv2.CAP_PROP_FRAME_WIDTH)


def test_without_mjpg_a_camera_stays_at_its_low_mode(sim):
    cap = simulator.SimulatedVideoCapture("sim:")
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, 100000)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 100000)
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (480, 640)


def test_a_camera_that_ignores_the_requested_mode_is_measured_by_its_frames(sim):
    sim.ignore_mode = True
    src = VideoCaptureSource("sim:", 1296, 972, capture_factory=simulator.SimulatedVideoCapture)
    assert src.open() == (640, 480)  # get() claims 1296×972; the frame says otherwise
    assert src.cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 1296
    src.close()


def test_still_is_full_resolution_and_preview_is_small_with_an_outline(camera):
    still = camera.capture_still(timeout=10)
    assert still.shape[:2] == (972, 1296)
    assert camera.status == Status.ONLINE and camera.mode == (1296, 972)
    frame, det = camera.preview()
    assert frame.shape[1] == 640
    assert isinstance(det, Detection) and det.corners is not None
    assert det.image_size == (640, 480)
    drawn = draw_outline(frame, det)
    assert (cv2.absdiff(drawn, frame).max(axis=2) > 0).mean() > 0.001


def test_capture_still_never_returns_a_frame_older_than_the_call(camera):
    camera.capture_still(timeout=10)
    seq_before, _ = camera.latest()
    camera.capture_still(timeout=10)
    seq_after, _ = camera.latest()
    assert seq_after > seq_before


def test_unplug_then_replug_recovers_by_the_same_path(camera, sim):
    camera.capture_still(timeout=10)
    events = []
    camera.listeners.append(events.append)
    sim.unplug()
    assert _wait_for(lambda: camera.status == Status.NO_DEVICE)
    with pytest.raises(DeviceAbsent) as exc:
        camera.capture_still(timeout=0.3)
    assert exc.value.exit_code == 3 and exc.value.action
    opens = sim.opens
    sim.replug()
    assert _wait_for(lambda: camera.status == Status.ONLINE)
    assert camera.capture_still(timeout=10).shape[:2] == (972, 1296)
    assert sim.opens > opens  # it was reopened, not resumed on the dead handle
    assert Status.NO_DEVICE in events and events[-1] == Status.ONLINE


def test_a_stalled_camera_times_out_and_resumes(camera, sim):
    camera.capture_still(timeout=10)
    sim.stall(True)
    time.sleep(0.3)
    with pytest.raises(DeviceTimeout) as exc:
        camera.capture_still(timeout=0.5)
    assert exc.value.exit_code == 4
    assert camera.status == Status.OFFLINE
    sim.stall(False)
    assert camera.capture_still(timeout=10).shape[:2] == (972, 1296)
    assert _wait_for(lambda: camera.status == Status.ONLINE)


def test_camera_absent_at_start_is_reported_not_raised(sim):
    sim.unplug()
    cam = Camera("sim:")
    cam.start()
    try:
        assert _wait_for(lambda: cam.status == Status.NO_DEVICE)
        with pytest.raises(DeviceAbsent):
            cam.capture_still(timeout=0.2)
        sim.replug()
        assert cam.capture_still(timeout=10) is not None
    finally:
        cam.stop()


def test_missing_device_path_is_absent():
    src = VideoCaptureSource("/dev/v4l/by-id/usb-no-such-camera-video-index0")
    with pytest.raises(DeviceAbsent) as exc:
        src.open()
    assert "not connected" in exc.value.message


def test_stop_ends_the_grabber_thread(sim):
    cam = Camera("sim:")
    cam.start()
    cam.capture_still(timeout=10)
    thread = cam._thread
    cam.stop()
    assert not thread.is_alive()
    with pytest.raises(DeviceAbsent):
        cam.capture_still(timeout=0.1)


def test_auto_capture_fires_once_the_page_is_still(camera):
    previews = []
    still = camera.auto_capture(timeout=20, on_preview=lambda f, d: previews.append(d))
    assert still.shape[:2] == (972, 1296)
    assert len(previews) >= 2 and previews[-1].corners is not None


def test_stillness_trigger_waits_for_half_a_second_and_rearms_on_motion():
    frame = np.full((480, 640, 3), 40, np.uint8)
    corners = np.array([[100, 100], [500, 100], [500, 400], [100, 400]], float)
    det = Detection(corners, 0.9, (640, 480))
    trig = StillnessTrigger()
    assert not trig.update(frame, det, 0.0)
    assert not trig.update(frame, det, 0.1)
    assert not trig.update(frame, det, 0.45)
    assert trig.update(frame, det, 0.65)  # still for ≥ 0.5 s
    assert not trig.update(frame, det, 0.8)  # fires once per still period
    moved = Detection(corners + 40, 0.9, (640, 480))
    assert not trig.update(frame, moved, 0.9)
    assert not trig.update(frame, moved, 1.2)
    assert trig.update(frame, moved, 1.45)
    assert not trig.update(frame, Detection(None, 0.1, (640, 480)), 2.0)


def test_file_backed_simulator_serves_the_images(tmp_path, sim):
    img = np.zeros((300, 400, 3), np.uint8)
    img[:, :200] = (0, 0, 255)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img)
    target = f"sim:{path}"
    simulator.device(target).modes = [(400, 300)]
    cam = Camera(target)
    cam.start()
    try:
        frame = cam.capture_still(timeout=10)
        assert frame.shape[:2] == (300, 400)
        assert frame[150, 50, 2] > 200 and frame[150, 350, 2] < 50
    finally:
        cam.stop()


def test_a_camera_closed_holds_no_scene_and_opens_again(sim):
    """The simulated camera keeps its current scene only while a capture is open (15 MB for 5 MP): released at
    the end of a session, it holds nothing; opened again, it shows the same page as before."""
    cam = Camera("sim:")
    cam.start()
    first = cam.capture_still(timeout=10)
    assert simulator._frame_cache
    cam.stop()
    assert not simulator._frame_cache and sim.open_handles == 0
    assert synthetic.cjk_font.cache_info().currsize == 0  # its fonts too (each face maps the CJK collection)
    cam = Camera("sim:")
    cam.start()
    try:
        again = cam.capture_still(timeout=10)
        assert again.shape == first.shape and np.array_equal(again, first)
        assert sim.open_handles >= 1
    finally:
        cam.stop()
    assert not simulator._frame_cache


def test_releasing_a_capture_twice_counts_once(sim):
    a = simulator.SimulatedVideoCapture("sim:")
    b = simulator.SimulatedVideoCapture("sim:")
    assert a.read()[0]
    a.release()
    a.release()
    assert sim.open_handles == 1 and simulator._frame_cache  # b still open: its scene stays
    b.release()
    assert sim.open_handles == 0 and not simulator._frame_cache
