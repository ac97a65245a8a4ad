"""Checks of the way to the hub and the platform: TLS certificate, reachability, the device token (at every
level: a refused token means every case stays 待上传), the clocks of hub and platform, and the platform
through the hub."""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import time
from typing import Callable
from urllib.parse import urlsplit

import requests

from devices.model import HealthLevel, Status
from kiosk.config import Config
from kiosk.diag.result import CheckResult, translator
from kiosk.http_session import session_for

CLOCK_WARN_S = 10.0  # receipts and audit entries carry the time; a few seconds are harmless
CLOCK_ERROR_S = 120.0  # beyond this token expiry and TLS validity checks start to misfire
CERT_WARN_DAYS = 30


class NetworkProbe:
    """The answers the network checks share: one /healthz and one /api/v1/diag/ping per run."""

    def __init__(self, cfg: Config, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self.session = session_for(cfg.hub.url, cfg.hub.verify_tls)  # the hub as the kiosk's own client sees it
        self.timeout = min(cfg.hub.timeout_s, 5.0)
        self._health: tuple | None = None
        self._ping: tuple | None = None

    def close(self) -> None:
        self.session.close()

    def health(self) -> tuple[dict | None, str | None]:
        if self._health is None:
            try:
                resp = self.session.get(self.cfg.hub.url.rstrip("/") + "/healthz", timeout=self.timeout)
                # 503 carries the same document: the hub answers, but its database or disk does not
                doc = resp.json() if resp.status_code in (200, 503) else None
                doc = doc if isinstance(doc, dict) else None
                self._health = (doc, None if doc is not None else f"HTTP {resp.status_code}")
            except requests.exceptions.SSLError as exc:
                self._health = (None, f"TLS: {type(exc).__name__}")
            except (requests.RequestException, ValueError) as exc:
                self._health = (None, type(exc).__name__)
        return self._health

    def ping(self) -> tuple[int | None, dict | None, float]:
        """(HTTP status or None, body, the local time at the middle of the round trip)."""
        if self._ping is None:
            headers = {"Authorization": f"Bearer {self.cfg.hub.token}"}
            base = self.cfg.hub.url.rstrip("/")
            try:
                sent = self.clock()
                resp = self.session.get(base + "/api/v1/diag/ping", headers=headers, timeout=self.timeout)
                mid = (sent + self.clock()) / 2
                if resp.status_code == 404:  # a hub from before diag reports: the catalog checks the token too
                    resp = self.session.get(base + "/api/v1/catalog", headers=headers, timeout=self.timeout)
                    self._ping = (resp.status_code, {"legacy": True} if resp.status_code == 200 else None, mid)
                else:
                    body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else None
                    self._ping = (resp.status_code, body, mid)
            except (requests.RequestException, ValueError):
                self._ping = (None, None, self.clock())
        return self._ping


def _is_local(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_tls(cfg: Config, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    parts = urlsplit(cfg.hub.url)
    res = CheckResult("hub.tls", "hub", level, details={"url": cfg.hub.url, "scheme": parts.scheme})
    host = parts.hostname or ""
    if parts.scheme != "https":
        if not _is_local(host):
            res.warn("tls_not_used", _("the hub URL {url} is not encrypted (http://)", url=cfg.hub.url),
                     _("use the hub's https:// address in hub.url"))
        return res
    if not cfg.hub.verify_tls:
        res.warn("tls_not_verified", _("hub.verify_tls is false: the hub's certificate is not checked"),
                 _("set hub.verify_tls = true once the hub has a valid certificate"))
    port = parts.port or 443
    ctx = ssl.create_default_context()
    if not cfg.hub.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=min(cfg.hub.timeout_s, 5.0)) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)  # the parsed form is empty when not verifying
    except ssl.SSLCertVerificationError as exc:
        return res.fail("tls_invalid", _("the hub's certificate is not valid: {reason}",
                                         reason=exc.verify_message or exc.reason),
                        _("check the kiosk's date and time first; then ask the hub operator to renew the certificate or install the issuing CA (ca-certificates)"), Status.OFFLINE)
    except (OSError, ssl.SSLError) as exc:
        return res.fail("tls_unreachable", _("no TLS connection to {host}:{port}: {reason}", host=host, port=port,
                                             reason=type(exc).__name__),
                        _("check the network and hub.url"), Status.OFFLINE)
    if der:
        from cryptography import x509

        expires = x509.load_der_x509_certificate(der).not_valid_after_utc
        not_after = expires.strftime("%Y-%m-%d %H:%M UTC")
        days = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400
        res.details.update(not_after=not_after, days_left=round(days, 1))
        if days < 0:
            res.fail("tls_expired", _("the hub's certificate expired on {date}", date=not_after),
                     _("ask the hub operator to renew the certificate"), Status.OFFLINE)
        elif days < CERT_WARN_DAYS:
            res.warn("tls_expires_soon", _("the hub's certificate expires in {days:.0f} days ({date})", days=days,
                                           date=not_after),
                     _("tell the hub operator to renew the certificate before it expires"))
    return res


def check_hub(probe: NetworkProbe, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    url = probe.cfg.hub.url
    res = CheckResult("hub.reachable", "hub", level, details={"url": url})
    doc, problem = probe.health()
    if doc is None:
        return res.fail("hub_unreachable", _("the hub at {url} does not answer ({reason})", url=url, reason=problem),
                        _("check the network cable and hub.url; is the hub running? Cases wait in the outbox meanwhile"),
                        Status.OFFLINE)
    res.details["database"] = doc.get("database")
    if doc.get("ok", False):
        return res
    if doc.get("disk_ok") is not False or doc.get("database_ok") is False:
        res.fail("hub_database_down", _("the hub answers but its database does not"),
                 _("tell the hub operator: the hub's database is down"), Status.OFFLINE)
    else:
        res.fail("hub_disk_full", _("the hub's disk is full: it refuses uploads"),
                 _("tell the hub operator to free space on the hub's upload volume; cases wait in the outbox meanwhile"),
                 Status.OFFLINE)
    return res


def check_token(probe: NetworkProbe, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    cfg = probe.cfg
    res = CheckResult("hub.token", "hub", level, details={"device_id": cfg.kiosk.device_id})
    if not cfg.hub.token:
        return res.fail("token_missing", _("hub.token is empty: the hub will refuse every case"),
                        _("ask the hub operator for `kiosk hub token create --role kiosk --name {device}` and set hub.token (or run `kiosk setup`)", device=cfg.kiosk.device_id), Status.USER_ERROR, "error")
    status, body, _mid = probe.ping()
    if status is None:
        return res.fail("token_unchecked", _("the token could not be checked: the hub does not answer"),
                        _("fix the hub connection first (hub.reachable)"), Status.OFFLINE)
    if status == 401:
        return res.fail("token_rejected", _("the hub refused the device token: every case would stay 待上传"),
                        _("the token is wrong, revoked or expired: ask the hub operator for a new one (kiosk hub token create --role kiosk --name {device}) and set hub.token",
                          device=cfg.kiosk.device_id), Status.USER_ERROR, "error")
    if status == 503:
        return res.fail("token_unchecked", _("the token could not be checked: the hub's database does not answer"),
                        _("tell the hub operator: the hub's database is down"), Status.OFFLINE)
    if status >= 400:
        return res.fail("token_refused", _("the hub answered HTTP {status} to the token check", status=status),
                        _("tell the hub operator; the hub may be misconfigured"), Status.OFFLINE)
    caller = (body or {}).get("caller") or {}
    if caller:
        res.details.update(role=caller.get("role"), name=caller.get("name"))
        if caller.get("role") not in ("kiosk", "clerk"):
            res.fail("token_wrong_role", _("the token belongs to a {role}, not to a kiosk", role=caller.get("role")),
                     _("use a device token: kiosk hub token create --role kiosk --name {device}",
                       device=cfg.kiosk.device_id), Status.USER_ERROR, "error")
        elif caller.get("role") == "kiosk" and caller.get("name") != cfg.kiosk.device_id:
            res.fail("token_other_device", _("the token was issued for kiosk {name}, but this kiosk is {device}",
                                             name=caller.get("name"), device=cfg.kiosk.device_id),
                     _("set kiosk.device_id to {name}, or ask for a token for {device}", name=caller.get("name"),
                       device=cfg.kiosk.device_id), Status.USER_ERROR, "error")
    return res


def _skew(res: CheckResult, _, who: str, skew: float) -> None:
    if abs(skew) >= CLOCK_ERROR_S:
        res.fail("clock_wrong", _("this kiosk's clock differs from the {who}'s by {skew:+.0f} s", who=who, skew=skew),
                 _("set the time: timedatectl set-ntp true (or timedatectl set-time); check the time zone and the BIOS battery"), Status.HARDWARE_ERROR)
    elif abs(skew) >= CLOCK_WARN_S:
        res.warn("clock_drift", _("this kiosk's clock differs from the {who}'s by {skew:+.0f} s", who=who, skew=skew),
                 _("turn on time synchronisation: timedatectl set-ntp true"))


def check_clock(probe: NetworkProbe, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    res = CheckResult("clock.skew", "clock", level)
    res.details["local_time"] = dt.datetime.fromtimestamp(probe.clock(), dt.timezone.utc).isoformat(timespec="seconds")
    status, body, mid = probe.ping()
    if status != 200 or not body or "hub_time" not in body:
        return res.fail("clock_unchecked", _("the clock could not be compared: the token check failed"),
                        _("fix hub.reachable and hub.token first"), Status.USER_ERROR, "warning")
    hub_ts = dt.datetime.fromisoformat(body["hub_time"]).timestamp()
    skew = round(mid - hub_ts, 1)
    res.details.update(hub_time=body["hub_time"], skew_s=skew)
    _skew(res, _, _("hub"), skew)
    platform_skew = (body.get("platform") or {}).get("skew_s")
    if platform_skew is not None:
        # The platform's clock relative to the hub's, so relative to ours:
        res.details["platform_skew_s"] = round(skew - platform_skew, 1)
        _skew(res, _, _("platform"), skew - platform_skew)
    return res


def check_platform(probe: NetworkProbe, level: HealthLevel, lang: str) -> CheckResult:
    _ = translator(lang)
    res = CheckResult("platform.reachable", "platform", level)
    status, body, _mid = probe.ping()
    if status != 200 or not body:
        return res.fail("platform_unchecked", _("the platform could not be checked: the token check failed"),
                        _("fix hub.reachable and hub.token first"), Status.OFFLINE)
    if body.get("legacy"):
        res.details["checked"] = False
        return res
    plat = body.get("platform") or {}
    res.details.update(url=plat.get("url"), configured=plat.get("configured"))
    if not plat.get("configured"):
        return res.fail("platform_not_configured", _("the hub has no provincial platform configured"),
                        _("tell the hub operator to set [platform] in the hub's config"), Status.OFFLINE)
    if not plat.get("reachable"):
        return res.fail("platform_unreachable", _("the hub cannot reach the platform at {url} ({reason})",
                                                  url=plat.get("url"), reason=plat.get("error") or
                                                  f"HTTP {plat.get('http_status')}"),
                        _("the kiosk still takes cases (the hub relays them later); tell the hub operator"),
                        Status.OFFLINE)
    return res
