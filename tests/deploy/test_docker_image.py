"""deploy/Dockerfile built and run for real: the hub and the platform simulator start from the image, answer
/healthz on a published port, serve the console's Chinese font (fonts-noto-cjk is in the image), run as a system user,
and Docker's own HEALTHCHECK turns healthy.

Needs a Docker daemon (`docker info` must work) and KIOSK_TEST_DOCKER=1: a cold build downloads the dependencies
from PyPI and takes minutes, so a developer's ordinary run never starts it. KIOSK_TEST_DOCKER_BASE names the base
image on a host without Docker Hub (docs/operations.md, "The hub as a container image")."""
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TAG = "govkiosk-hub:pytest"
BUILD_TIMEOUT_S = 480  # the test as a whole stays under ten minutes


def test_every_builder_reads_the_same_ignore_file():
    """BuildKit reads deploy/Dockerfile.dockerignore; the legacy builder and docker-compose 1.x read only the
    context's .dockerignore (without it they send the whole checkout, .venv included)."""
    root_ignore = ROOT / ".dockerignore"
    assert root_ignore.is_symlink() and root_ignore.resolve() == (DEPLOY / "Dockerfile.dockerignore").resolve()


def test_the_base_image_can_be_replaced_without_editing_the_dockerfile():
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
    assert "${GOVKIOSK_BASE_IMAGE:-python:3.11-slim-bookworm}" in (DEPLOY / "compose.yaml").read_text("utf-8")


def _docker_ready() -> str | None:
    """None when a build may run here, else the reason it may not."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Docker daemon (`docker info`: {last})"
    if os.environ.get("KIOSK_TEST_DOCKER") != "1":
        return ("a Docker daemon is up, but building the image downloads the dependencies from PyPI and takes "
                "minutes: set KIOSK_TEST_DOCKER=1 to build and run it (and KIOSK_TEST_DOCKER_BASE=<image> "
                "without Docker Hub)")
    return None


def _docker(*args: str, timeout: float = 60) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr[-3000:]}"
    return proc.stdout.strip()


def _get(url: str, deadline: float) -> tuple[int, bytes]:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.read()
        except (urllib.error.URLError, ConnectionError, OSError) as exc:  # not listening yet
            last = exc
            time.sleep(1)
    raise AssertionError(f"{url} did not answer: {last}")


def _start(name: str, port: int, *command: str, env: dict[str, str] | None = None) -> str:
    """Run the image detached, the container port published on loopback; returns the base URL."""
    flags = ["run", "-d", "--name", name, "-p", f"127.0.0.1::{port}", "--health-interval", "2s",
             "--health-start-period", "0s"]
    for key, value in (env or {}).items():
        flags += ["-e", f"{key}={value}"]
    _docker(*flags, TAG, *command)
    host_port = _docker("port", name, str(port)).splitlines()[0].rsplit(":", 1)[1]
    return f"http://127.0.0.1:{host_port}"


def _wait_healthy(name: str, deadline: float) -> None:
    status = ""
    while time.monotonic() < deadline:
        status = _docker("inspect", "--format", "{{.State.Health.Status}}", name)
        if status == "healthy":
            return
        time.sleep(1)
    logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True).stderr
    raise AssertionError(f"{name} is {status!r}, not healthy\n{logs}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_image_builds_and_the_hub_and_the_simulator_run_healthy():
    reason = _docker_ready()
    if reason:
        pytest.skip(reason)
    build = ["build", "-q", "-f", str(DEPLOY / "Dockerfile"), "-t", TAG]
    if os.environ.get("KIOSK_TEST_DOCKER_BASE"):
        build += ["--build-arg", f"BASE_IMAGE={os.environ['KIOSK_TEST_DOCKER_BASE']}"]
    _docker(*build, str(ROOT), timeout=BUILD_TIMEOUT_S)

    suffix = uuid.uuid4().hex[:8]
    hub, sim = f"govkiosk-test-hub-{suffix}", f"govkiosk-test-sim-{suffix}"
    try:
        hub_url = _start(hub, 8700)
        sim_url = _start(sim, 8710, "kiosk", "platform-sim", "serve", "--host", "0.0.0.0", "--port", "8710",
                         env={"HEALTHCHECK_URL": "http://127.0.0.1:8710/healthz"})
        deadline = time.monotonic() + 90

        status, body = _get(hub_url + "/healthz", deadline)
        health = json.loads(body)
        assert status == 200 and health["ok"] is True and health["service"] == "hub", health
        assert health["database_ok"] is True and health["disk_ok"] is True, health
        status, body = _get(sim_url + "/healthz", deadline)
        assert status == 200 and json.loads(body)["ok"] is True, body

        status, font = _get(hub_url + "/console/fonts/regular.otf", deadline)
        assert status == 200 and font[:4] == b"OTTO", "the console's font: is fonts-noto-cjk in the image?"
        assert _docker("exec", hub, "id", "-un") == "govkiosk-hub"

        _wait_healthy(hub, deadline)
        _wait_healthy(sim, deadline)
    finally:
        subprocess.run(["docker", "rm", "-f", hub, sim], capture_output=True, timeout=60)
