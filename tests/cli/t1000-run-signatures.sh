#!/usr/bin/env bash
# The main job end to end: every signature scheme verified by the receivers'
# own libraries (standardwebhooks, svix, @octokit/webhooks-methods, Stripe's
# scheme), secret rotation, the body carrying the payload byte for byte,
# config.commit and webhook-id matching Git and the journal.
. "$(dirname "$0")/lib.sh"

export SW_OLD="whsec_$(head -c 24 /dev/urandom | base64)" SW_NEW="whsec_$(head -c 32 /dev/urandom | base64)"
export GH_OLD="gh-old-$RANDOM$RANDOM" GH_NEW="gh-new-$RANDOM$RANDOM" STRIPE_OLD="whsec_stripe$RANDOM" STRIPE_NEW="st-new-$RANDOM"
export HMAC_SECRET="hmac-$RANDOM" TOKEN="tok-$RANDOM$RANDOM"
python3 - "$TMP/verifier.json" <<'PY'
import json, os, sys
e = os.environ
json.dump({
    "/sw": {"scheme": "standard-webhooks", "secrets": [e["SW_OLD"]]},
    "/sw2": {"scheme": "standard-webhooks", "secrets": [e["SW_OLD"], e["SW_NEW"]]},
    "/gh": {"scheme": "github", "secrets": [e["GH_OLD"]]},
    "/gh2": {"scheme": "github", "secrets": [e["GH_OLD"], e["GH_NEW"]]},
    "/stripe": {"scheme": "stripe", "secrets": [e["STRIPE_OLD"]]},
    "/stripe2": {"scheme": "stripe", "secrets": [e["STRIPE_OLD"], e["STRIPE_NEW"]]},
    "/hmac": {"scheme": "hmac-hex", "header": "X-Signature", "secrets": [e["HMAC_SECRET"]]},
    "/none": {"scheme": "none", "secrets": []},
}, open(sys.argv[1], "w"))
PY
start_verifier "$TMP/verifier.json"
U="http://127.0.0.1:$VER_PORT"

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/all.yaml "version: 1
defaults:
  events: [clusters_deployed]
  timeout: 5s
webhooks:
  - name: sw
    signature: standard-webhooks
    secret: \${env:SW_OLD}
    targets: [{url: \"$U/sw\"}]
  - name: sw-rotation
    signature: standard-webhooks
    secret: [\"\${env:SW_OLD}\", \"\${env:SW_NEW}\"]
    targets: [{url: \"$U/sw2\", method: PUT}]
  - name: gh
    signature: github
    secret: \${env:GH_OLD}
    targets: [{url: \"$U/gh\"}]
  - name: gh-rotation
    signature: github
    secret: [\"\${env:GH_OLD}\", \"\${env:GH_NEW}\"]
    targets: [{url: \"$U/gh2\"}]
  - name: stripe
    signature: stripe
    secret: \${env:STRIPE_OLD}
    targets: [{url: \"$U/stripe\"}]
  - name: stripe-rotation
    signature: stripe
    secret: [\"\${env:STRIPE_OLD}\", \"\${env:STRIPE_NEW}\"]
    targets: [{url: \"$U/stripe2\", method: PATCH}]
  - name: hmac
    signature: hmac-hex
    signature_header: X-Signature
    secret: \${env:HMAC_SECRET}
    targets:
      - url: \"$U/hmac\"
        headers: {Authorization: \"Bearer \${env:TOKEN}\", X-Team: infra}
  - name: unsigned
    signature: none
    targets: [{url: \"$U/none\"}]
" "all schemes"
commit=$(git -C "$R" rev-parse HEAD)

# A payload with formatting jansson would not reproduce: 1.0, key order,
# escapes, spacing. data must carry it byte for byte.
payload="$TMP/payload.json"
python3 - "$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" "$payload" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
text = json.dumps(d, indent=1, ensure_ascii=False)
text = text.replace("{", '{"zz_first": 1.0, "unicode": "caf\\u00e9 \\ud83d\\ude80", ', 1)
open(sys.argv[2], "w").write("\n  " + text + "\n\n")
PY
expect_exit 0 "delivery to every scheme" --repo "$R" --stage clusters_deployed --payload "$payload"
equals "one request per hook" "$(json_eval 'len(rows)' "$VER_LOG")" 8
equals "every request verified by the receivers' libraries" \
	"$(json_eval '[r["path"] for r in rows if not r["ok"]]' "$VER_LOG")" "[]"
equals "rotation: each secret alone verifies (standardwebhooks, svix)" \
	"$(json_eval 'sorted(k for r in rows if r["path"] == "/sw2" for k, v in r["checks"].items() if v)' "$VER_LOG")" \
	"['standardwebhooks#0', 'standardwebhooks#1', 'svix#0', 'svix#1']"
equals "rotation: each secret alone verifies (octokit)" \
	"$(json_eval 'sorted(k for r in rows if r["path"] == "/gh2" for k, v in r["checks"].items() if v)' "$VER_LOG")" \
	"['octokit#0', 'octokit#1']"
equals "rotation: each secret alone verifies (stripe)" \
	"$(json_eval 'sorted(k for r in rows if r["path"] == "/stripe2" for k, v in r["checks"].items() if v)' "$VER_LOG")" \
	"['stripe#0', 'stripe#1']"
equals "methods as configured" \
	"$(json_eval 'sorted(r["method"] + r["path"] for r in rows if r["path"] in ("/sw2", "/stripe2"))' "$VER_LOG")" \
	"['PATCH/stripe2', 'PUT/sw2']"

want_data=$(python3 -c 'import sys; print(open(sys.argv[1]).read().strip())' "$payload")
python3 - "$VER_LOG" "$payload" "$commit" >"$TMP/body-check" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = open(sys.argv[2]).read().strip()
bad = []
for r in rows:
    body = r["body"]
    start = body.index('"data":') + len('"data":')
    data = body[start:-1]
    env = json.loads(body)
    if data != want:
        bad.append(r["path"] + ": data differs")
    if env["config"]["commit"] != sys.argv[3]:
        bad.append(r["path"] + ": commit " + env["config"]["commit"])
    if env["id"] != r["headers"]["webhook-id"]:
        bad.append(r["path"] + ": id differs from webhook-id")
    if env["type"] != "clusters_deployed" or not env["timestamp"].endswith("Z"):
        bad.append(r["path"] + ": type/timestamp")
    if r["headers"]["content-type"] != "application/json" or not r["headers"]["user-agent"].startswith("whrun/"):
        bad.append(r["path"] + ": content-type/user-agent")
print(bad)
PY
equals "data byte for byte, config.commit, id, type, headers" "$(cat "$TMP/body-check")" "[]"
equals "header references resolved at send time" \
	"$(json_eval '[r["headers"].get("authorization") for r in rows if r["path"] == "/hmac"][0] == "Bearer " + __import__("os").environ["TOKEN"]' "$VER_LOG")" "True"

run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/deliveries.json"
equals "journal: 8 deliveries, all delivered" \
	"$(json_eval 'sorted(set((x["status"], x["config_commit"] == "'"$commit"'") for x in d)) + [len(d)]' "$TMP/deliveries.json")" \
	"[('delivered', True), 8]"
equals "webhook-id is the journal's message id" \
	"$(python3 -c '
import json, sys
journal = {x["hook"]: x["message_id"] for x in json.load(open(sys.argv[1]))}
rows = [json.loads(l) for l in open(sys.argv[2])]
paths = {"/sw": "sw", "/sw2": "sw-rotation", "/gh": "gh", "/gh2": "gh-rotation", "/stripe": "stripe", "/stripe2": "stripe-rotation", "/hmac": "hmac", "/none": "unsigned"}
print(all(journal[paths[r["path"]]] == r["headers"]["webhook-id"] for r in rows))' "$TMP/deliveries.json" "$VER_LOG")" "True"

# Secrets never reach the journal.
db="$WHRUN_STATE_DIR/journal.db"
check "journal file is mode 0600" test "$(stat -c %a "$db")" = 600
for s in "$SW_OLD" "$GH_OLD" "$STRIPE_NEW" "$HMAC_SECRET" "$TOKEN"; do
	if grep -aqF "$s" "$db" "$db-wal" 2>/dev/null; then fail "a secret is stored in the journal"; else pass; fi
done
id=$(json_eval '[x["id"] for x in d if x["hook"] == "hmac"][0]' "$TMP/deliveries.json")
run_whrun show "$id"
not_contains "show masks the bearer token" "$OUT" "$TOKEN"
contains "show prints the request" "$OUT" "X-Team"

# A verifier holding a wrong secret refuses: the check can fail.
export SW_OLD="whsec_$(head -c 24 /dev/urandom | base64)"
run_whrun --repo "$R" --stage clusters_deployed --payload "$payload"
equals "a wrong secret is refused by the receiver (exit 1)" "$RC" 1
contains "the refusal is reported" "$OUT" "HTTP 401"
done_testing
