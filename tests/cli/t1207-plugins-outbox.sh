#!/usr/bin/env bash
# Plugin deliveries through the outbox like HTTP ones: a plugin that keeps
# failing leaves its delivery pending; once it works, `whrun retry --all`
# delivers it with the same message id; `resend` and `show` work on it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

STATE_FLAG="$TMP/plugin-ok"
plugin spool "$ANY_SCHEMA" "
id=\$(printf '%s' \"\$req\" | sed -n 's/.*\"message_id\":\"\\(msg_[0-9A-Z]*\\)\".*/\\1/p')
if [ -e '$STATE_FLAG' ]; then
	echo \"\$id\" >>'$TMP/spooled'
	echo '{\"status\": \"delivered\", \"code\": 0, \"detail\": \"spooled\"}'
else
	echo '{\"status\": \"retry\", \"detail\": \"spool not mounted\"}'
fi"

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/p.yaml 'version: 1
webhooks:
  - name: spool
    events: [clusters_deployed]
    kind: spool
    retry: {attempts: 2, backoff: 10ms}
    targets: [{url: "spool://a"}]
' "plugin hook"

# --dry-run shows what the plugin would read on stdin, secrets masked and
# the target's references as written, and runs nothing
commit_file "$R" hooks/q.yaml 'version: 1
webhooks:
  - name: spool-signed
    events: [clusters_rollbacked]
    kind: spool
    secret: ${env:T1207_SECRET}
    targets: [{url: "spool://b", token: "${env:T1207_TOKEN}"}]
' "signed plugin hook"
export T1207_SECRET=hush-secret-value T1207_TOKEN=hush-token-value
expect_exit 0 "dry run of a plugin target" --repo "$R" --stage clusters_rollbacked --payload "$WH_SOURCE_DIR/hooks/examples/clusters_rollbacked.json" --dry-run
contains "dry run names the plugin command" "$OUT" "whrun-kind-spool deliver < request"
printf '%s' "$OUT" | sed -n '/^{/,$p' | head -n 1 >"$TMP/dry.json"
equals "dry run request: secrets masked, target fields as written, attempt 1" \
	"$(json_eval "(d['secrets'], d['target']['token'], d['attempt'], d['message_id'][:4])" "$TMP/dry.json")" \
	"(['***'], '\${env:T1207_TOKEN}', 1, 'msg_')"
case "$OUT" in *hush-*) check "dry run shows no secret value" false ;; *) check "dry run shows no secret value" true ;; esac
check "dry run ran no plugin" test ! -e "$TMP/spooled"

expect_exit 1 "plugin retrying: the run leaves it pending" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d1.json"
equals "pending after two in-run attempts" "$(json_eval "[(x['status'], x['attempts'], x['kind']) for x in d]" "$TMP/d1.json")" "[('pending', 2, 'spool')]"
msg=$(json_eval "d[0]['message_id']" "$TMP/d1.json")
id=$(json_eval "d[0]['id']" "$TMP/d1.json")

touch "$STATE_FLAG"
expect_exit 0 "retry --all delivers it" --repo "$R" retry --all
run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d2.json"
equals "delivered on the third attempt" "$(json_eval "[(x['status'], x['attempts']) for x in d]" "$TMP/d2.json")" "[('delivered', 3)]"
equals "the plugin got the same message id" "$(cat "$TMP/spooled")" "$msg"

run_whrun show "$id" --output json
printf '%s' "$OUT" >"$TMP/show.json"
equals "show lists every attempt with the plugin's detail" \
	"$(json_eval "[(a['outcome'], 'spool' in (a['response_body'] or '')) for a in d['attempts']]" "$TMP/show.json")" \
	"[('retry', True), ('retry', True), ('delivered', True)]"

run_whrun show "$id"
contains "show: the request is the plugin's, not an HTTP POST" "$OUT" "whrun-kind-spool deliver (plugin kind"
case "$OUT" in *"POST "*) check "show prints no POST line for a plugin" false ;; *) check "show prints no POST line for a plugin" true ;; esac
contains "show numbers targets from 1" "$OUT" "hook:     spool, target 1"

expect_exit 0 "resend through the plugin" --repo "$R" resend "$id"
equals "resent with the same message id" "$(tail -n 1 "$TMP/spooled")" "$msg"
equals "two spooled lines" "$(wc -l <"$TMP/spooled")" 2
done_testing
