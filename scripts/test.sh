#!/usr/bin/env bash
# Sets up a virtual environment (./.venv) with the project and its dev tools, then runs the whole
# test suite. Extra arguments go to pytest. PostgreSQL on 127.0.0.1:5432 (database `test`) is used
# by the storage and integration tests when it answers.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
# The CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[dev]"
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
