#!/usr/bin/env bash
# Schemathesis against the REST API of a fresh server: every operation of /api/v1/openapi.json,
# called with a full-access key, with the schema's examples then fuzzed requests (valid and invalid).
# It fails on any 5xx, any answer its schema does not describe, and the other checks below.
#
#   end2end/api-fuzz.sh                      (what `make test-api` runs)
#   API_FUZZ_EXAMPLES=200 API_FUZZ_SEED=7 end2end/api-fuzz.sh
#
# KEYWARD_BIN (default ./target/release/keyward), SCHEMATHESIS (default: schemathesis on PATH),
# API_FUZZ_EXAMPLES (test cases per operation, default 100), API_FUZZ_SEED (default fixed,
# so that a run can be repeated; any other number explores other inputs).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${KEYWARD_BIN:-./target/release/keyward}"
schemathesis="${SCHEMATHESIS:-schemathesis}"
examples="${API_FUZZ_EXAMPLES:-100}"
seed="${API_FUZZ_SEED:-20251125}"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
data=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$data/keyward.db"
export KEYWARD_LOG=warn NO_COLOR=1
echo "Schemathesis against a fresh server on 127.0.0.1:$port (database in $data)"

# The first organization and its owner, from the command line.
owner_email="fuzz@keyward.test"
owner_password="fuzzing the api with schemathesis"
KEYWARD_OWNER_PASSWORD="$owner_password" "$bin" create-owner \
  --organization "Fuzz Org" --name "Fuzz Owner" --email "$owner_email" </dev/null >"$data/create-owner.log" 2>&1 \
  || { cat "$data/create-owner.log"; exit 1; }

# The API only: no site build's hash.txt is needed beside the binary.
LEPTOS_HASH_FILES=false KEYWARD_WEBHOOK_ALLOW_PRIVATE=true KEYWARD_LISTEN="127.0.0.1:$port" "$bin" >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -fs "$base/healthz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "the server stopped:"; cat "$data/server.log"; exit 1; }
  sleep 0.2
done
curl -fs "$base/healthz" >/dev/null || { echo "the server did not answer /healthz:"; cat "$data/server.log"; exit 1; }

# A full-access key, made as the owner would in the dashboard: sign in, then the `create_key` server
# function (a change must come with this site's Origin). Its scopes: every management scope of the
# catalog (app/src/model/scope.rs, each ManagementScope's `#[strum(serialize = …)]` name), which is
# what "full access" means.
jar="$data/cookies"
fn() { # server function NAME, then curl's form arguments
  local name=$1; shift
  curl -fsS -b "$jar" -c "$jar" -H "Origin: $base" -H "Accept: application/json" "$@" "$base/api/$name"
}
fn sign_in --data-urlencode "email=$owner_email" --data-urlencode "password=$owner_password" >/dev/null
grep -q kw_session "$jar" || { echo "signing in set no session cookie"; exit 1; }
# The Enterprise plan has no key limit: on the Free plan (3 keys), creating keys would soon be 409.
fn change_plan --data-urlencode "plan=enterprise" >/dev/null
project=$(fn list_projects -X POST | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
scopes=$(sed -n 's/^ *#\[strum(serialize = "\([a-z_]*\.[a-z_]*\)")\]$/\1/p' app/src/model/scope.rs | tr '\n' ' ')
[ "$(wc -w <<<"$scopes")" -ge 15 ] || { echo "could not read the scope catalog: $scopes"; exit 1; }
token=$(fn create_key --data-urlencode "name=schemathesis" --data-urlencode "project_id=$project" \
  --data-urlencode "environment=production" --data-urlencode "scopes=$scopes" --data-urlencode "expiration=never" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# The operations on one key get a real one each (a random id is only ever 404): keys made with the
# full-access key, which is itself never a target. Enable's and delete's are disabled first.
api() { curl -fsS -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$@"; }
target() {
  api "$base/api/v1/keys" -d "{\"name\": \"fuzz target: $1\", \"scopes\": [\"api_keys.read\", \"telemetry.write\"]}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"]["id"])'
}
config="$data/schemathesis.toml"
: >"$config"
for operation in "GET /api/v1/keys/{id}" "GET /api/v1/keys/{id}/usage" "POST /api/v1/keys/{id}/revoke" \
  "POST /api/v1/keys/{id}/disable" "POST /api/v1/keys/{id}/enable" "POST /api/v1/keys/{id}/rotate" \
  "PUT /api/v1/keys/{id}/scopes" "PUT /api/v1/keys/{id}/rate-limit" "DELETE /api/v1/keys/{id}"; do
  id=$(target "$operation")
  case "$operation" in DELETE* | */enable) api -X POST "$base/api/v1/keys/$id/disable" >/dev/null ;; esac
  printf '[[operations]]\ninclude-name = "%s"\nparameters = { "path.id" = "%s" }\n\n' "$operation" "$id" >>"$config"
done

# Checks: all of them but positive_data_acceptance, which fails any 422 to a request the schema
# allows. Keyward refuses some such requests on purpose, by rules JSON Schema cannot state: no
# control or text-direction characters in names and searches, an expiry date in the future, a
# project of the caller's organization. (The stateful checks, use_after_free and the like, have no
# stateful phase here to run in.)
# --generation-with-security-parameters=false: the key above goes with every request, instead of
# fuzzed X-API-Key headers that would only be 401; ignored_auth still sends requests without a key.
# Webhook endpoints too, one each, on a loopback port nothing listens on (this server allows private
# destinations, so that no fuzzed event leaves the machine).
for operation in "GET /api/v1/webhooks/{id}" "PATCH /api/v1/webhooks/{id}" "DELETE /api/v1/webhooks/{id}" \
  "POST /api/v1/webhooks/{id}/rotate-secret" "POST /api/v1/webhooks/{id}/test" "GET /api/v1/webhooks/{id}/deliveries"; do
  id=$(api "$base/api/v1/webhooks" -d '{"url": "http://127.0.0.1:9/hooks", "events": ["key.revoked"]}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["endpoint"]["id"])')
  printf '[[operations]]\ninclude-name = "%s"\nparameters = { "path.id" = "%s" }\n\n' "$operation" "$id" >>"$config"
done

cd "$data"
status=0
timeout 600 "$schemathesis" --config-file="$config" run "$base/api/v1/openapi.json" \
  --phases=examples,fuzzing \
  --max-examples="$examples" \
  --seed="$seed" \
  --workers=2 \
  --checks=all \
  --exclude-checks=positive_data_acceptance \
  --header "Authorization: Bearer $token" \
  --request-timeout=10 \
  --generation-database=none \
  --generation-with-security-parameters=false \
  --no-color || status=$?

# What the server logged at warn and above (a 5xx answer says no more than "Something went wrong").
if [ -s "$data/server.log" ]; then
  echo "The server's warnings and errors during the run (the first 60 lines):"
  head -n 60 "$data/server.log"
fi
exit "$status"
