#!/usr/bin/env bash
# `whrun resend` and `whrun ping`, checked by the npm standardwebhooks and
# svix libraries (tests/node/verifying-receiver.js): a resend carries the
# same webhook-id and body with a fresh timestamp and signature, for
# delivered and failed deliveries alike, with the secret resolved now; a
# ping is a signed `ping` envelope naming the hook and the config commit,
# sent to every target even of a disabled hook, and journaled.
. "$(dirname "$0")/lib.sh"

DB="$WHRUN_STATE_DIR/journal.db"

export SW="whsec_$(head -c 24 /dev/urandom | base64)"
python3 - "$TMP/verifier.json" <<'PY'
import json, os, sys
json.dump({"/sw": {"scheme": "standard-webhooks", "secrets": [os.environ["SW"]]},
           "/sw-b": {"scheme": "standard-webhooks", "secrets": [os.environ["SW"]]}},
          open(sys.argv[1], "w"))
PY
start_verifier "$TMP/verifier.json"
U="http://127.0.0.1:$VER_PORT"
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
defaults:
  events: [clusters_deployed]
  signature: standard-webhooks
  secret: \${env:SW}
  retry: {attempts: 1}
webhooks:
  - name: sw
    targets: [{url: \"$U/sw\"}, {url: \"$U/sw-b\"}]
  - name: sleeping
    enabled: false
    targets: [{url: \"$U/sw\"}]
" "hooks"
commit=$(git -C "$R" rev-parse HEAD)
PAYLOAD="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"

expect_exit 0 "main job" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
msg=$(sql "SELECT id FROM messages")
first=$(sql "SELECT min(id) FROM deliveries")
sleep 1.1 # a new webhook-timestamp (seconds)

# resend one delivered delivery
expect_exit 0 "resend dlv_N (delivered)" resend "dlv_$first" --repo "$R"
contains "resend: summary line" "$OUT" "delivered sw -> POST $U/sw"
python3 - "$VER_LOG" "$msg" >"$TMP/check" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sw = [r for r in rows if r["path"] == "/sw"]
bad = []
if len(sw) != 2: bad.append("want 2 requests to /sw, got %d" % len(sw))
if not all(r["ok"] and r["checks"].get("standardwebhooks#0") and r["checks"].get("svix#0") for r in sw): bad.append("not verified")
if len({r["headers"]["webhook-id"] for r in sw} | {sys.argv[2]}) != 1: bad.append("webhook-id differs")
if len({r["headers"]["webhook-timestamp"] for r in sw}) != 2: bad.append("same timestamp")
if len({r["headers"]["webhook-signature"] for r in sw}) != 2: bad.append("same signature")
if len({r["body"] for r in sw}) != 1: bad.append("body differs")
print(bad)
PY
equals "resend: same webhook-id and body, fresh timestamp and signature, verified" "$(cat "$TMP/check")" "[]"
equals "resend: a new delivery row of the same message" \
	"$(sql "SELECT count(*), count(DISTINCT message_id), sum(status = 'delivered') FROM deliveries")" "3|1|3"
expect_exit 0 "show the resent delivery" show "dlv_$((first + 2))"
contains "show: webhook-id" "$OUT" "$msg"

# resend a whole message: one new delivery per target (not per earlier row)
expect_exit 0 "resend msg_..." resend "$msg" --repo "$R"
equals "resend msg: two lines" "$(printf '%s\n' "$OUT" | grep -c '^delivered ')" 2
equals "resend msg: 5 deliveries" "$(sql "SELECT count(*) FROM deliveries")" 5
expect_exit 0 "resend --dry-run sends nothing" resend "$msg" --repo "$R" --dry-run
contains "dry run" "$OUT" "# dry run: resend $msg (2 requests)"
equals "dry run: receiver saw 5 (2 + 1 + 2)" "$(json_eval 'len(rows)' "$VER_LOG")" 5

# A delivery that failed (the secret was wrong), resent once it is fixed:
# the secret is resolved at resend time.
GOOD=$SW
export SW="whsec_$(head -c 24 /dev/urandom | base64)"
expect_exit 1 "wrong secret: failed (401)" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "failed" "$OUT" "HTTP 401"
bad=$(sql "SELECT max(id) FROM deliveries WHERE status = 'failed'")
export SW=$GOOD
expect_exit 0 "resend a failed delivery" resend "dlv_$bad" --repo "$R"
equals "verified now" "$(json_eval '[r["ok"] for r in rows][-1]' "$VER_LOG")" "True"
expect_exit 3 "resend an unknown id" resend dlv_999999 --repo "$R"
contains "unknown id: says so" "$ERR" "no delivery or message 'dlv_999999'"

# ping
n=$(json_eval 'len(rows)' "$VER_LOG")
expect_exit 0 "ping" ping sw --repo "$R"
equals "ping: one line per target" "$(printf '%s\n' "$OUT" | grep -c '^delivered sw')" 2
python3 - "$VER_LOG" "$n" "$commit" >"$TMP/ping" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
bad = []
if sorted(r["path"] for r in rows) != ["/sw", "/sw-b"]: bad.append("paths")
for r in rows:
    env = json.loads(r["body"])
    if not r["ok"]: bad.append("not verified")
    if env["type"] != "ping" or env["hook"] != "sw" or env["config"]["commit"] != sys.argv[3]: bad.append("envelope")
    if env["data"].get("hook") != "sw" or env["data"].get("commit") != sys.argv[3]: bad.append("data")
    if env["id"] != r["headers"]["webhook-id"]: bad.append("id")
print(bad)
PY
equals "ping: verified, type ping, data names hook and commit" "$(cat "$TMP/ping")" "[]"
equals "ping: journaled as a message of type ping" \
	"$(sql "SELECT m.type, count(*), sum(d.status = 'delivered') FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.type = 'ping'")" "ping|2|2"
expect_exit 0 "ping a disabled hook" ping sleeping --repo "$R"
contains "disabled: a note on stderr" "$ERR" "hook sleeping is disabled"
contains "disabled: pinged anyway" "$OUT" "delivered sleeping"
expect_exit 3 "ping an unknown hook" ping nope --repo "$R"
contains "unknown hook: says so" "$ERR" "no hook 'nope'"
expect_exit 0 "ping --dry-run" ping sw --repo "$R" --dry-run
contains "ping dry run: masked signature" "$OUT" "webhook-signature: ***"
unset SW
expect_exit 3 "ping without its secret: exit 3" ping sw --repo "$R"
contains "ping without its secret: names it" "$ERR" "SW"
done_testing
