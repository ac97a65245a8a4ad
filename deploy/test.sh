#!/usr/bin/env bash
# The whole test suite on a fresh Debian/Ubuntu machine: installs what it needs (idempotent), starts a
# throwaway PostgreSQL for the city-scale hub tests, and runs pytest headless (offscreen SDL, no X server).
# Extra arguments go to pytest, e.g. deploy/test.sh -k idcard
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KIOSK_VENV:-$here/.venv}"

"$here/deploy/bootstrap.sh"

if [ -x "$here/deploy/postgres-test.sh" ] && [ -z "${KIOSK_TEST_PG_URL:-}" ]; then
  KIOSK_TEST_PG_URL="$("$here/deploy/postgres-test.sh")"
  export KIOSK_TEST_PG_URL
fi

export SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_NO_FILELOG=1 KIVY_NO_CONFIG=1 KIVY_CLIPBOARD=dummy KIVY_LOG_MODE=PYTHON
unset DISPLAY
cd "$here"
exec "$venv/bin/python" -m pytest "$@"
