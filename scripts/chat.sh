#!/usr/bin/env bash
# Sets up a virtual environment (./.venv) and talks to NeedToTalk in this terminal: SQLite, the
# embedded models, no token, no key, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e .
exec needtotalk chat "$@"
