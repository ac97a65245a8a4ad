"""Checks of the machine itself: the config file, the Chinese fonts, the data disk and the outbox's backlog."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from devices.model import HealthLevel, Status
from kiosk.config import Config
from kiosk.diag.result import CheckResult, translator

MIN_FREE_MB = 500  # scanned pages and the outbox need room; below this a busy day can fill the disk
OUTBOX_STALE_H = 4.0  # a case waiting longer than this means the hub has been away for most of a shift


def check_config(cfg: Config, level: HealthLevel, lang: str, problem: Exception | None = None) -> CheckResult:
    _ = translator(lang)
    res = CheckResult("config.valid", "config", level, details={"file": cfg.source})
    if problem is not None:
        path, key, reason = (getattr(problem, "path", cfg.source), getattr(problem, "key", "-"),
                             getattr(problem, "reason", str(problem)))
        res.details.update(file=path, key=key)
        return res.fail("config_invalid", _("{file}: key {key}: {reason}", file=path, key=key, reason=reason),
                        _("fix that key in the config file (see deploy/kiosk.example.toml) or run `kiosk setup`"),
                        Status.HARDWARE_ERROR, "error")
    if cfg.source == "<defaults>":
        res.warn("config_missing", _("no config file was found; the built-in demo defaults are in use"),
                 _("run `kiosk setup`, or copy deploy/kiosk.example.toml to /etc/govkiosk/kiosk.toml"))
    if not cfg.installer.pin_hash and not cfg.source.startswith("<"):
        res.warn("installer_pin_missing", _("{file}: key installer.pin_hash is empty: nobody can open the installer screens", file=cfg.source),
                 _("set an installer PIN with `kiosk setup --pin`"))
    return res


def check_fonts(cfg: Config, level: HealthLevel, lang: str) -> CheckResult:
    from kiosk.fonts import SCREEN_SUFFIX, FontMissing, ensure_screen_fonts, tx_failed_marker, tx_failure

    _ = translator(lang)
    res = CheckResult("fonts.cjk", "fonts", level)
    try:
        ui = ensure_screen_fonts(cfg.kiosk.data_dir)
        res.details.update(regular=str(ui.regular), bold=str(ui.bold))
        failed = None if ui.regular.stem.endswith(SCREEN_SUFFIX) else tx_failure(cfg.kiosk.data_dir)
        if failed is not None:
            res.details.update(tx_failed=failed)
            res.warn("font_with_subroutines",
                     _("the screens draw with the font's subroutines (AFDKO's tx failed on the font: {detail}): each text size costs 2.5 MB of memory instead of 0.7 MB",
                       detail=failed),
                     _("reinstall it: apt-get install --reinstall afdko-bin (or delete {file}), then restart the kiosk",
                       file=str(tx_failed_marker(cfg.kiosk.data_dir))))
        elif not ui.regular.stem.endswith(SCREEN_SUFFIX):
            res.warn("font_with_subroutines",
                     _("the screens draw with the font's subroutines: each text size costs 2.5 MB of memory instead of 0.7 MB"),
                     _("install it: apt-get install afdko-bin, then restart the kiosk"))
    except FontMissing as exc:
        res.fail("font_missing", _("the Simplified Chinese font is missing ({detail})", detail=exc.message),
                 _("install it: apt-get install fonts-noto-cjk, then restart the kiosk"), Status.HARDWARE_ERROR)
    return res


def check_storage(cfg: Config, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    data_dir = Path(cfg.kiosk.data_dir)
    res = CheckResult("storage.disk", "storage", level, details={"data_dir": str(data_dir)})
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".diag-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
        res.details["free_mb"] = free_mb
        if free_mb < MIN_FREE_MB:
            res.warn("disk_low", _("only {free} MB free for the kiosk's data (at least {need} MB wanted)",
                                   free=free_mb, need=MIN_FREE_MB),
                     _("free disk space: old logs (journalctl --vacuum-size=200M), files outside the data directory"))
    except OSError as exc:
        res.fail("data_dir_unwritable", _("cannot write to {path}: {reason}", path=data_dir, reason=exc.strerror),
                 _("fix the owner and permissions of the data directory (kiosk.data_dir): chown govkiosk"),
                 Status.HARDWARE_ERROR)
    return res


def check_outbox(cfg: Config, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    res = CheckResult("outbox.backlog", "outbox", level)
    try:
        from kiosk.sync.outbox import Outbox

        st = Outbox(cfg.kiosk.data_dir).status()
    except Exception as exc:  # a diagnosis never stops at the first broken part
        return res.fail("outbox_unreadable", _("the outbox cannot be read: {reason}", reason=type(exc).__name__),
                        _("see the log (journalctl -u govkiosk-kiosk); do not delete the outbox file"),
                        Status.HARDWARE_ERROR)
    res.details.update({k: st[k] for k in ("pending", "failed", "receipts_pending", "receipts_failed")})
    oldest = st.get("oldest_pending_at")
    res.details["oldest_pending_at"] = oldest
    if oldest:
        age_h = (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(oldest)).total_seconds() / 3600
        res.details["oldest_age_h"] = round(age_h, 1)
        if age_h > OUTBOX_STALE_H:
            res.warn("outbox_stale", _("the oldest case has waited {hours:.1f} hours to reach the hub", hours=age_h),
                     _("check the hub checks below; `kiosk outbox status` shows why, `kiosk outbox retry` sends again"))
    if st["failed"]:
        res.warn("outbox_failed", _("{n} cases were refused by the hub", n=st["failed"]),
                 _("`kiosk outbox status` shows the reason; tell the hub operator"))
    return res
