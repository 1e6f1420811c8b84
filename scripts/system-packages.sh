#!/usr/bin/env bash
# The Debian packages `make test` needs beyond Python: chromium (the browser tests drive it through
# Playwright) and npm (it installs the query editor's assets). Installed when missing, if this is
# root on a machine with apt-get; otherwise one line says what to install, and the browser tests
# then fail saying the same (they are never skipped).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-packages: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
fi
