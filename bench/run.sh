#!/bin/sh
# The benchmark in one command: sets up .venv with the pinned packages (as scripts/test.sh does), then runs
# bench/run.py, which installs wrk and the baseline's venv when missing. See bench/run.py for what it measures.
#   sh bench/run.sh                  # the figures of issue 12, printed and written to bench/results/latest.md
#   BENCH_PROFILE=1 sh bench/run.sh  # the profile of GET /auth/me and of a login instead
set -eu
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt . scripts/venv.sh
exec .venv/bin/python bench/run.py "$@"
