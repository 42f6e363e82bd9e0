#!/usr/bin/env bash
# What tests/test_plots_browser.py needs outside the venv, installed idempotently (a second
# run changes nothing): Debian's chromium (apt-get, as root) and the Vega scripts that DVC's
# page loads, at the versions locked in package-lock.json here (npm ci into node_modules/).
#   bash tests/browser/install.sh     # CI runs it before `make test`
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/browser/install.sh: needs ${missing[*]}: as root, apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# npm ci wipes node_modules and installs the lock exactly: only when the lock changed.
stamp="$here/node_modules/.installed-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --ignore-scripts)
    cp "$here/package-lock.json" "$stamp"
fi
echo "browser test tools: $(chromium --version 2>/dev/null | head -1); vega $(node -p 'require(process.argv[1]).version' "$here/node_modules/vega/package.json")"
