"""Auto-capture fires only on a new page detected with confidence; page signatures tell pages apart."""
import numpy as np

from devices.scanner.autocapture import StillnessTrigger, page_signature, same_page
from devices.scanner.detect import Detection, detect_page
from devices.scanner.synthetic import A4_MM, SceneSpec, compose_scene, demo_scene, place_page, render_form_page

SIZE = (1280, 960)


def _scene_of(page, seed):
    rng = np.random.default_rng(seed)
    corners = place_page(rng, SIZE, A4_MM, height_frac=(0.7, 0.85), max_rotation=8)
    return compose_scene(page, SceneSpec(frame_size=SIZE, corners=corners, base="dark_mat", seed=seed))


def test_the_same_page_moved_is_the_same_and_two_forms_of_one_template_are_not():
    page = render_form_page(np.random.default_rng(1), width=1240)
    a, b = _scene_of(page, 5), _scene_of(page, 6)
    other, _ = demo_scene(seed=3, size=SIZE)
    sig = [page_signature(f, detect_page(f).corners) for f in (a, b, other)]
    assert same_page(sig[0], sig[1])
    assert not same_page(sig[0], sig[2])
    assert not same_page(sig[0], None) and page_signature(a, None) is None


def _fire(trig, frame, det, start):
    return [t for t in np.arange(start, start + 1.5, 0.1) if trig.update(frame, det, float(t))]


def test_the_trigger_waits_for_a_new_confident_page():
    frame_a, _ = demo_scene(seed=1, size=SIZE)
    frame_b, _ = demo_scene(seed=2, size=SIZE)
    det_a, det_b = detect_page(frame_a), detect_page(frame_b)
    trig = StillnessTrigger()
    assert _fire(trig, frame_a, Detection(det_a.corners, 0.6, SIZE), 0.0) == []  # found, but not sure enough
    assert len(_fire(trig, frame_a, det_a, 2.0)) == 1
    trig.taken(trig.signature)
    assert _fire(trig, frame_a, det_a, 4.0) == []  # the page just taken, still lying there
    assert len(_fire(trig, frame_b, det_b, 6.0)) == 1  # the next page
    trig.forget_taken()  # deleted or to be retaken: the same page may be shot again
    assert len(_fire(trig, frame_b, det_b, 8.0)) == 1


def test_a_page_left_by_the_previous_citizen_is_not_taken_by_itself():
    frames = [demo_scene(seed=seed, size=SIZE)[0] for seed in (1, 2, 3, 4)]
    dets = [detect_page(f) for f in frames]
    trig = StillnessTrigger()
    assert len(_fire(trig, frames[0], dets[0], 0.0)) == 1  # the first citizen's page
    trig.taken(trig.signature)
    trig.stopped(frames[1], dets[1])  # they laid another page and walked away before it was taken
    trig.new_session()
    assert not trig.leftover_in_view
    assert _fire(trig, frames[1], dets[1], 2.0) == [] and trig.leftover_in_view  # the page left there
    assert _fire(trig, frames[0], dets[0], 4.0) == []  # the page they took
    assert len(_fire(trig, frames[3], dets[3], 6.0)) == 1  # the new citizen's own page
    trig.forget_taken()  # deleting a page does not make the leftovers this citizen's
    assert _fire(trig, frames[1], dets[1], 8.0) == []


def test_a_page_lying_there_when_the_next_citizen_starts_is_not_taken_by_itself():
    frames = [demo_scene(seed=seed, size=SIZE)[0] for seed in (1, 2, 3)]
    dets = [detect_page(f) for f in frames]
    trig = StillnessTrigger()
    assert len(_fire(trig, frames[0], dets[0], 0.0)) == 1
    trig.taken(trig.signature)
    trig.stopped(frames[0], dets[0])
    trig.new_session()
    # A page laid after the camera stopped (the previous citizen, on the way out) is there when it starts again.
    assert _fire(trig, frames[1], dets[1], 2.0) == [] and trig.leftover_in_view
    assert len(_fire(trig, frames[2], dets[2], 4.0)) == 1
    # An empty mat for the first second: the next page laid there is the citizen's, unless it is the page taken last.
    trig.taken(trig.signature)
    trig.new_session()
    assert not any(trig.update(frames[0], None, t) for t in (10.0, 10.5, 11.1))
    assert _fire(trig, frames[2], dets[2], 11.2) == []  # the page taken last
    assert len(_fire(trig, frames[1], dets[1], 13.0)) == 1  # a page left two citizens ago is no leftover now
