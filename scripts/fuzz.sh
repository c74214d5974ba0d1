#!/bin/sh
# The schemathesis step of CI: every operation of /schema/ fuzzed against a fresh service on the embedded
# default (SQLite, two gunicorn workers), anonymously and signed in as an operator; any 5xx fails it.
# Options after the script go to `schemathesis run` (e.g. --max-examples 50).
set -eu
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
port="${FUZZ_PORT:-18765}"
export DATABASE_URL="sqlite:///$tmp/db.sqlite3" REDIS_URL="" CACHE_URL="locmemcache://fuzz" DEBUG=false
export ACCOUNTS_REGISTRATIONS_PER_IP=100000 ACCOUNTS_LOGIN_FAILURES_PER_IP=100000
export ACCOUNTS_SECRET_MAILS_PER_IP=100000 EMAIL_URL="dummymail://"
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/gunicorn accountsite.wsgi --workers 2 --bind "127.0.0.1:$port" --control-socket "$tmp/gunicorn.ctl" \
  --log-level warning >"$tmp/gunicorn.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
token="$(.venv/bin/python - "$port" <<'PY'
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(150):
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=2)
        break
    except OSError:
        time.sleep(0.2)
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
django.setup()
from tests.factories import PASSWORD, AdminFactory
AdminFactory(username="fuzz-admin")
body = json.dumps({"username": "fuzz-admin", "password": PASSWORD, "terminal": "fuzz"}).encode()
request = urllib.request.Request(f"{base}/auth/login", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["data"]["access"])
PY
)"
fuzz() {
  .venv/bin/schemathesis run "http://127.0.0.1:$port/schema/" --checks not_a_server_error --workers 2 \
    --phases examples,coverage,fuzzing --max-examples 5 --request-timeout 20 --suppress-health-check all "$@"
}
status=0
fuzz "$@" || status=1
# Signed in as an operator, every operation but the logout that would end the token's session.
fuzz -H "Authorization: Bearer $token" --exclude-path /auth/logout/ "$@" || status=1
[ "$status" = 0 ] || { echo "== gunicorn log"; tail -100 "$tmp/gunicorn.log"; }
exit "$status"
