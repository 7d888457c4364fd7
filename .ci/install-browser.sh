#!/usr/bin/env bash
# Install what tests/test_browser.py and tests/test_lite.py need, idempotently, without ever
# downloading a browser build:
# Debian's chromium (apt) and the playwright Python package (pip; only the driver, which ships
# inside the wheel). Never run `playwright install`: the test drives /usr/bin/chromium.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PLAYWRIGHT_VERSION=1.65.2

if [ ! -x /usr/bin/chromium ]; then
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  apt-get install -y -qq chromium >/dev/null
fi
# The browser edition's build (tools/lite_build.py) fetches Pyodide's official files with `npm pack`.
if ! command -v npm >/dev/null; then
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; fi
  apt-get install -y -qq npm >/dev/null
fi

python=$(command -v python || command -v python3)
if [ "$("$python" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null || true)" \
     != "$PLAYWRIGHT_VERSION" ]; then
  "$python" -m pip install -q "playwright==$PLAYWRIGHT_VERSION"
fi

/usr/bin/chromium --version 2>/dev/null | head -n 1 || true
"$python" -c 'import playwright.sync_api, importlib.metadata as m; print("playwright", m.version("playwright"))'
