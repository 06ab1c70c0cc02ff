#!/usr/bin/env bash
# Plugin kinds deliver through the same engine and journal as HTTP: each
# outcome a plugin can produce (delivered, retry then delivered, failed, a
# hang killed at the timeout with its children, garbage, a non-zero exit,
# 10 MB of stderr) is classified, retried in the run or left pending, and
# recorded truthfully in `deliveries` and `show`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

MARK=$((31000 + RANDOM % 1000))
plugin ok "$ANY_SCHEMA" 'echo "{\"status\": \"delivered\", \"code\": 0, \"detail\": \"stored\"}"'
plugin flaky "$ANY_SCHEMA" "$ATTEMPT"'
if [ "$attempt" = 1 ]; then echo "{\"status\": \"retry\", \"code\": 503, \"detail\": \"busy, attempt $attempt\"}"
else echo "{\"status\": \"delivered\", \"code\": 200, \"detail\": \"attempt $attempt\"}"; fi'
plugin refuse "$ANY_SCHEMA" 'echo "{\"status\": \"failed\", \"code\": 403, \"detail\": \"forbidden by the receiver\"}"'
plugin hang "$ANY_SCHEMA" "sleep $MARK.5 & sleep $MARK.5; echo '{\"status\": \"delivered\"}'"
plugin garbage "$ANY_SCHEMA" 'echo "this is not json"'
plugin exit1 "$ANY_SCHEMA" 'echo "{\"status\": \"delivered\"}"; echo "exit one on purpose" >&2; exit 1'
plugin loud "$ANY_SCHEMA" 'echo "first stderr line" >&2; head -c 10485760 /dev/zero | tr "\0" x >&2; echo "{\"status\": \"delivered\", \"detail\": \"after 10 MB\"}"'

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/plugins.yaml "version: 1
defaults:
  events: [clusters_deployed]
  timeout: 1s
  retry: {attempts: 2, backoff: 100ms, max_backoff: 200ms}
webhooks:
  - {name: ok, kind: ok, targets: [{anything: 1}]}
  - {name: flaky, kind: flaky, targets: [{url: \"spool://a\"}]}
  - {name: refuse, kind: refuse, targets: [{}]}
  - {name: hang, kind: hang, targets: [{}]}
  - {name: garbage, kind: garbage, targets: [{}]}
  - {name: exit1, kind: exit1, targets: [{}]}
  - {name: loud, kind: loud, timeout: 10s, targets: [{}]}
" "plugin outcomes"

start=$(date +%s%N)
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# run took ${elapsed} ms"
equals "a required plugin delivery failed: exit 1" "$RC" 1
check "the hang is cut at its 1 s timeout (twice), not 100 s" test "$elapsed" -lt 8000
sleep 0.2
equals "no process of the hanging plugin is left (children included)" \
	"$(pgrep -f "sleep $MARK.5" | wc -l)" 0

run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d.json"
state() { json_eval "[(x['status'], x['attempts']) for x in d if x['hook'] == '$1'][0]" "$TMP/d.json"; }
id_of() { json_eval "[x['id'] for x in d if x['hook'] == '$1'][0]" "$TMP/d.json"; }
equals "ok: delivered at once" "$(state ok)" "('delivered', 1)"
equals "flaky: retry, then delivered in the run" "$(state flaky)" "('delivered', 2)"
equals "refuse: failed, not retried" "$(state refuse)" "('failed', 1)"
equals "hang: killed twice, pending" "$(state hang)" "('pending', 2)"
equals "garbage: retried, pending" "$(state garbage)" "('pending', 2)"
equals "exit 1: retried, pending" "$(state exit1)" "('pending', 2)"
equals "10 MB of stderr: delivered" "$(state loud)" "('delivered', 1)"

show() { run_whrun show "$(id_of "$1")" --output json; printf '%s' "$OUT" >"$TMP/s-$1.json"; }
attempt() { json_eval "d['attempts'][$2]['$3']" "$TMP/s-$1.json"; }

show flaky
equals "flaky attempt 1 outcome" "$(attempt flaky 0 outcome)" retry
contains "flaky attempt 1 error names the plugin's detail" "$(attempt flaky 0 error)" "busy, attempt 1"
contains "flaky attempt 1 keeps the plugin's stdout" "$(attempt flaky 0 response_body)" '"code": 503'
equals "flaky attempt 2 outcome" "$(attempt flaky 1 outcome)" delivered
equals "no HTTP status for a plugin" "$(attempt flaky 1 http_status)" None

show refuse
contains "refuse: the error says failed and why" "$(attempt refuse 0 error)" "failed (code 403): forbidden by the receiver"

show hang
contains "hang: the error names the timeout and the kill" "$(attempt hang 0 error)" "did not finish within 1000 ms; killed"
dur=$(attempt hang 0 duration_ms)
check "hang: the attempt lasted about the timeout ($dur ms)" test "$dur" -ge 900 -a "$dur" -lt 3000

show garbage
contains "garbage: no valid result" "$(attempt garbage 0 error)" "plugin printed no valid result"
contains "garbage: the output is kept" "$(attempt garbage 0 response_body)" "this is not json"

show exit1
contains "exit 1: the status is named" "$(attempt exit1 0 error)" "plugin exited with status 1"
contains "exit 1: its stderr is captured" "$(attempt exit1 0 error)" "exit one on purpose"

show loud
err=$(attempt loud 0 error)
contains "loud: the start of stderr is kept" "$err" "first stderr line"
contains "loud: the rest is counted and dropped" "$err" "more bytes of stderr dropped"
check "loud: the stored stderr is capped (${#err} chars)" test "${#err}" -lt 20000
contains "loud: its result was still read" "$(attempt loud 0 response_body)" "after 10 MB"

# The summary line of the run says the same (stderr stays in the journal).
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" --max-time 30
contains "summary: refuse failed" "$OUT" "failed    refuse"
not_contains "summary lines carry no stderr dump" "$OUT" "xxxxxxxxxx"

done_testing
