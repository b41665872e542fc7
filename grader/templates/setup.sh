#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (choose an Ubuntu
# base image with Python 3.11 or newer). It installs bubblewrap (the sandbox) and the kit
# into a virtual environment.
set -euo pipefail
SRC="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$SRC")"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap
if ! python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get install -y python3 python3-venv python3-pip
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet -e "$SRC"
