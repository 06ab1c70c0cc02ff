#!/usr/bin/env bash
# Secrets reach a plugin on stdin only: not in its argv (so not in `ps`),
# not in its environment (whrun leaves out every variable its hooks
# reference, and all but locale, paths, proxies, CA locations and
# WHRUN_PLUGIN_* variables).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

SECRET="whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=$RANDOM"
TOKEN="tok-$RANDOM-$RANDOM-plugin"
export PLUG_SECRET="$SECRET" PLUG_TOKEN="$TOKEN" WHRUN_PLUGIN_REGION="still-here" OTHER_HOOK_SECRET="not-for-plugins"
plugin spy "$ANY_SCHEMA" '
printf "%s" "$req" >'"$TMP"'/stdin.json
tr "\0" "\n" </proc/self/environ >'"$TMP"'/environ.txt
tr "\0" " " </proc/self/cmdline >'"$TMP"'/cmdline.txt
tr "\0" " " </proc/$PPID/cmdline >'"$TMP"'/parent-cmdline.txt
ps -eo args >'"$TMP"'/ps.txt
echo "{\"status\": \"delivered\"}"'

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/spy.yaml 'version: 1
webhooks:
  - name: spy
    events: [clusters_deployed]
    kind: spy
    secret: ${env:PLUG_SECRET}
    targets: [{token: "Bearer ${env:PLUG_TOKEN}", plain: value}]
' "a plugin hook with secrets"

expect_exit 0 "delivered" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
for f in environ cmdline parent-cmdline ps; do
	check "$f was captured" test -s "$TMP/$f.txt"
	not_contains "the secret is not in the plugin's $f" "$(cat "$TMP/$f.txt")" "$SECRET"
	not_contains "the token is not in the plugin's $f" "$(cat "$TMP/$f.txt")" "$TOKEN"
done
contains "ps saw the plugin running (the check can fail)" "$(cat "$TMP/ps.txt")" "whrun-kind-spy deliver"
contains "WHRUN_PLUGIN_ variables pass through" "$(cat "$TMP/environ.txt")" "WHRUN_PLUGIN_REGION=still-here"
not_contains "other variables (e.g. secrets of hooks not in this run) do not" "$(cat "$TMP/environ.txt")" "OTHER_HOOK_SECRET"
not_contains "a referenced variable is left out, name and all" "$(cat "$TMP/environ.txt")" "PLUG_TOKEN="
equals "the secret arrived on stdin" "$(json_eval "d['secrets']" "$TMP/stdin.json")" "['$SECRET']"
equals "the target's reference arrived resolved" "$(json_eval "d['target']['token']" "$TMP/stdin.json")" "Bearer $TOKEN"
equals "other fields as written" "$(json_eval "d['target']['plain']" "$TMP/stdin.json")" "value"
equals "the request names the attempt" "$(json_eval "d['attempt']" "$TMP/stdin.json")" 1

run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d.json"
run_whrun show "$(json_eval "d[0]['id']" "$TMP/d.json")" --output json
not_contains "the journal holds neither secret" "$OUT" "$TOKEN"
not_contains "the journal holds neither secret (signature secret)" "$OUT" "$SECRET"

done_testing
