"""deploy/: every systemd unit rendered for this checkout and checked with `systemd-analyze verify` (where it
exists), the restart and watchdog settings the kiosk relies on, the udev rules' syntax, the journald drop-in, the
Dockerfile that compose.yaml builds, and the example config documenting every key."""
import configparser
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config import Config, load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def render(unit: Path, out_dir: Path) -> Path:
    """The unit as installed, with /opt/govkiosk pointing at this checkout (its .venv/bin/kiosk exists)."""
    text = unit.read_text("utf-8").replace("/opt/govkiosk", str(ROOT))
    out = out_dir / unit.name
    out.write_text(text, "utf-8")
    return out


def parse(unit: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str
    cp.read_string(unit.read_text("utf-8"))
    return cp


def test_the_units_are_there():
    assert {u.name for u in UNITS} >= {"govkiosk-kiosk.service", "govkiosk-kiosk-x11.service", "govkiosk-hub.service",
                                       "govkiosk-platform-sim.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies(unit, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (deploy/bootstrap.sh installs systemd)")
    rendered = render(unit, tmp_path)
    text = rendered.read_text("utf-8")
    for exe in re.findall(r"^Exec\w*=(\S+)", text, re.M):
        if not Path(exe).exists() and not exe.startswith(str(ROOT)):
            # A system program this test machine lacks (xinit): verify the rest of the unit against a stand-in.
            stub = tmp_path / "bin" / Path(exe).name
            stub.parent.mkdir(exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
            text = text.replace(exe, str(stub))
    rendered.write_text(text, "utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(rendered)], capture_output=True, text=True,
                          timeout=60)
    complaints = [line for line in proc.stderr.splitlines()
                  if rendered.name in line or "Unknown" in line or "Failed to parse" in line or "ignoring" in line]
    assert proc.returncode == 0 and not complaints, proc.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_every_service_restarts_itself(unit):
    service = parse(unit)["Service"]
    assert service["Restart"] == "always"
    assert parse(unit)["Unit"]["StartLimitIntervalSec"] == "0"  # never give up restarting


@pytest.mark.parametrize("name", ["govkiosk-kiosk.service", "govkiosk-kiosk-x11.service"])
def test_kiosk_units_have_a_watchdog_fed_by_the_app(name):
    service = parse(DEPLOY / "systemd" / name)["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["NotifyAccess"] == ("main" if name == "govkiosk-kiosk.service" else "all")  # xinit is the main pid
    assert "kiosk run" in service["ExecStart"]


def test_kms_and_x_variants_exclude_each_other():
    kms = parse(DEPLOY / "systemd" / "govkiosk-kiosk.service")
    x11 = parse(DEPLOY / "systemd" / "govkiosk-kiosk-x11.service")
    assert "SDL_VIDEODRIVER=kmsdrm" in kms["Service"]["Environment"]
    assert "SDL_VIDEODRIVER=x11" in x11["Service"]["Environment"] and "xinit" in x11["Service"]["ExecStart"]
    # systemd names xinit's pid in WATCHDOG_PID; the app (xinit's child) must not think the watchdog is another's.
    assert "env -u WATCHDOG_PID" in x11["Service"]["ExecStart"]
    assert "govkiosk-kiosk-x11.service" in kms["Unit"]["Conflicts"]
    assert "govkiosk-kiosk.service" in x11["Unit"]["Conflicts"]


RULE_KEY = re.compile(r'^(?P<key>[A-Z]+(?:\{[^}]+\})?)\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"$')
MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ATTRS", "ATTR", "ENV", "ACTION", "DRIVERS", "SUBSYSTEMS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "TAG", "ENV", "RUN"}


def rules(path: Path):
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, [part.strip() for part in line.split(",")]


def test_udev_rules_parse_and_name_every_device():
    path = DEPLOY / "udev" / "99-govkiosk.rules"
    names, groups = set(), {}
    for number, parts in rules(path):
        for part in parts:
            m = RULE_KEY.match(part)
            assert m, f"line {number}: cannot parse {part!r}"
            base = m["key"].split("{")[0]
            if m["op"] in ("==", "!="):
                assert base in MATCH_KEYS, f"line {number}: {base} is not a match key"
            else:
                assert base in ASSIGN_KEYS, f"line {number}: {base} cannot be assigned"
            if base == "SYMLINK":
                names.add(m["value"])
            if base == "MODE":
                assert m["value"] == "0660", f"line {number}: devices are for their group only"
            if base == "GROUP":
                groups.setdefault(m["value"], 0)
                groups[m["value"]] += 1
    assert {"idcard", "receipt-printer", "doccamera"} <= names
    assert {"dialout", "lp", "video"} <= set(groups)
    if shutil.which("udevadm") and "verify" in subprocess.run(["udevadm", "--help"], capture_output=True, text=True).stdout:
        proc = subprocess.run(["udevadm", "verify", str(path)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_service_user_gets_the_device_groups():
    service = parse(DEPLOY / "systemd" / "govkiosk-kiosk.service")["Service"]
    assert {"dialout", "lp", "video"} <= set(service["SupplementaryGroups"].split())


def test_journald_drop_in_limits_the_logs():
    cp = parse(DEPLOY / "journald" / "govkiosk.conf")
    journal = cp["Journal"]
    assert journal["SystemMaxUse"].endswith("M") and journal["MaxRetentionSec"]
    known = {"Storage", "SystemMaxUse", "SystemKeepFree", "SystemMaxFileSize", "MaxRetentionSec", "MaxFileSec", "Compress"}
    assert set(journal) <= known


def test_compose_builds_from_the_dockerfile():
    compose = (DEPLOY / "compose.yaml").read_text("utf-8")
    assert "dockerfile: deploy/Dockerfile" in compose and "context: .." in compose
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    for src in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M):
        for item in src.split():
            assert (ROOT / item).exists(), f"COPY {item}: missing from the build context"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8")
    for needed in ("kiosk", "devices", "screens", "pyproject.toml"):
        assert f"!{needed}" in ignore
    # The real build and run: tests/deploy/test_docker_image.py (needs a Docker daemon and KIOSK_TEST_DOCKER=1).


def _keys(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "source" and obj.__class__ is Config:
            continue
        if dataclasses.is_dataclass(value):
            yield from _keys(value, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name


def test_example_config_loads_and_documents_every_key():
    example = DEPLOY / "kiosk.example.toml"
    load_config(example, env={})
    section, documented = "", set()
    for line in example.read_text("utf-8").splitlines():
        m = re.match(r"^\[(.+)\]", line)
        if m:
            section = m[1]
            continue
        m = re.match(r"^#?\s*([a-z_]+)\s*=.*#\s*\S", line)  # a key (maybe commented out) with its explanation
        if m:
            documented.add(f"{section}.{m[1]}")
    missing = set(_keys(Config())) - documented
    assert not missing, f"add these keys, each with a comment, to deploy/kiosk.example.toml: {sorted(missing)}"
