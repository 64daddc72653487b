#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the test that renders the HTML report.
# Safe to run again: it installs nothing when chromium is there.
set -euo pipefail
if command -v chromium >/dev/null; then
  echo "chromium: $(command -v chromium)"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium
command -v chromium
