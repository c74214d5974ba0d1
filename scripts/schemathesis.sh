#!/bin/sh
# A bounded schemathesis run over every operation of /schema/, signed in as a user and as an operator, each
# against a throwaway service of its own (SQLite): no reply is a 5xx, and every reply's status, content type
# and body are ones the schema documents. Options after the script go to schemathesis (e.g. --max-examples 50).
# The two runs go side by side, one a core: each is one process (see below), and they share nothing.
set -eu
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt . scripts/venv.sh
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-18399}
export ACCOUNTSITE_ENV=development
unset REDIS_URL CACHE_URL
# Generated sign-ups and sign-ins must not lock the run out before it is over.
export ACCOUNTS_REGISTRATIONS_PER_IP=1000000 ACCOUNTS_LOGIN_FAILURES_PER_IP=1000000
venv=$(pwd)/.venv
trap 'rm -rf "$work"' EXIT

# run_as ROLE PORT [schemathesis options]: a service on PORT with a database of its own, an operator and a user,
# and schemathesis over every operation with the token of ROLE's account (user or operator).
run_as() {
  role=$1 api=http://127.0.0.1:$2
  shift 2
  dir="$work/$role"
  mkdir "$dir"
  export DATABASE_URL="sqlite:///$dir/db.sqlite3"
  "$venv/bin/python" manage.py migrate --no-input -v 0
  admin_password=$("$venv/bin/python" manage.py demo_admin | sed "s/.*password '\([^']*\)'.*/\1/")
  "$venv/bin/python" manage.py runserver --noreload --insecure "127.0.0.1:${api##*:}" >"$dir/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  for _ in $(seq 50); do curl -sf "$api/healthz" >/dev/null && break; sleep 0.2; done

  post() { curl -sf -X POST "$api$1" -H 'Content-Type: application/json' -d "$2"; }
  access() { "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["access"])'; }
  # A user account in both runs, for the operator's requests to find. Not the schema's example password: its
  # examples would change it, or delete the account, early in the run.
  password=$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(16))')
  post /auth/register "{\"username\": \"alice\", \"password\": \"$password\"}" >/dev/null
  if [ "$role" = operator ]; then
    token=$(post /auth/login "{\"username\": \"admin\", \"password\": \"$admin_password\"}" | access)
  else
    token=$(post /auth/login "{\"username\": \"alice\", \"password\": \"$password\"}" | access)
  fi

  # Signing out and deleting an account would end the run's own credentials half-way; both are tested in the
  # suite. From the run's own directory, so no cache of an earlier run (another server's replies) is replayed.
  # One worker: with two, hypothesis parses lambdas' source in two threads at once, and CPython 3.11's ast
  # then fails now and then ("SystemError: AST constructor recursion depth mismatch", gh-106905): a crash of
  # the tool, not a finding, that failed a CI run. Two processes do not share that parser.
  cd "$dir"
  "$venv/bin/schemathesis" run "$api/schema/" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --exclude-operation-id auth_logout_create --exclude-operation-id users_destroy \
    --phases examples,coverage,fuzzing --max-examples 5 --generation-deterministic --workers 1 "$@"
}

(run_as user "$port" "$@") >"$work/user.log" 2>&1 &
user=$!
(run_as operator "$((port + 1))" "$@") >"$work/operator.log" 2>&1 &
operator=$!
failed=0
wait "$user" || failed=1
wait "$operator" || failed=1
for role in user operator; do
  echo "-- schemathesis signed in as $role"
  cat "$work/$role.log"
done
exit "$failed"
