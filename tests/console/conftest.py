"""Fixtures for the console tests: a hub with an outlet tree and its people (SQLite, and PostgreSQL when
KIOSK_TEST_PG_URL is set), and Debian's headless Chromium driven by Selenium that fails a test on any
JavaScript console error."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from console_seed import add_outlets, add_person
from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.hub.serving import ServerThread


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--window-size=1280,1000", "--lang=zh-CN"]


@dataclass
class ConsoleHub:
    server: ServerThread
    app: object
    tokens: dict[str, str] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def sessions(self):
        return self.app.state.hub.sessions()


@pytest.fixture(scope="session")
def font_dir(tmp_path_factory):
    """The extracted Chinese faces, shared by every test (the hub serves them from its data directory)."""
    return tmp_path_factory.mktemp("fonts")


@pytest.fixture
def console_hub(db_url, tmp_path, font_dir, monkeypatch):
    monkeypatch.setenv("KIOSK_HUB_KEY", "11" * 32)
    app = create_app(db_url, None, relay=False, upload_dir=tmp_path / "hub" / "uploads", data_dir=tmp_path)
    hub = ConsoleHub(ServerThread(app), app)
    from kiosk.fonts import ensure_ui_fonts

    import console_seed

    console_seed.CIPHER = app.state.hub.cipher
    app.state.console_fonts = ensure_ui_fonts(font_dir)
    with app.state.hub.sessions() as s, s.begin():
        add_outlets(s)
        hub.tokens["supervisor"] = create_token(s, "supervisor", "督查李明")
        for key, role, name, outlet in [("window", "window", "窗口王芳", "T-LG"), ("window2", "window", "窗口孙丽", "T-LG"), ("chief", "chief", "科长赵强", "C-ZZ"),
                                        ("clerk", "clerk", "代办员张伟", "T-LG"), ("clerk2", "clerk", "代办员刘洋", "T-LG"),
                                        ("window_jz", "window", "窗口陈静", "T-JZ")]:
            pid, token = add_person(s, role, name, outlet)
            hub.tokens[key], hub.people[key] = token, pid
        hub.tokens["kiosk"] = create_token(s, "kiosk", "K0001", outlet_code="V-LG1")
    hub.server.start()
    yield hub
    hub.server.stop()


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium (Debian's package) with a fresh profile; the test fails on any console error."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are not installed: run deploy/bootstrap.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    driver.console_errors = []
    driver.expected_statuses = []  # pages a test opens on purpose that answer 4xx (a refused sign-in)
    try:
        yield driver
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                  and not (e.get("source") == "network" and any(x in e.get("message", "") for x in driver.expected_statuses))]
    finally:
        driver.quit()
    assert not errors, f"JavaScript console errors: {errors}"
