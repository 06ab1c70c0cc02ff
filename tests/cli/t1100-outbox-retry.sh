#!/usr/bin/env bash
# `whrun retry`: a receiver down for the whole run leaves the deliveries
# pending (exit 1); once it is up, `retry --all` delivers them with the same
# webhook-id and the exact journaled body (exit 0). The outbox schedule is
# followed (nothing due right after a run; `failed` once exhausted), --hook
# and --limit choose, a 410 is `gone` and later messages to that target
# warn, and a delivery whose request cannot be rebuilt stays pending (exit
# 3) without holding its lease.
. "$(dirname "$0")/lib.sh"

DB="$WHRUN_STATE_DIR/journal.db"

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
export TOKEN="tok-$RANDOM"
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
defaults:
  events: [clusters_deployed]
  timeout: 2s
  retry: {attempts: 2, backoff: 10ms}
webhooks:
  - name: alpha
    targets:
      - url: \"$U/ok?t=a1\"
        headers: {Authorization: \"Bearer \${env:TOKEN}\"}
      - url: \"$U/ok?t=a2\"
  - name: beta
    targets: [{url: \"$U/ok?t=b1\"}]
" "hooks"
PAYLOAD="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"

# 1. The receiver is down for the whole run.
expect_exit 1 "receiver down: exit 1" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "receiver down: pending" "$OUT" "pending"
# right away (the first step of the schedule is 5 s)
expect_exit 0 "retry right away: nothing due yet" retry --repo "$R"
contains "nothing due: says when" "$OUT" "nothing due in the outbox; the next pending delivery is due at"
equals "3 pending, 2 attempts each, deferred once, no lease left" \
	"$(sql "SELECT count(*), min(attempts), max(attempts), min(deferrals), count(lease_owner) FROM deliveries WHERE status = 'pending'")" "3|2|2|1|0"
equals "attempt rows match" "$(sql "SELECT count(*) FROM attempts")" 6
equals "next attempt about 5 s later (schedule step 1)" \
	"$(sql "SELECT min(next_attempt_at - updated_at) >= 4900 AND max(next_attempt_at - updated_at) <= 5100 FROM deliveries")" 1

expect_exit 1 "retry --all, receiver still down: exit 1" retry --all --repo "$R"
equals "one line per delivery" "$(printf '%s\n' "$OUT" | grep -c '^pending ')" 3
equals "retry makes one try per due time (3 attempts, deferred twice)" \
	"$(sql "SELECT count(*), min(attempts), max(deferrals) FROM deliveries WHERE status = 'pending'")" "3|3|2"

# 2. The receiver comes up on that port.
start_receiver --port "$PORT"
expect_exit 0 "--hook and --limit: one delivery" retry --all --hook alpha --limit 1 --repo "$R"
equals "--limit 1: one line" "$(printf '%s\n' "$OUT" | grep -c '^delivered ')" 1
contains "--hook alpha" "$OUT" "delivered alpha"
expect_exit 0 "receiver up: retry --all delivers the rest" retry --all --repo "$R"
equals "the rest: two lines" "$(printf '%s\n' "$OUT" | grep -c '^delivered ')" 2
equals "journal: 3 delivered, no lease, next_attempt_at cleared" \
	"$(sql "SELECT count(*), count(lease_owner), count(next_attempt_at) FROM deliveries WHERE status = 'delivered'")" "3|0|0"
equals "receiver: 3 requests" "$(json_eval 'len(rows)' "$RECV_LOG")" 3
python3 - "$RECV_LOG" "$DB" >"$TMP/same" <<'PY'
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
db = sqlite3.connect(sys.argv[2])
bad = []
for r in rows:
    t = r["path"].split("t=")[1]
    hook = "alpha" if t.startswith("a") else "beta"
    mid, body = db.execute("SELECT id, body FROM messages WHERE hook = ?", (hook,)).fetchone()
    if r["headers"]["webhook-id"] != mid:
        bad.append(t + ": webhook-id")
    if r["body"].encode() != bytes(body):
        bad.append(t + ": body differs from the journal's")
    if t == "a1" and r["headers"].get("authorization") != "Bearer " + __import__("os").environ["TOKEN"]:
        bad.append(t + ": header reference not resolved")
print(bad)
PY
equals "same webhook-id, exact body, headers resolved now" "$(cat "$TMP/same")" "[]"
expect_exit 0 "nothing pending: exit 0" retry --all --repo "$R"
contains "outbox empty" "$OUT" "the outbox is empty"

# 3. The schedule runs out: failed.
PORT2=$(free_port)
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: doomed
    events: [clusters_deployed]
    retry: {attempts: 1}
    targets: [{url: \"http://127.0.0.1:$PORT2/x\"}]
" "doomed"
expect_exit 1 "doomed: pending" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
id=$(sql "SELECT id FROM deliveries WHERE hook = 'doomed'")
for step in 2 3 4 5 6 7; do
	run_whrun retry --all --repo "$R"
done
equals "after 7 deferrals: still pending" "$(sql "SELECT status, deferrals FROM deliveries WHERE id = $id")" "pending|7"
expect_exit 1 "schedule exhausted: exit 1" retry --all --repo "$R"
contains "schedule exhausted: failed" "$OUT" "failed    doomed"
equals "failed, 8 attempts, nothing due" "$(sql "SELECT status, attempts, count(*) FROM deliveries d JOIN attempts a ON a.delivery_id = d.id WHERE d.id = $id")" "failed|8|8"

# 4. 410: gone, and the next message to it warns.
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: gone
    events: [clusters_deployed]
    targets: [{url: \"http://127.0.0.1:$RECV_PORT/status/410\"}, {url: \"http://127.0.0.1:$RECV_PORT/ok?t=fine\"}]
" "gone"
expect_exit 1 "410: exit 1 (required)" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "410: gone" "$OUT" "gone      gone"
first=$(sql "SELECT id FROM deliveries WHERE hook = 'gone' AND status = 'gone'")
n_before=$(json_eval 'len(rows)' "$RECV_LOG")
expect_exit 1 "410 again" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
equals "still attempted" "$(json_eval 'len(rows)' "$RECV_LOG")" $((n_before + 2))
contains "the summary warns, naming the earlier delivery" "$OUT" "is gone (410), as it did to dlv_$first"
second=$(sql "SELECT max(id) FROM deliveries WHERE hook = 'gone' AND status = 'gone'")
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" --output json
equals "json: gone_before names the latest" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted(str(x.get("gone_before")) for x in json.load(sys.stdin)))')" \
	"['None', 'dlv_$second']"
# A gone target that answers again (the first request gets 410, then 200):
# attempted, delivered, and the summary still says it was gone.
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: revived
    events: [clusters_deployed]
    targets: [{url: \"http://127.0.0.1:$RECV_PORT/flaky/rv/1/410\"}]
" "revived"
expect_exit 1 "revived: 410 first" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
expect_exit 0 "revived: then delivered" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "revived: warned all the same" "$OUT" "answered 410 Gone to dlv_"
contains "revived: says it accepted this one" "$OUT" "it accepted this one"

# 5. A request that cannot be rebuilt: the commit is not in --repo, or the
# secret is not there now. Not sent, stays pending, lease given back, exit 3.
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: signed
    events: [clusters_deployed]
    secret: \${env:SIGNED_SECRET}
    retry: {attempts: 1}
    targets: [{url: \"http://127.0.0.1:$PORT2/signed\"}]
" "signed"
export SIGNED_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
expect_exit 1 "signed: pending" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
sid=$(sql "SELECT id FROM deliveries WHERE hook = 'signed'")
new_repo "$TMP/other"
commit_file "$TMP/other" README "x" "other"
expect_exit 3 "another repository: exit 3" retry --all --repo "$TMP/other"
contains "names the delivery and the commit" "$ERR" "dlv_$sid (signed, http://127.0.0.1:$PORT2/signed): not sent: the definitions at commit"
unset SIGNED_SECRET
expect_exit 3 "secret gone: exit 3" retry --all --repo "$R"
contains "names the variable" "$ERR" "SIGNED_SECRET"
equals "not attempted, still pending, no lease" \
	"$(sql "SELECT status, attempts, count(lease_owner) FROM deliveries WHERE id = $sid")" "pending|1|0"

# 6. Usage.
expect_exit 2 "--watch --all" retry --watch --all --repo "$R"
expect_exit 2 "--dry-run" retry --dry-run --repo "$R"
expect_exit 0 "no journal at all: nothing due" retry --state "$TMP/none" --repo "$R"
check "no journal created by a retry with nothing to do" test ! -e "$TMP/none"
done_testing
