#!/usr/bin/env bash
# The main job's front half: payload input and validation (exit 4, nothing
# sent), stage schemas (repo first, then built in), hook selection (events,
# filters, enabled), secrets resolved only for hooks about to deliver,
# --dry-run, the raw and slack kinds, and 100 slow targets in parallel.
. "$(dirname "$0")/lib.sh"

start_receiver
U="http://127.0.0.1:$RECV_PORT"
EX="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"
export SECRET_A="whsec_$(head -c 24 /dev/urandom | base64)"

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: billing
    events: [clusters_deployed]
    secret: \${env:SECRET_A}
    filter: {/application/name: [\"billing-*\", checkout], /cluster/environment: production}
    targets: [{url: \"$U/ok?billing\"}]
  - name: staging-only
    events: [clusters_deployed]
    filter: {/cluster/environment: staging}
    targets: [{url: \"$U/ok?staging\"}]
  - name: tags
    events: [\"*\"]
    filter: {/application/tags: pci}
    kind: raw
    signature: hmac-hex
    secret: \${env:SECRET_A}
    targets: [{url: \"$U/ok?raw\"}]
  - name: chat
    events: [clusters_deployed]
    kind: slack
    targets: [{url: \"$U/ok?slack\"}]
  - name: off
    enabled: false
    events: [clusters_deployed]
    targets: [{url: \"$U/ok?off\"}]
  - name: other-stage
    events: [cluster_created]
    secret: \${env:NOT_SET_ANYWHERE}
    targets: [{url: \"$U/ok?other\"}]
" "hooks"
seen() { json_eval "sorted(r['path'] for r in rows)" "$RECV_LOG"; }

# Invalid payloads: exit 4, nothing sent, errors name the field.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["application"]["name"]; d["cluster"]["id"]="x"; print(json.dumps(d))' "$EX" >"$TMP/bad.json"
expect_exit 4 "schema-invalid payload" --repo "$R" --stage clusters_deployed --payload "$TMP/bad.json"
contains "error names the missing field" "$ERR" "/application"
contains "error names the mistyped field" "$ERR" "/cluster/id"
contains "says nothing was sent" "$ERR" "nothing was sent"
expect_exit 4 "payload that is not JSON" --repo "$R" --stage clusters_deployed --data '{"a": '
expect_exit 4 "payload with a duplicate key" --repo "$R" --stage clusters_deployed --data '{"a": 1, "a": 2}'
expect_exit 2 "no payload given" --repo "$R" --stage clusters_deployed
expect_exit 4 "a payload file that does not exist" --repo "$R" --stage clusters_deployed --payload "$TMP/nope.json"
contains "names the file" "$ERR" "payload: $TMP/nope.json: No such file"
expect_exit 3 "unknown stage" --repo "$R" --stage no_such_stage --data '{}'
contains "unknown stage named" "$ERR" "no_such_stage"
equals "nothing reached the receiver" "$(seen)" "[]"
check "no journal was written for rejected payloads" test ! -e "$WHRUN_STATE_DIR/journal.db"

# --dry-run: the exact requests, secrets masked, nothing sent or journaled.
expect_exit 0 "--dry-run" --repo "$R" --stage clusters_deployed --payload "$EX" --dry-run
contains "dry run shows the request" "$OUT" "POST $U/ok?billing"
contains "dry run shows the signature header, masked" "$OUT" "webhook-signature: ***"
not_contains "dry run never prints the secret" "$OUT" "$SECRET_A"
equals "dry run sent nothing" "$(seen)" "[]"
check "dry run journaled nothing" test ! -e "$WHRUN_STATE_DIR/journal.db"

# Selection: filters, enabled, events; a missing secret of a hook that is
# not selected does not matter.
expect_exit 0 "deliver" --repo "$R" --stage clusters_deployed --payload "$EX"
equals "filters, enabled and events chose the hooks" "$(seen)" "['/ok?billing', '/ok?raw', '/ok?slack']"
python3 - "$RECV_LOG" "$EX" >"$TMP/kinds" <<'PY'
import json, sys
rows = {r["path"]: r for r in map(json.loads, open(sys.argv[1]))}
want = open(sys.argv[2]).read().strip()
raw = rows["/ok?raw"]
slack = json.loads(rows["/ok?slack"]["body"])
print(raw["body"] == want, bool(raw["headers"].get("x-webhook-signature")),
      list(slack) == ["text"], "clusters_deployed" in slack["text"] and "billing-api" in slack["text"])
PY
equals "raw sends the payload itself, signed; slack sends a readable text" "$(cat "$TMP/kinds")" "True True True True"
: >"$RECV_LOG"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["application"]["name"]="search"; d["application"]["tags"]=[]; print(json.dumps(d))' "$EX" >"$TMP/search.json"
expect_exit 0 "filters that match nothing but slack" --repo "$R" --stage clusters_deployed --payload "$TMP/search.json"
equals "only the unfiltered hook" "$(seen)" "['/ok?slack']"
: >"$RECV_LOG"
expect_exit 0 "--data and stdin" --repo "$R" --stage clusters_deployed --data "$(cat "$TMP/search.json")"
"$WHRUN" --repo "$R" --stage clusters_deployed --payload - <"$TMP/search.json" >/dev/null 2>&1
equals "stdin payload delivered" "$?" 0
equals "both delivered" "$(seen)" "['/ok?slack', '/ok?slack']"

# A missing secret of a selected hook: exit 3 naming hook and variable, nothing sent.
: >"$RECV_LOG"
expect_exit 3 "missing secret" --repo "$R" --stage cluster_created --payload "$WH_SOURCE_DIR/hooks/examples/cluster_created.json"
contains "names the hook" "$ERR" "other-stage"
contains "names the variable" "$ERR" "NOT_SET_ANYWHERE"
equals "missing secret: nothing sent" "$(seen)" "[]"

# A secret the scheme cannot use is a config error before anything is journaled.
: >"$RECV_LOG"
SECRET_A='whsec_!!not-base64' run_whrun --repo "$R" --stage clusters_deployed --payload "$EX" --state "$TMP/state-bad-secret"
equals "a malformed whsec_ secret: exit 3" "$RC" 3
contains "names the hook" "$ERR" "billing"
not_contains "never prints the secret" "$ERR" "not-base64"
equals "malformed secret: nothing sent" "$(seen)" "[]"
check "malformed secret: nothing journaled" test ! -e "$TMP/state-bad-secret/journal.db"

# The repository's schemas/<stage>.json wins over the built-in one.
commit_file "$R" schemas/clusters_deployed.json '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["change_ticket"]}' "stricter schema"
expect_exit 4 "repo schema overrides the built-in" --repo "$R" --stage clusters_deployed --payload "$EX"
contains "repo schema named" "$ERR" "change_ticket"
commit_file "$R" schemas/nightly_report.json '{"type": "object", "required": ["day"]}' "custom stage"
commit_file "$R" hooks/n.yaml "version: 1
webhooks:
  - {name: nightly, events: [nightly_report], targets: [{url: \"$U/ok?nightly\"}]}
" "custom stage hook"
expect_exit 0 "custom stage with a repo schema" --repo "$R" --stage nightly_report --data '{"day": "2026-11-24"}'
expect_exit 4 "custom stage validates" --repo "$R" --stage nightly_report --data '{}'
expect_exit 0 "no hook matched: exit 0" --repo "$R" --stage application_deleted --payload "$WH_SOURCE_DIR/hooks/examples/application_deleted.json"
contains "says nothing matched" "$OUT" "no hooks matched"

# 100 targets that each take 1 s: about 1 s with room for all of them, two
# waves at the default concurrency of 64, never 100 s.
targets=$(for i in $(seq 100); do printf '      - url: "%s/sleep/1000?%d"\n' "$U" "$i"; done)
P="$TMP/slow"
new_repo "$P"
commit_file "$P" hooks/slow.yaml "version: 1
webhooks:
  - name: slow
    events: [clusters_deployed]
    timeout: 10s
    targets:
$targets
" "100 slow targets"
for c in 100 64; do
	start=$(date +%s%N)
	run_whrun --repo "$P" --stage clusters_deployed --payload "$EX" --concurrency "$c"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	equals "100 slow targets at concurrency $c delivered" "$RC $(printf '%s\n' "$OUT" | grep -c '^delivered')" "0 100"
	echo "# 100 targets x 1 s at concurrency $c: ${ms} ms"
	check "100 slow targets at concurrency $c finish far below 100 s (${ms} ms)" test "$ms" -lt 15000
done
done_testing
