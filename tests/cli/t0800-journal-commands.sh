#!/usr/bin/env bash
# The journal as users read it: `whrun deliveries` and `whrun show`, over
# real journals written through the library by tests/tools/journal_seed.
. "$(dirname "$0")/lib.sh"

SEED="${WH_BUILD_DIR:?}/tests/journal_seed"
S="$WHRUN_STATE_DIR"

# json EXPR...: evaluates Python expressions over $OUT parsed as `d`, in one
# interpreter (each start costs), leaving one printed result per line in J[].
json() {
	local prog='import json, sys
d = json.load(sys.stdin)
' e
	for e in "$@"; do prog+="print($e)"$'\n'; done
	mapfile -t J < <(printf '%s' "$OUT" | python3 -c "$prog" 2>&1)
}

# No journal yet: nothing is created, nothing fails.
expect_exit 0 "deliveries without a journal" deliveries
equals "says so" "$OUT" "no deliveries yet"
run_whrun deliveries --output json
equals "json: empty array" "$OUT" "[]"
expect_exit 3 "show without a journal" show dlv_1
contains "show: not found" "$ERR" "no delivery or message 'dlv_1'"
check "the state directory was not created" test ! -e "$S"

# Seed: alpha has two targets (one delivered, one retried to the outbox),
# beta one target that is gone, gamma a large response body.
seed() { "$SEED" "$S" >"$TMP/seed.out" 2>"$TMP/seed.err"; }
check "seed" seed <<'EOF'
msg alpha clusters_deployed http://127.0.0.1:9/a1 http://127.0.0.1:9/a2
attempt 1 delivered 200 1
attempt 2 retry 503 0 server said no
attempt 2 retry 503 1 server said no
msg beta cluster_created http://127.0.0.1:9/b
attempt 3 gone 410 1
bodysize 70000
msg gamma clusters_deployed http://127.0.0.1:9/g
attempt 4 retry 500 0
EOF
read -r MSG_A _ < <(sed -n 1p "$TMP/seed.out")
check "message id printed" test "${#MSG_A}" = 30

# Modes: the directory 0700, the database 0600.
equals "state dir 0700" "$(stat -c %a "$S")" 700
equals "journal 0600" "$(stat -c %a "$S/journal.db")" 600
# Secrets never reach the file: the seed sends "Authorization: Bearer
# seed-secret-token" and a webhook-signature.
check "no secret in the journal files" bash -c "! grep -q seed-secret-token '$S'/journal.db*"
check "no signature in the journal files" bash -c "! grep -q c2lnbmF0dXJl '$S'/journal.db*"

# deliveries: text table, newest first, aligned columns.
expect_exit 0 "deliveries" deliveries
header=$(printf '%s\n' "$OUT" | sed -n 1p)
contains "header" "$header" "ID     TIME"
equals "header columns" "$(echo $header)" "ID TIME HOOK STAGE STATUS ATTEMPTS HTTP URL"
equals "rows, newest first" "$(printf '%s\n' "$OUT" | awk 'NR > 1 {print $1, $3, $5}' | tr '\n' ';')" \
	"dlv_4 gamma pending;dlv_3 beta gone;dlv_2 alpha pending;dlv_1 alpha delivered;"
col=$(printf '%s\n' "$header" | awk '{print index($0, "STATUS")}')
equals "status column aligned" "$(printf '%s\n' "$OUT" | awk -v c="$col" 'NR > 1 {printf "%s;", substr($0, c, 4)}')" \
	"pend;gone;pend;deli;"
# dlv_4's lease was taken by journal_seed, which has exited: a dead
# owner's lease is over at once (retry takes it), so it is not in flight
row4=$(printf '%s\n' "$OUT" | grep dlv_4)
contains "a dead owner's delivery is pending" "$row4" "pending"
case "$row4" in *"in flight"*) check "a dead owner's delivery is not in flight" false ;; *) check "a dead owner's delivery is not in flight" true ;; esac
contains "http status and url" "$(printf '%s\n' "$OUT" | grep dlv_3)" "410   http://127.0.0.1:9/b"

# deliveries: json.
run_whrun deliveries --output json
json '[x["id"] for x in d]' 'sorted(d[0].keys())' \
	'[(x["status"], x["attempts"], x["http_status"], x["last_error"], x["message_id"] == "'"$MSG_A"'", x["in_flight"]) for x in d if x["id"] == "dlv_2"][0]' \
	'all(__import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", x[t] or "") for x in d for t in ("created_at", "updated_at"))' \
	'[x["next_attempt_at"] is None for x in d]' 'd[0]["config_commit"]'
equals "json ids" "${J[0]}" "['dlv_4', 'dlv_3', 'dlv_2', 'dlv_1']"
equals "json fields" "${J[1]}" \
	"['attempts', 'config_commit', 'created_at', 'hook', 'http_status', 'id', 'in_flight', 'kind', 'last_error', 'message_id', 'method', 'next_attempt_at', 'stage', 'status', 'target_index', 'updated_at', 'url']"
equals "pending alpha delivery" "${J[2]}" "('pending', 2, 503, 'server said no', True, False)"
equals "RFC 3339 UTC times" "${J[3]}" "True"
equals "next attempt only while pending" "${J[4]}" "[False, True, False, True]"
equals "config commit" "${J[5]}" "0123456789abcdef0123456789abcdef01234567"

# Filters.
ids() { run_whrun deliveries "$@" --output json; printf '%s' "$OUT" | tr -d ' \n' | grep -o '"id":"dlv_[0-9]*"' | cut -d'"' -f4 | tr '\n' ' '; }
equals "--hook" "$(ids --hook alpha)" "dlv_2 dlv_1 "
equals "--status" "$(ids --status gone)" "dlv_3 "
equals "--stage" "$(ids --stage cluster_created)" "dlv_3 "
equals "--limit with --status" "$(ids --limit 1 --status pending)" "dlv_4 "
equals "--hook and --stage" "$(ids --hook alpha --stage cluster_created)" ""
run_whrun deliveries --hook nobody
equals "no match" "$OUT" "no matching deliveries"
expect_exit 2 "bad --status" deliveries --status sent
contains "bad --status says what is allowed" "$ERR" "pending, delivered, failed or gone"
expect_exit 2 "show takes one id" show
expect_exit 2 "deliveries takes no argument" deliveries extra

# show: one delivery, text.
expect_exit 0 "show dlv_2" show dlv_2
contains "delivery header" "$OUT" "delivery dlv_2"
contains "message id" "$OUT" "message:  $MSG_A (clusters_deployed, kind standard)"
contains "request line" "$OUT" "POST http://127.0.0.1:9/a2"
contains "request header" "$OUT" "X-Team: infra"
contains "Authorization redacted" "$OUT" "Authorization: [redacted]"
not_contains "no secret" "$OUT" "seed-secret-token"
contains "body as sent" "$OUT" "{\"id\":\"$MSG_A\",\"type\":\"clusters_deployed\""
contains "attempt 1" "$OUT" "attempt 1  "
contains "attempt 2 status" "$OUT" "HTTP 503  retry"
contains "attempt error" "$OUT" "error: server said no"
contains "response header" "$OUT" "X-Request-Id: req-42"
contains "response body" "$OUT" "ok from target"
contains "next attempt" "$OUT" "pending (next attempt 20"
expect_exit 0 "show by number" show 2
contains "same delivery" "$OUT" "delivery dlv_2"

# show: a message id shows each of its deliveries.
expect_exit 0 "show message" show "$MSG_A"
equals "both deliveries" "$(printf '%s\n' "$OUT" | grep -c '^delivery dlv_')" 2

# show: json.
run_whrun show dlv_2 --output json
json '(d["id"], d["status"], len(d["attempts"]))' \
	'(d["request"]["method"], d["request"]["url"], d["request"]["headers"]["Authorization"], d["request"]["headers"]["webhook-signature"])' \
	'json.loads(d["request"]["body"])["id"] == d["message"]["envelope"]["id"] == d["message_id"]' \
	'[(a["number"], a["http_status"], a["outcome"], a["error"], a["response_headers"]["X-Request-Id"], a["response_body"]) for a in d["attempts"]][1]'
equals "json object" "${J[0]}" "('dlv_2', 'pending', 2)"
equals "request" "${J[1]}" "('POST', 'http://127.0.0.1:9/a2', '[redacted]', '[redacted]')"
equals "body is the envelope" "${J[2]}" "True"
equals "attempt fields" "${J[3]}" "(2, 503, 'retry', 'server said no', 'req-42', 'ok from target')"
run_whrun show "$MSG_A" --output json
json '[x["target_index"] for x in d]'
equals "message id: an array" "${J[0]}" "[0, 1]"
run_whrun show dlv_4 --output json
json '(len(d["attempts"][0]["response_body"]), d["attempts"][0]["response_truncated"])'
equals "capped response body" "${J[0]}" "(65536, True)"

expect_exit 3 "show unknown" show dlv_99
contains "unknown id named" "$ERR" "no delivery or message 'dlv_99'"
expect_exit 3 "show garbage" show "'; drop table"
contains "id forms explained" "$ERR" "neither a delivery id (dlv_N) nor a message id"

# Where the journal lives: --state wins over the environment, then
# $XDG_STATE_HOME/whrun, then ~/.local/state/whrun.
expect_exit 0 "--state" deliveries --state "$TMP/elsewhere"
equals "--state is read" "$OUT" "no deliveries yet"
saved_state=$WHRUN_STATE_DIR
unset WHRUN_STATE_DIR
export XDG_STATE_HOME="$TMP/xdg"
printf 'msg xdg clusters_deployed http://127.0.0.1:9/x\n' | "$SEED" "$XDG_STATE_HOME/whrun" >/dev/null
run_whrun deliveries
contains "XDG_STATE_HOME/whrun" "$OUT" "xdg "
unset XDG_STATE_HOME
printf 'msg home clusters_deployed http://127.0.0.1:9/h\n' | "$SEED" "$HOME/.local/state/whrun" >/dev/null
run_whrun deliveries
contains "~/.local/state/whrun" "$OUT" "home "
equals "created 0700 to the top" "$(stat -c %a "$HOME/.local" "$HOME/.local/state" "$HOME/.local/state/whrun" | tr '\n' ' ')" "700 700 700 "
export WHRUN_STATE_DIR=$saved_state

# In flight: a run still waiting on its receiver holds the lease.
start_receiver
R="$TMP/live-repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: slow
    events: [clusters_deployed]
    targets: [{url: \"http://127.0.0.1:$RECV_PORT/sleep/3000\"}]
" "slow hook"
export WHRUN_STATE_DIR="$TMP/live-state"
"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" >/dev/null 2>&1 &
live=$!
for _ in $(seq 100); do [ -s "$RECV_LOG" ] && break; sleep 0.05; done
run_whrun deliveries
contains "a live run's delivery is in flight" "$(printf '%s\n' "$OUT" | grep dlv_1)" "pending (in flight)"
run_whrun show dlv_1
contains "show names the live owner" "$OUT" "(in flight, process $live-"
run_whrun deliveries --output json
equals "json: in_flight" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["in_flight"])')" "True"
wait "$live"
run_whrun deliveries
contains "delivered once the run is over" "$(printf '%s\n' "$OUT" | grep dlv_1)" "delivered"
export WHRUN_STATE_DIR=$saved_state

done_testing
