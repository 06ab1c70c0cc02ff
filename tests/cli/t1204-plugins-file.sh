#!/usr/bin/env bash
# The shipped whrun-kind-file (found in whrun's libexec directory, not on
# WHRUN_PLUGIN_PATH): each message becomes one JSON line; 20 whrun runs
# in parallel on one file give exactly 20 whole lines (flock), and
# `url: file:///...` works like `path:`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

equals "whrun-kind-file is found in whrun's own libexec dir" \
	"$("$WHRUN" plugins --output json >"$TMP/p.json"; json_eval "[p['path'] for p in d if p['kind'] == 'file'][0]" "$TMP/p.json")" \
	"$("$WHRUN" --exec-path)/whrun-kind-file"

AUDIT="$TMP/audit/trail.jsonl"
mkdir -p "$TMP/audit"
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/audit.yaml "version: 1
webhooks:
  - name: audit
    events: [clusters_deployed]
    kind: file
    targets: [{path: \"$AUDIT\"}, {url: \"file://$AUDIT.url\"}]
" "an audit trail"
expect_exit 0 "validate accepts path: and url: file:///" validate --repo "$R"

for i in $(seq 20); do
	"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" >"$TMP/run-$i.out" 2>&1 &
	pids[$i]=$!
done
failed=0
for i in $(seq 20); do wait "${pids[$i]}" || failed=$((failed + 1)); done
equals "20 parallel runs all succeed" "$failed" 0
equals "exactly 20 lines" "$(wc -l <"$AUDIT")" 20
equals "every line is one whole JSON envelope, 20 distinct ids" \
	"$(json_eval "len(set(r['id'] for r in rows if r['type'] == 'clusters_deployed' and r['hook'] == 'audit' and r['data']['application']['name'] == 'billing-api'))" "$AUDIT")" 20
equals "url: file:/// got 20 lines too" "$(wc -l <"$AUDIT.url")" 20
mode=$(stat -c %a "$AUDIT")
equals "the file is created 0600" "$mode" 600

run_whrun deliveries --output json --limit 100
printf '%s' "$OUT" >"$TMP/d.json"
equals "the journal has 40 delivered file deliveries" \
	"$(json_eval "len([x for x in d if x['status'] == 'delivered' and x['hook'] == 'audit'])" "$TMP/d.json")" 40

# A directory that does not exist is a permanent failure, said plainly.
commit_file "$R" hooks/audit.yaml "version: 1
webhooks:
  - {name: audit, events: [clusters_deployed], kind: file, targets: [{path: \"$TMP/nowhere/x.jsonl\"}]}
" "a missing directory"
expect_exit 1 "a missing directory fails the delivery" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "failed, with the reason" "$OUT" "No such file or directory"
commit_file "$R" hooks/audit.yaml "version: 1
webhooks:
  - {name: audit, events: [clusters_deployed], kind: file, targets: [{path: relative.jsonl}]}
" "a relative path"
expect_exit 3 "validate: a relative path breaks the plugin's schema" validate --repo "$R"
contains "at the field" "$ERR" "hooks/audit.yaml:3:"

done_testing
