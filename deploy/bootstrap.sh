#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine for the kiosk: system packages, a virtual environment, the package.
# Idempotent: safe to run again; it only installs what is missing.
#   deploy/bootstrap.sh            system packages + .venv + package with test extras
#   deploy/bootstrap.sh --no-system   skip apt (for machines already provisioned)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KIOSK_VENV:-$here/.venv}"
with_system=1
for arg in "$@"; do
  case "$arg" in
    --no-system) with_system=0 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

# CJK font (Simplified Chinese faces are extracted at first start), Mesa GL/EGL for headless Kivy,
# PostgreSQL for city-scale hub tests, tesseract with chi_sim for legibility benchmarks.
system_packages=(
  fonts-noto-cjk
  afdko-bin  # tx: the screens' copy of the font without CFF subroutines (0.7 MB a text size, not 2.5)
  libgl1 libegl1 libgl1-mesa-dri libgles2 libmtdev1
  postgresql postgresql-contrib
  tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng
  espeak-ng  # spoken prompts in elder mode
  chromium chromium-driver  # the web console's browser tests (headless)
  python3-venv python3-dev
  ca-certificates
  systemd  # systemd-analyze verify checks the units in deploy/systemd (tests/deploy)
)

if [ "$with_system" = 1 ]; then
  missing=()
  for p in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    echo "bootstrap: installing ${missing[*]}" >&2
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
fi

# Python 3.11–3.13 (Kivy 2.3.1 has no wheel for 3.14).
python=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "bootstrap: no Python 3.11-3.13 found; install python3 (3.11-3.13) and run again" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.kiosk-installed"
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
  log="$venv/pip-install.log"
  if ! { "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
         "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$here[test]"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap: installing the Python packages failed (log above, also in $log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
# The project's own bytecode: `pip install -e` writes none, and the kiosk runs as a user who cannot write here, so
# without it every start compiled every module again (~50 ms before the first frame on a 2-core PC). Quick when
# nothing changed; run again after an update.
"$venv/bin/python" -m compileall -q -j 0 "$here/kiosk" "$here/devices" "$here/screens" >/dev/null
echo "bootstrap: ready ($venv)" >&2
