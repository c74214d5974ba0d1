#!/bin/sh
# A bounded schemathesis run over every operation of /schema/, signed in as a user and then as an operator,
# against a throwaway service (SQLite): no reply is a 5xx, and every reply's status, content type and body
# are ones the schema documents. Options after the script go to schemathesis (e.g. --max-examples 50).
set -eu
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt . scripts/venv.sh
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-18399}
api=http://127.0.0.1:$port
export DATABASE_URL="sqlite:///$work/db.sqlite3" ACCOUNTSITE_ENV=development
unset REDIS_URL CACHE_URL
# Generated sign-ups and sign-ins must not lock the run out before it is over.
export ACCOUNTS_REGISTRATIONS_PER_IP=1000000 ACCOUNTS_LOGIN_FAILURES_PER_IP=1000000
.venv/bin/python manage.py migrate --no-input -v 0
admin_password=$(.venv/bin/python manage.py demo_admin | sed "s/.*password '\([^']*\)'.*/\1/")
.venv/bin/python manage.py runserver --noreload --insecure "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "$api/healthz" >/dev/null && break; sleep 0.2; done

post() { curl -sf -X POST "$api$1" -H 'Content-Type: application/json' -d "$2"; }
access() { .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["data"]["access"])'; }
# Not the schema's example password: its examples would change it, or delete the account, early in the run.
password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(16))')
post /auth/register "{\"username\": \"alice\", \"password\": \"$password\"}" >/dev/null
user_token=$(post /auth/login "{\"username\": \"alice\", \"password\": \"$password\"}" | access)
admin_token=$(post /auth/login "{\"username\": \"admin\", \"password\": \"$admin_password\"}" | access)

# Signing out and deleting an account would end the run's own credentials half-way; both are tested in the suite.
# From the throwaway directory, so no cache of an earlier run (another server's replies) is replayed.
# One worker: with two, hypothesis parses lambdas' source in two threads at once, and CPython 3.11's ast
# then fails now and then ("SystemError: AST constructor recursion depth mismatch", gh-106905): a crash of
# the tool, not a finding, that failed a CI run.
venv=$(pwd)/.venv
cd "$work"
for token in "$user_token" "$admin_token"; do
  "$venv/bin/schemathesis" run "$api/schema/" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --exclude-operation-id auth_logout_create --exclude-operation-id users_destroy \
    --phases examples,coverage,fuzzing --max-examples 5 --generation-deterministic --workers 1 "$@"
done
