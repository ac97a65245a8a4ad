"""The kiosk app starts fast: what its UI thread imports at start loads no library only some screens need
(tuspy/aiohttp for uploads, pypinyin's phrase data for search, OpenCV/numpy for the camera)."""
from __future__ import annotations

import subprocess
import sys

HEAVY = ("tusclient", "aiohttp", "pypinyin", "cv2", "numpy", "fastapi", "escpos")


def _printed(code: str) -> str:
    """What `code` prints in a fresh interpreter (nothing imported before it)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def _loaded_after(statement: str) -> str:
    return _printed(f"import sys; {statement}; heavy = {HEAVY!r}; print(','.join(m for m in heavy if m in sys.modules))")


def test_terminal_outbox_and_citizen_services_load_nothing_heavy():
    loaded = _loaded_after("import kiosk.terminal, kiosk.sync, kiosk.sync.outbox, kiosk.citizen.services")
    assert loaded == "", f"importing the app's start-up modules loaded {loaded}"


def test_search_index_still_computes_pinyin():
    code = ("from kiosk.citizen.catalog_index import CatalogIndex; "
            "idx = CatalogIndex([{'item_code': 'a', 'name': '养老保险'}]); "
            "print([h['item_code'] for h in idx.search('ylbx')])")
    assert _printed(code) == "['a']"


def test_search_index_reads_the_hubs_pinyin_without_loading_pypinyin():
    code = ("import sys; from kiosk.citizen.catalog_index import CatalogIndex; "
            "idx = CatalogIndex([{'item_code': 'a', 'name': '养老保险', 'pinyin': 'yanglaobaoxian', "
            "'pinyin_initials': 'ylbx'}]); "
            "print([h['item_code'] for h in idx.search('ylbx')], [h['item_code'] for h in idx.search('yanglao')], "
            "'pypinyin' in sys.modules)")
    assert _printed(code) == "['a'] ['a'] False"


def test_pages_become_a_pdf_without_loading_pikepdf():
    code = ("import io, sys; from PIL import Image; from devices.scanner.pdf import jpegs_to_pdf; "
            "b = io.BytesIO(); Image.new('RGB', (80, 60), 'white').save(b, 'JPEG'); "
            "pdf = jpegs_to_pdf([b.getvalue()] * 2, 300); "
            "print(pdf[:5], pdf.count(b'/DCTDecode'), 'pikepdf' in sys.modules)")
    assert _printed(code) == "b'%PDF-' 2 False"


def test_upload_module_loads_tuspy_when_used():
    assert _loaded_after("import kiosk.sync.tus_upload").startswith("tusclient")


def test_tuspy_does_not_load_aiohttp_until_its_async_uploader_uses_it():
    """tuspy imports aiohttp for its async uploader only (11 MB held for the app's life after the first upload)."""
    code = ("import sys; import kiosk.sync.tus_upload; import tusclient.request as r; "
            "before = [m for m in sys.modules if m.startswith('aiohttp.')]; "
            "session = r.aiohttp.ClientSession; "  # what the async uploader does: the real aiohttp, imported now
            "print(before, session.__module__, type(sys.modules['aiohttp']).__name__)")
    assert _printed(code) == "[] aiohttp.client module"


def test_the_ui_driver_brings_no_pytest_into_the_measured_app():
    """The tour and the UI benchmark drive the app in its own process through screens.driver; Kivy's
    kivy.tests.common (its UnitTestTouch) would import pytest there (about 10 MB, 180 modules no kiosk has)."""
    code = ("import os, sys; os.environ.update(KIVY_NO_ARGS='1', KIVY_NO_CONFIG='1', KIVY_NO_FILELOG='1'); "
            "import screens.driver; print('_pytest' in sys.modules, 'pytest' in sys.modules)")
    assert _printed(code) == "False False"
