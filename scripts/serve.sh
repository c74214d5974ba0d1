#!/bin/sh
# Sets up and runs the service on the embedded default (SQLite, local-memory cache, console e-mail):
# a virtualenv, the pinned packages, migrations (tier data included) and a demo admin printed below.
# No mail worker is needed: in development each request delivers its own mail from the outbox right
# after its commit (OUTBOX_INLINE); production runs `manage.py run_outbox` beside gunicorn.
set -eu
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements.txt . scripts/venv.sh
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py demo_admin
exec .venv/bin/python manage.py runserver --insecure "${PORT:-127.0.0.1:8000}"
