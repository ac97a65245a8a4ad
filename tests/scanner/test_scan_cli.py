"""`kiosk scan detect` and `kiosk scan process`: JSON shapes and exit codes (DESIGN §5), and the benchmark smoke run."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from devices.scanner.simulator import demo_scene
from kiosk.cli import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def frame_file(tmp_path_factory):
    img, corners = demo_scene(seed=4, size=(1296, 972))
    path = tmp_path_factory.mktemp("frames") / "frame.jpg"
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return str(path), corners


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_detect_json_shape(frame_file):
    path, truth = frame_file
    r = _run("scan", "detect", path, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"corners", "confidence", "image_size"}
    assert doc["image_size"] == [1296, 972]
    assert 0.5 <= doc["confidence"] <= 1.0
    assert len(doc["corners"]) == 4 and all(len(p) == 2 and all(isinstance(v, float) for v in p) for p in doc["corners"])
    for (x, y), (tx, ty) in zip(doc["corners"], truth):
        assert abs(x - tx) < 4 and abs(y - ty) < 4


def test_detect_no_page_is_an_answer(tmp_path):
    p = tmp_path / "black.png"
    cv2.imwrite(str(p), np.zeros((480, 640, 3), np.uint8))
    r = _run("scan", "detect", str(p), "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["corners"] is None and doc["image_size"] == [640, 480]


def test_detect_not_an_image_exits_5_with_empty_stdout(tmp_path):
    p = tmp_path / "x.jpg"
    p.write_bytes(b"\x00" * 100)
    r = _run("scan", "detect", str(p), "--json")
    assert r.exit_code == 5
    assert r.stdout == ""
    assert "not an image" in r.stderr and "what to do" in r.stderr


@pytest.mark.parametrize("kind,says", [("one_pixel", "too small"), ("huge", "megapixels"), ("text", "not an image")])
def test_bad_images_exit_5_for_both_commands(tmp_path, kind, says):
    from PIL import Image

    p = tmp_path / f"{kind}.png"
    if kind == "one_pixel":
        Image.new("RGB", (1, 1)).save(p)
    elif kind == "huge":
        Image.new("1", (12000, 9000)).save(p)  # 108 MP once decoded
    else:
        p.write_text("hello")
    for args in (["scan", "detect", str(p), "--json"], ["scan", "process", str(p), "-o", str(tmp_path / "o.pdf")]):
        r = _run(*args)
        assert r.exit_code == 5 and r.stdout == "" and says in r.stderr
    assert not (tmp_path / "o.pdf").exists()


def test_all_black_frame_processes_with_a_no_page_warning(tmp_path):
    p = tmp_path / "black.jpg"
    cv2.imwrite(str(p), np.zeros((972, 1296, 3), np.uint8))
    r = _run("scan", "process", str(p), "-o", str(tmp_path / "o.jpg"), "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["page_info"][0]["warnings"][0]["code"] == "no_page"


def test_process_json_reports_the_settings_used(frame_file, tmp_path):
    path, _ = frame_file
    out = tmp_path / "m.pdf"
    r = _run("scan", "process", path, path, "-o", str(out), "--mode", "gray", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    for key in ("mode", "dpi", "quality", "bytes", "pages"):
        assert key in doc
    assert doc["mode"] == "gray" and doc["pages"] == 2 and doc["bytes"] == out.stat().st_size


@pytest.mark.parametrize("extra,code", [
    (["-o", "OUT.jpg", "SECOND"], 5),  # several inputs need a PDF
    (["-o", "OUT.jpg", "--mode", "bw"], 5),  # bw needs PDF or PNG
    (["-o", "OUT.pdf", "--max-bytes", "500"], 5),  # unmeetable cap
    (["-o", "OUT.pdf", "--mode", "sepia"], 2),  # click's own usage error
])
def test_process_errors_follow_the_exit_code_contract(frame_file, tmp_path, extra, code):
    path, _ = frame_file
    args = [a.replace("OUT", str(tmp_path / "out")).replace("SECOND", path) for a in extra]
    r = _run("scan", "process", path, *args)
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    assert not any(p.startswith("out") for p in os.listdir(tmp_path))


def test_benchmark_smoke_prints_the_agreed_keys():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "scan_pipeline.py"), "--smoke"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    for key in ("ms_5mp_ours", "ms_5mp_classic", "time_ratio", "preview_fps", "kb_color_a4", "kb_bw_a4", "legibility"):
        assert key in doc and doc[key] is not None
    assert set(doc["bases"]) == {"dark_mat", "mid_grey", "wood", "cloth", "white_desk", "cream_desk"}
    for base in doc["bases"].values():
        assert "ji_ours" in base and "ji_classic" in base
    assert "crossing" in doc
