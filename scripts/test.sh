#!/bin/sh
# Sets up and runs the whole test suite. With DATABASE_URL / REDIS_URL set it runs on PostgreSQL and
# Redis; tests that need those (or Debian's chromium) are skipped with a printed reason otherwise.
set -eu
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt . scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
