#!/usr/bin/env bash
# Sets everything up on a fresh Debian/Ubuntu machine, then runs the demo: hub + platform simulator +
# kiosk on simulated devices. On a machine without a display it runs the scripted tour instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/deploy/bootstrap.sh"
exec "${KIOSK_VENV:-$here/.venv}/bin/kiosk" demo "$@"
