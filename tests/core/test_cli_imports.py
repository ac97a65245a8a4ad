"""Every `kiosk` command starts fast: importing the CLI loads no heavy library that only some commands need."""
from __future__ import annotations

import subprocess
import sys

HEAVY = ("escpos", "cv2", "kivy", "fastapi", "sqlalchemy", "tusclient", "aiohttp", "numpy")


def test_cli_import_loads_no_heavy_library():
    code = ("import sys, kiosk.cli; heavy = %r; "
            "print(','.join(m for m in heavy if m in sys.modules))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "", f"importing kiosk.cli loaded {out.stdout.strip()}"


def test_receipt_rendering_still_loads_escpos_when_used():
    code = ("import sys; from kiosk.receipt import render_receipt, KINDS; "
            "assert 'escpos' not in sys.modules; "
            "from devices.printer.encoder import _raster; from PIL import Image; "
            "_raster(Image.new('1', (8, 8), 1)); print('escpos' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "True"
