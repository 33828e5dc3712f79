#!/bin/sh
# System packages the test suite uses beyond .venv: Chromium, to render `lpr-ray report` pages
# in a headless browser (tests/test_report.py), and a CJK font (WenQuanYi Micro Hei, 1.6 MB) so
# that Chinese plates render as glyphs there rather than as empty boxes. The tests that need
# them skip, saying why, without them.
# Idempotent and quiet: installs only what is missing.
#
#   scripts/install-system-deps.sh        # as root, or with sudo available
set -eu

have_chromium() {
    for b in chromium chromium-browser google-chrome; do
        command -v "$b" >/dev/null 2>&1 && return 0
    done
    return 1
}
have_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]
}

if have_chromium && have_cjk_font; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no apt-get here; install Chromium and a CJK font yourself to run the browser tests" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        SUDO="sudo -n"
    elif command -v sudo >/dev/null 2>&1; then
        echo "install-system-deps: sudo asks for a password; skipped (the browser tests skip, saying why). Install them with: sudo apt-get install -y chromium fonts-wqy-microhei" >&2
        exit 0
    else
        echo "install-system-deps: not root and no sudo; run as root: apt-get install -y chromium fonts-wqy-microhei" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
if ! have_cjk_font; then
    $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
if ! have_chromium; then
    # Debian's package is `chromium`; Ubuntu's older releases name it chromium-browser.
    $SUDO apt-get install -y -qq chromium >/dev/null 2>&1 \
        || $SUDO apt-get install -y -qq chromium-browser >/dev/null
fi
echo "install-system-deps: installed $(command -v chromium || command -v chromium-browser) and a CJK font"
