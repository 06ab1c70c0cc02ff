#!/usr/bin/env bash
# Plugins run concurrently in the engine's loop, at most --concurrency at
# once: 50 targets whose plugin sleeps 1 s take about 1 s at concurrency
# 64, and about 5 s at concurrency 10 (the bound holds).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

plugin slow "$ANY_SCHEMA" 'echo start >>'"$TMP"'/starts; sleep 1; echo "{\"status\": \"delivered\"}"'
targets=$(for i in $(seq 50); do printf '{n: %d}, ' "$i"; done)
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/slow.yaml "version: 1
webhooks:
  - {name: slow, events: [clusters_deployed], kind: slow, timeout: 10s, targets: [${targets%, }]}
" "50 slow plugin targets"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
start=$(date +%s%N)
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" --concurrency 64
t64=$(ms "$start")
echo "# 50 plugin targets sleeping 1 s, concurrency 64: ${t64} ms"
equals "all delivered" "$RC" 0
equals "50 delivered lines" "$(printf '%s\n' "$OUT" | grep -c '^delivered')" 50
check "concurrent: well under 50 s (${t64} ms < 6000)" test "$t64" -lt 6000

: >"$TMP/starts"
start=$(date +%s%N)
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" --concurrency 10
t10=$(ms "$start")
echo "# the same at concurrency 10: ${t10} ms"
equals "all delivered at concurrency 10" "$RC" 0
check "at most 10 at once: 5 rounds of 1 s (${t10} ms >= 4500)" test "$t10" -ge 4500

done_testing
