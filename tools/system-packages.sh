#!/bin/sh
# The Debian packages make install needs besides Python's; called by the Makefile, once per machine.
#   tools/system-packages.sh STAMP   chromium (tests/test_serve_browser.py drives it with Playwright) and
#                                    fonts-noto-cjk (the prompts drawn above the leaderboard's grids); writes
#                                    STAMP when both are there
#   tools/system-packages.sh --venv  python3-venv, for an interpreter that cannot make a virtual environment
# As root the missing ones are installed with apt-get; otherwise one line says what to install.
set -u
CJK_FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

install() {  # install "$@" with apt-get as root; else say how, and fail
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make install: apt-get install $* (once)"
    log=$(mktemp)
    # the lock timeout: the two calls of this script may run at once (make install runs them in parallel)
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           -o DPkg::Lock::Timeout=300 "$@"; } >"$log" 2>&1; then
      rm -f "$log"
      return 0
    fi
    tail -5 "$log"
    rm -f "$log"
    echo "make install: apt-get install $* failed (above)"
  else
    echo "make install: missing Debian packages: $*; install them with: sudo apt-get install --no-install-recommends $*"
  fi
  return 1
}

if [ "${1:-}" = "--venv" ]; then
  install python3-venv
  exit
fi
stamp=${1:?usage: tools/system-packages.sh STAMP | --venv}
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
{ fc-list 2>/dev/null | grep -q "Noto Sans CJK"; } || [ -e "$CJK_FONT" ] || missing="$missing fonts-noto-cjk"
# shellcheck disable=SC2086  # one word per package
if [ -z "$missing" ] || install $missing; then
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
exit 0  # a missing package fails only the tests that need it, each with the line above
