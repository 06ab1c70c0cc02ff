#!/usr/bin/env bash
# SIGTERM and SIGINT: a main job or a `retry --watch` told to stop lets the
# attempts in flight finish and journals them, starts nothing more, gives
# the leases of what it did not start back (pending, free for the next
# claimer at once) and exits. A second signal kills at once, and the next
# `retry --all` still finds everything. An idle watcher stops promptly.
. "$(dirname "$0")/lib.sh"

DB="$WHRUN_STATE_DIR/journal.db"
recv_count() { wc -l <"$RECV_LOG"; }
# wait_seen N: until the receiver has logged N requests (10 s at most).
wait_seen() {
	for _ in $(seq 1000); do
		[ "$(wc -l <"$RECV_LOG")" -ge "$1" ] && return 0
		sleep 0.01
	done
	return 1
}

start_receiver
R="$TMP/repo"
new_repo "$R"
{
	printf 'version: 1\nwebhooks:\n  - name: slow\n    events: [clusters_deployed]\n    retry: {attempts: 1}\n    targets:\n'
	for i in $(seq 1 20); do printf '      - url: "http://127.0.0.1:%s/sleep/1500?t=%s"\n' "$RECV_PORT" "$i"; done
} >"$TMP/h.yaml"
commit_file "$R" hooks/h.yaml "$(cat "$TMP/h.yaml")" "20 slow targets"

# 1. The main job, stopped while its first request is in flight.
"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" \
	--concurrency 1 >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
check "main job: first request sent" wait_seen 1
kill -TERM $pid
wait $pid
equals "main job: exit 1 (pending)" "$?" 1
equals "main job: the attempt in flight finished and was journaled" \
	"$(sql "SELECT count(*), sum(attempts) FROM deliveries WHERE status = 'delivered'")" "1|1"
equals "main job: the 19 not started are pending, not leased, not attempted" \
	"$(sql "SELECT count(*), count(lease_owner), sum(attempts) FROM deliveries WHERE status = 'pending'")" "19|0|0"
equals "main job: nothing sent after the signal" "$(recv_count)" 1
equals "main job: its summary says so" "$(grep -c '^pending ' "$TMP/run.out")" 19

# 2. A watcher, stopped while 4 requests are in flight.
"$WHRUN" retry --watch --repo "$R" --concurrency 4 >"$TMP/w.out" 2>"$TMP/w.err" &
pid=$!
check "watcher: 4 requests in flight" wait_seen 5
kill -TERM $pid
t0=$(date +%s%N)
wait $pid
rc=$?
t1=$(date +%s%N)
equals "watcher: exit 0 on SIGTERM" "$rc" 0
echo "# watcher stopped $(((t1 - t0) / 1000000)) ms after SIGTERM (attempts in flight: 1.5 s answers)"
equals "watcher: the 4 in flight were journaled as delivered" \
	"$(sql "SELECT count(*) FROM deliveries WHERE status = 'delivered'")" 5
equals "watcher: one summary line each" "$(grep -c '^delivered ' "$TMP/w.out")" 4
equals "watcher: the rest pending, no lease, never attempted" \
	"$(sql "SELECT count(*), count(lease_owner), sum(attempts) FROM deliveries WHERE status = 'pending'")" "15|0|0"
equals "watcher: nothing sent after the signal" "$(recv_count)" 5

# 3. Two signals: the second kills at once; nothing is lost.
"$WHRUN" retry --watch --repo "$R" --concurrency 4 >/dev/null 2>&1 &
pid=$!
check "second watcher: requests in flight" wait_seen 9
kill -TERM $pid
sleep 0.1
kill -TERM $pid
wait $pid
equals "second signal: killed by SIGTERM" "$?" 143
check "its in-flight rows are still leased by the dead process" \
	test "$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner LIKE '$pid-%'")" -gt 0
expect_exit 0 "retry --all right after: everything delivered" retry --all --repo "$R"
equals "all 20 delivered, no lease" "$(sql "SELECT sum(status = 'delivered'), count(lease_owner) FROM deliveries")" "20|0"
equals "attempts = attempt rows" \
	"$(sql "SELECT count(*) FROM deliveries d WHERE d.attempts != (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id)")" 0

# 4. An idle watcher stops promptly on SIGINT.
"$WHRUN" retry --watch --repo "$R" >/dev/null 2>"$TMP/idle.err" &
pid=$!
sleep 0.5
t0=$(date +%s%N)
kill -INT $pid
wait $pid
rc=$?
t1=$(date +%s%N)
equals "idle watcher: exit 0 on SIGINT" "$rc" 0
check "idle watcher: stops within 500 ms" test $(((t1 - t0) / 1000000)) -lt 500
contains "idle watcher: said what it watched" "$(cat "$TMP/idle.err")" "watching the outbox of"

# 5. --max-time bounds a watch.
"$WHRUN" retry --watch --repo "$R" --max-time 0.3 >/dev/null 2>&1
equals "--max-time ends a watch (exit 0)" "$?" 0
done_testing
