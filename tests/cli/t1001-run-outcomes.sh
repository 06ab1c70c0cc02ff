#!/usr/bin/env bash
# The main job against receivers that misbehave: each outcome classified and
# retried (or not) as SPEC section 5 says, the run bounded by --max-time,
# and the journal telling the truth about each delivery.
. "$(dirname "$0")/lib.sh"

start_receiver
U="http://127.0.0.1:$RECV_PORT"
free_port=$(free_port)

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/outcomes.yaml "version: 1
defaults:
  events: [clusters_deployed]
  timeout: 2s
  retry: {attempts: 3, backoff: 100ms, max_backoff: 2s}
webhooks:
  - {name: flaky, targets: [{url: \"$U/flaky/a/1/500\"}]}
  - {name: throttled, targets: [{url: \"$U/retry-after/b/1\"}]}
  - {name: missing, targets: [{url: \"$U/status/404\"}]}
  - {name: moved, targets: [{url: \"$U/status/301\"}]}
  - {name: gone, targets: [{url: \"$U/status/410\"}]}
  - {name: hanging, timeout: 500ms, retry: {attempts: 2}, targets: [{url: \"$U/sleep/5000\"}]}
  - {name: resetting, targets: [{url: \"$U/reset\"}]}
  - {name: refused, targets: [{url: \"http://127.0.0.1:$free_port/\"}]}
  - {name: optional, required: false, targets: [{url: \"$U/status/500\"}]}
" "misbehaving receivers"

start=$(date +%s%N)
run_whrun --repo "$R" --stage clusters_deployed --payload "$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" --max-time 20
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
equals "a required delivery failed: exit 1" "$RC" 1
echo "# run took ${elapsed} ms"
check "the run ends within --max-time" test "$elapsed" -lt 20000

run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d.json"
state() { json_eval "[(x['status'], x['attempts'], x['http_status']) for x in d if x['hook'] == '$1'][0]" "$TMP/d.json"; }
equals "500 then 200: retried, delivered on attempt 2" "$(state flaky)" "('delivered', 2, 200)"
equals "429 with Retry-After: waited, delivered" "$(state throttled)" "('delivered', 2, 200)"
equals "404: not retried, failed" "$(state missing)" "('failed', 1, 404)"
equals "301: not followed, not retried, failed" "$(state moved)" "('failed', 1, 301)"
equals "410: gone, not retried" "$(state gone)" "('gone', 1, 410)"
equals "hanging past the timeout: retried, left pending" "$(state hanging)" "('pending', 2, None)"
equals "500 on an optional hook: retried, pending" "$(state optional)" "('pending', 3, 500)"
equals "connection reset: retried, left pending" "$(json_eval "[(x['status'], x['attempts'] >= 3) for x in d if x['hook'] == 'resetting'][0]" "$TMP/d.json")" "('pending', True)"
equals "nobody listening: retried, left pending" "$(state refused)" "('pending', 3, None)"
equals "pending deliveries have a next attempt time" \
	"$(json_eval "all(x['next_attempt_at'] for x in d if x['status'] == 'pending')" "$TMP/d.json")" "True"
contains "summary names the timeout" "$OUT$(cat "$TMP/out")" "hanging"

# What the receiver saw agrees with the journal.
equals "receiver: 301 and 404 asked once each" \
	"$(json_eval "sorted(r['path'] for r in rows if r['path'] in ('/status/301', '/status/404'))" "$RECV_LOG")" \
	"['/status/301', '/status/404']"
equals "receiver: throttled asked twice" "$(json_eval "len([r for r in rows if r['path'] == '/retry-after/b/1'])" "$RECV_LOG")" 2
gap=$(python3 - "$RECV_LOG" <<'PY'
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if '"/retry-after/b/1"' in l]
print(round(t[1] - t[0], 1))
PY
)
check "Retry-After: 1 honoured (gap $gap s)" python3 -c "import sys; sys.exit(0 if float('$gap') >= 0.9 else 1)"

id=$(json_eval "[x['id'] for x in d if x['hook'] == 'moved'][0]" "$TMP/d.json")
run_whrun show "$id" --output json
printf '%s' "$OUT" >"$TMP/show.json"
equals "show: the 301's Location is journaled, nothing followed" \
	"$(json_eval "d['attempts'][0]['response_headers'].get('Location')" "$TMP/show.json")" "/ok"
id=$(json_eval "[x['id'] for x in d if x['hook'] == 'refused'][0]" "$TMP/d.json")
run_whrun show "$id" --output json
printf '%s' "$OUT" >"$TMP/show.json"
equals "show: every attempt with its error" \
	"$(json_eval "[(a['number'], a['outcome'], bool(a['error'])) for a in d['attempts']]" "$TMP/show.json")" \
	"[(1, 'retry', True), (2, 'retry', True), (3, 'retry', True)]"

# --max-time bounds the whole run even when every attempt would hang.
commit_file "$R" hooks/outcomes.yaml "version: 1
webhooks:
  - name: slow
    events: [clusters_deployed]
    timeout: 10s
    retry: {attempts: 5, backoff: 1s}
    targets: [{url: \"$U/sleep/8000\"}]
" "slow only"
start=$(date +%s%N)
run_whrun --repo "$R" --stage clusters_deployed --payload "$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" --max-time 2
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
equals "max-time: exit 1 (pending)" "$RC" 1
echo "# --max-time 2 run took ${elapsed} ms"
check "max-time 2 s: the run ends by about 2 s (${elapsed} ms)" test "$elapsed" -lt 5000
contains "max-time: delivery reported pending" "$OUT" "pending"
done_testing
