"""Kiosk configuration: one TOML file, validated at start-up, with environment overrides.

Search order: `--config PATH`, then `$KIOSK_CONFIG`, then `/etc/govkiosk/kiosk.toml`, then
`~/.config/govkiosk/kiosk.toml`; with none of them the defaults run the embedded demo.
Any key can be overridden by `KIOSK_<SECTION>_<KEY>` (dots become underscores), for example
`KIOSK_HUB_URL=http://127.0.0.1:8700` or `KIOSK_DEVICES_PRINTER_URI=tcp://127.0.0.1:9100`.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from kiosk.errors import ConfigError

SEARCH_PATH = (Path("/etc/govkiosk/kiosk.toml"), Path.home() / ".config/govkiosk/kiosk.toml")


def default_data_dir() -> str:
    return os.environ.get("KIOSK_DATA_DIR") or str(Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "govkiosk")


@dataclass
class KioskSection:
    device_id: str = "K0001"  # printed in receipt numbers: <device id>-<yyyymmdd>-<sequence>
    role: str = "citizen"  # citizen | counter
    outlet: str = "西安市雁塔区政务服务中心"
    outlet_code: str = ""  # the hub's code of this outlet (`kiosk hub outlet add`): where 代办 requests go
    language: str = "zh_CN"  # zh_CN | en
    elder_mode: bool = False
    idle_timeout_s: float = 90.0
    idle_warning_s: float = 10.0
    data_dir: str = field(default_factory=default_data_dir)
    hotline: str = "12345"
    tracking_base_url: str = "https://zwfw.example.gov.cn/track"
    card_return_s: float = 20.0  # a card taken away mid-journey: seconds to put it back before the session ends


@dataclass
class HubSection:
    url: str = "http://127.0.0.1:8700"
    token: str = ""  # device token issued by `kiosk hub token create --role kiosk`
    timeout_s: float = 5.0
    db_url: str = ""  # hub side: SQLite file in data_dir when empty
    verify_tls: bool = True
    relay_concurrency: int = 16  # hub side: cases relayed to the platform at once (each case's steps in order)
    request_threads: int = 8  # hub side: requests worked on at once (the rest wait their turn; docs/performance.md)


@dataclass
class PlatformSection:
    url: str = "http://127.0.0.1:8710"
    app_id: str = "govkiosk-demo"
    secret: str = "demo-secret-change-me"
    signing: str = "hmac-sha256"  # hmac-sha256 | sm3
    timeout_s: float = 10.0


@dataclass
class IdCardSection:
    port: str = "auto"  # auto | /dev/ttyUSB0 | /dev/idcard
    baud: str = "auto"  # auto | 115200 | 57600 | 38400 | 19200 | 9600
    poll_ms: int = 200
    module: str = "auto"  # auto | continuous | single (不支持连读): how the reader answers find after a read
    photo_decoder: str = ""  # optional vendor WLT decoder: "package.module:function" or "/path/lib.so#symbol"


@dataclass
class CameraSection:
    source: str = "auto"  # auto | /dev/v4l/by-id/… | index | sim:DIR
    width: int = 0  # 0: the highest mode the camera gives
    height: int = 0
    dpi: int = 200
    auto_capture: bool = True  # shoot once the page has stayed still ~0.5 s (the button works too)


@dataclass
class PrinterSection:
    uri: str = ""  # usb://VID:PID?in=0x81&out=0x03 | serial:///dev/ttyUSB1?baud=19200 | tcp://HOST:9100 | file:///dev/usb/lp0
    paper: int = 80  # 58 | 80
    charset: str = "gb18030"  # gbk | gb18030
    qr: str = "native"  # native | image


@dataclass
class DevicesSection:
    idcard: IdCardSection = field(default_factory=IdCardSection)
    camera: CameraSection = field(default_factory=CameraSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    simulated: bool = False


@dataclass
class DisplaySection:
    fullscreen: bool = True
    width: int = 1280
    height: int = 800
    show_cursor: bool = False
    orientation: str = "landscape"  # landscape | portrait (a 1080×1920 standing kiosk)

    def window_size(self) -> tuple[int, int]:
        """(width, height) of the window: portrait uses 1080×1920 unless a portrait size is configured."""
        if self.orientation == "portrait":
            if (self.width, self.height) == (1280, 800):
                return 1080, 1920
            return min(self.width, self.height), max(self.width, self.height)
        return self.width, self.height


@dataclass
class InstallerSection:
    pin_hash: str = ""  # argon2 hash of the installer PIN


@dataclass
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    hub: HubSection = field(default_factory=HubSection)
    platform: PlatformSection = field(default_factory=PlatformSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    installer: InstallerSection = field(default_factory=InstallerSection)
    source: str = "<defaults>"

    @property
    def data_dir(self) -> Path:
        return Path(self.kiosk.data_dir)


_CHOICES = {
    "kiosk.role": {"citizen", "counter"},
    "kiosk.language": {"zh_CN", "en"},
    "display.orientation": {"landscape", "portrait"},
    "platform.signing": {"hmac-sha256", "sm3"},
    "devices.printer.paper": {58, 80},
    "devices.printer.charset": {"gbk", "gb18030"},
    "devices.printer.qr": {"native", "image"},
    "devices.idcard.module": {"auto", "continuous", "single"},
}
_POSITIVE = {"kiosk.idle_timeout_s", "hub.timeout_s", "hub.relay_concurrency", "hub.request_threads", "platform.timeout_s", "devices.idcard.poll_ms", "display.width", "display.height"}


def _coerce(path: str, key: str, typ: Any, value: Any) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(path, key, f"expected true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(path, key, f"expected a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(path, key, f"expected a whole number, got {value!r}") from None
    if typ is float:
        if isinstance(value, bool):
            raise ConfigError(path, key, f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(path, key, f"expected a number, got {value!r}") from None
    if typ is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(path, key, f"expected text, got {value!r}")
        return str(value)
    raise ConfigError(path, key, f"unsupported type {typ}")


def _apply(obj: Any, data: dict, path: str, prefix: str) -> None:
    hints = get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names or (obj.__class__ is Config and key == "source"):
            raise ConfigError(path, dotted, "unknown key (check the spelling; see deploy/kiosk.example.toml)")
        typ = hints[key]
        if dataclasses.is_dataclass(typ):
            if not isinstance(value, dict):
                raise ConfigError(path, dotted, "expected a table")
            _apply(getattr(obj, key), value, path, dotted + ".")
        else:
            setattr(obj, key, _coerce(path, dotted, typ, value))


def _env_overrides(obj: Any, prefix: str, env: dict[str, str]) -> None:
    hints = get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if obj.__class__ is Config and f.name == "source":
            continue
        dotted = f"{prefix}{f.name}"
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            _env_overrides(getattr(obj, f.name), dotted + ".", env)
            continue
        var = "KIOSK_" + dotted.replace(".", "_").upper()
        if var in env:
            setattr(obj, f.name, _coerce(f"${var}", dotted, typ, env[var]))


def _validate(cfg: Config) -> None:
    def get(dotted: str) -> Any:
        node: Any = cfg
        for part in dotted.split("."):
            node = getattr(node, part)
        return node

    for dotted, allowed in _CHOICES.items():
        if get(dotted) not in allowed:
            raise ConfigError(cfg.source, dotted, f"must be one of {sorted(allowed, key=str)}, got {get(dotted)!r}")
    for dotted in _POSITIVE:
        if get(dotted) <= 0:
            raise ConfigError(cfg.source, dotted, f"must be greater than 0, got {get(dotted)!r}")
    if not re.fullmatch(r"[A-Za-z0-9]{1,16}", cfg.kiosk.device_id):
        raise ConfigError(cfg.source, "kiosk.device_id", "1-16 letters or digits (it is printed in receipt numbers)")
    for dotted in ("hub.url", "platform.url"):
        if not re.match(r"https?://[^/\s]+", get(dotted)):
            raise ConfigError(cfg.source, dotted, f"expected an http:// or https:// URL, got {get(dotted)!r}")
    baud = cfg.devices.idcard.baud
    if baud != "auto" and baud not in {"115200", "57600", "38400", "19200", "9600"}:
        raise ConfigError(cfg.source, "devices.idcard.baud", f"auto or one of 115200/57600/38400/19200/9600, got {baud!r}")
    uri = cfg.devices.printer.uri
    if uri and not re.match(r"(usb|serial|tcp|file)://", uri):
        raise ConfigError(cfg.source, "devices.printer.uri", f"expected usb://, serial://, tcp:// or file://, got {uri!r}")


def find_config_file(explicit: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("KIOSK_CONFIG"):
        return Path(env["KIOSK_CONFIG"])
    for candidate in SEARCH_PATH:
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Load, override from the environment and validate. Raises ConfigError naming file, key and reason."""
    env = dict(os.environ) if env is None else env
    cfg = Config()
    found = find_config_file(path, env)
    if found is not None:
        cfg.source = str(found)
        try:
            raw = found.read_bytes()
        except FileNotFoundError:
            raise ConfigError(str(found), "-", "file not found") from None
        except OSError as exc:
            raise ConfigError(str(found), "-", f"cannot be read ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(str(found), "-", "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(found), "-", f"not valid TOML ({exc})") from None
        _apply(cfg, data, str(found), "")
    _env_overrides(cfg, "", env)
    _validate(cfg)
    return cfg
