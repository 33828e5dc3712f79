#!/bin/sh
# System packages the test suite uses beyond .venv: Chromium, to render `lpr-ray report` pages
# in a headless browser (tests/test_report.py; it skips, saying why, without one).
# Idempotent and quiet: does nothing when a Chromium is already on PATH.
#
#   scripts/install-system-deps.sh        # as root, or with sudo available
set -eu

for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no apt-get here; install Chromium yourself to run the browser test" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-system-deps: not root and no sudo; run as root: apt-get install -y chromium" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# Debian's package is `chromium`; Ubuntu's older releases name it chromium-browser.
$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 \
    || $SUDO apt-get install -y -qq chromium-browser >/dev/null
echo "install-system-deps: installed $(command -v chromium || command -v chromium-browser)"
