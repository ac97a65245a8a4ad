"""The installer's health report (`kiosk diag`, the installer screens): every device and the system around it
at the chosen level, each check named (`hub.token`, `camera.focus`) with what to do in words. No personal data.

    report = run_diagnostics(cfg, HealthLevel.EXTERNAL, lang="en")
    report["overall"]  # ok | warning | error;  exit_status(report) → 0 | 6 | 7
"""
from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from devices.model import HealthLevel
from kiosk.config import Config
from kiosk.diag.result import EXIT_ERROR, EXIT_OK, EXIT_WARNING, CheckResult, exit_status, overall

__all__ = ["GROUPS", "EXIT_ERROR", "EXIT_OK", "EXIT_WARNING", "exit_status", "overall", "run_diagnostics",
           "load_for_diag"]

GROUPS = ("idcard", "printer", "camera", "network", "system")  # what one "run" button of the installer screen runs


def load_for_diag(config_path: str | None, env: dict[str, str] | None = None) -> tuple[Config, Exception | None]:
    """The config, or the defaults and the reason the file was refused (which becomes the config.valid check)."""
    from kiosk.config import find_config_file, load_config
    from kiosk.errors import ConfigError

    try:
        return load_config(config_path, env), None
    except ConfigError as exc:
        cfg = Config()
        found = find_config_file(config_path)
        cfg.source = str(found) if found else exc.path
        return cfg, exc


def _network(cfg: Config, level: HealthLevel, lang: str, clock) -> list[CheckResult]:
    from kiosk.diag import network

    probe = network.NetworkProbe(cfg, clock)
    try:
        return [network.check_tls(cfg, level, lang), network.check_hub(probe, level, lang),
                network.check_token(probe, level, lang), network.check_clock(probe, level, lang),
                network.check_platform(probe, level, lang)]
    finally:
        probe.close()


def _system(cfg: Config, level: HealthLevel, lang: str, problem) -> list[CheckResult]:
    from kiosk.diag import system

    return [system.check_config(cfg, level, lang, problem), system.check_fonts(cfg, level, lang),
            system.check_storage(cfg, level, lang), system.check_outbox(cfg, level, lang)]


def run_diagnostics(cfg: Config, level: HealthLevel = HealthLevel.INTERNAL, ask: Callable[[str], None] | None = None,
                    lang: str = "zh_CN", *, groups: tuple[str, ...] = GROUPS, clock: Callable[[], float] = time.time,
                    config_problem: Exception | None = None, printer_opts: dict | None = None) -> dict:
    """Run the checks of `groups` and return the report. Device groups run side by side unless interactive."""
    from kiosk.diag import devices

    jobs: dict[str, Callable[[], list[CheckResult]]] = {
        "idcard": lambda: devices.check_idcard(cfg, level, lang, ask),
        "printer": lambda: devices.check_printer(cfg, level, lang, **(printer_opts or {})),
        "camera": lambda: devices.check_camera(cfg, level, lang, ask),
        "network": lambda: _network(cfg, level, lang, clock),
        "system": lambda: _system(cfg, level, lang, config_problem),
    }
    wanted = [g for g in GROUPS if g in groups]
    if level == HealthLevel.INTERACTIVE:  # the installer answers one prompt at a time
        results = [jobs[g]() for g in wanted]
    else:
        with ThreadPoolExecutor(max_workers=len(wanted) or 1, thread_name_prefix="diag") as pool:
            results = list(pool.map(lambda g: jobs[g](), wanted))
    checks = [c.as_dict() for group in results for c in group]
    return {"overall": overall(checks), "level": level.value, "config": cfg.source, "device_id": cfg.kiosk.device_id,
            "language": lang, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "checks": checks}
