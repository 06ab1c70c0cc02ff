#!/usr/bin/env bash
# Lease renewal in a long run (runner/dispatch.c, keep_lease). The outbox
# insert leases every delivery to the run for 10 minutes; an attempt that
# could outlive that lease (here: a hook timeout of 8 minutes, so the very
# first attempt) extends it in the journal before anything is sent, to the
# attempt's timeout plus 10 minutes. When the delivery is no longer this
# run's (another process took it over), the attempt is not made: the
# receiver sees nothing, the journal row stays with its new owner and has
# no attempt of ours, and the run reports it as pending with no attempt
# (not as failed: it is still in the outbox) and exits 1. The same when
# the takeover is only found as an attempt is journaled: the in-run retry
# is not made.
#
# Each run has two targets and --concurrency 1: the first is held at the
# receiver until the test opens its gate, so the second's lease can be
# read, or taken away, while it waits for its turn (no race with the run).
. "$(dirname "$0")/lib.sh"

mkdir "$TMP/gates"
start_receiver --gate-dir "$TMP/gates"
U="http://127.0.0.1:$RECV_PORT"
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: long
    events: [clusters_deployed]
    timeout: 8m
    retry: {attempts: 1}
    targets:
      - url: \"$U/gate/open?t=first\"
      - url: \"$U/ok?t=second\"
" "a hook whose attempts may take 8 minutes"
EX="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"
MIN=60000

# requests PATH: how many requests for PATH the receiver has logged.
requests() { grep -cF "\"path\": \"$1\"" "$RECV_LOG"; }

# wait_for_request PATH N: until the receiver has logged N requests for PATH.
wait_for_request() {
	for _ in $(seq 200); do
		[ "$(requests "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "the receiver never saw $1" >&2
	return 1
}

# delivery ORDINAL: the id of the newest message's delivery to target
# ORDINAL (1 or 2).
delivery() {
	sql "SELECT d.id FROM deliveries d
	     WHERE d.message_id = (SELECT id FROM messages ORDER BY created_at DESC, rowid DESC LIMIT 1)
	     ORDER BY d.id LIMIT 1 OFFSET $(($1 - 1))"
}

# lease ORDINAL: "lease_until - created_at" of that delivery, in ms.
lease() {
	sql "SELECT lease_until - created_at FROM deliveries WHERE id = $(delivery "$1")"
}

# start_run N ARGS...: whrun --stage in the background (output in run N's
# files, its pid in $pid).
start_run() {
	local n=$1
	shift
	"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$EX" "$@" \
		>"$TMP/run$n.out" 2>"$TMP/run$n.err" &
	pid=$!
}

# finish_run N GATE: opens GATE, waits for run N; $rc, $out (stdout and
# stderr, also shown).
finish_run() {
	touch "$TMP/gates/$2"
	wait "$pid"
	rc=$?
	out=$(cat "$TMP/run$1.out" "$TMP/run$1.err")
	echo "$out" | sed "s/^/# run $1: /"
}

# take_over ID: another process's lease on pending delivery ID, as its
# claim would write it.
take_over() {
	python3 - "$WHRUN_STATE_DIR/journal.db" "$1" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time() * 1000)
with db:
    n = db.execute("UPDATE deliveries SET lease_owner = 'other-owner', lease_until = ? "
                   "WHERE id = ? AND status = 'pending'", (now + 600000, int(sys.argv[2]))).rowcount
sys.exit(0 if n == 1 else 1)
PY
}

# --- 1. renewal ---------------------------------------------------------
start_run 1 --concurrency 1
check "the first request arrives" wait_for_request "/gate/open?t=first" 1
first=$(lease 1)
second=$(lease 2)
echo "# while the first target answers: leases of $((first / 1000)) s and $((second / 1000)) s"
check "the first delivery's lease was extended before its attempt (8 min timeout + 10 min)" \
	test "$first" -ge $((17 * MIN))
check "the second, not yet attempted, still has the insert's 10 minutes" \
	test "$second" -le $((10 * MIN)) -a "$second" -ge $((9 * MIN))
finish_run 1 open
rm "$TMP/gates/open"
equals "run 1 exits 0" "$rc" 0
equals "run 1: both delivered" "$(grep -c '^delivered ' "$TMP/run1.out")" 2
equals "run 1: the journal agrees" \
	"$(sql "SELECT count(*) FROM deliveries WHERE status = 'delivered' AND lease_owner IS NULL")" 2

# --- 2. the lease was taken over ------------------------------------------
start_run 2 --concurrency 1
check "run 2: the first request arrives" wait_for_request "/gate/open?t=first" 2
second_id=$(delivery 2)
check "the takeover was written" take_over "$second_id"
finish_run 2 open
equals "run 2 exits 1 (a delivery is left pending)" "$rc" 1
equals "run 2: the first target delivered" "$(grep -c '^delivered long .*t=first' "$TMP/run2.out")" 1
equals "run 2: the second target was not sent to" "$(requests "/ok?t=second")" 1
equals "run 2: the second delivery is still the other owner's, pending" \
	"$(sql "SELECT status || ' ' || lease_owner FROM deliveries WHERE id = $second_id")" \
	"pending other-owner"
equals "run 2: no attempt of ours on it" \
	"$(sql "SELECT count(*) FROM attempts WHERE delivery_id = $second_id")" 0
contains "run 2: the output calls it pending, with no attempt, and says why" "$out" \
	"pending   long -> POST $U/ok?t=second  no response  0 ms  0 attempts  dlv_$second_id  (not sent: another process has taken this delivery over)"

# --- 3. the lease was lost during an attempt --------------------------------
# A short timeout, so no renewal: the takeover is found when the first
# attempt (a 503) is journaled, and the in-run retry it would get is not
# made.
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: again
    events: [clusters_deployed]
    timeout: 10s
    retry: {attempts: 2, backoff: 100ms}
    targets:
      - url: \"$U/gate/again/503?t=again\"
" "a hook that retries once"
start_run 3
check "run 3: the first attempt arrives" wait_for_request "/gate/again/503?t=again" 1
again_id=$(delivery 1)
check "run 3: the takeover was written" take_over "$again_id"
finish_run 3 again
equals "run 3 exits 1" "$rc" 1
# the retry is due 100 ms after the 503; give a wrongly sent one time to land
sleep 0.3
equals "run 3: one request, no retry" "$(requests "/gate/again/503?t=again")" 1
contains "run 3: reported pending after its one attempt, with why" "$out" \
	"pending   again -> POST $U/gate/again/503?t=again  HTTP 503"
contains "run 3: ... one attempt" "$out" "  1 attempt  dlv_$again_id  (not sent: another process has taken this delivery over)"
equals "run 3: the delivery is still the other owner's, pending" \
	"$(sql "SELECT status || ' ' || lease_owner FROM deliveries WHERE id = $again_id")" \
	"pending other-owner"
equals "run 3: the attempt made is journaled, the refused one is not" \
	"$(sql "SELECT count(*) || ' ' || max(http_status) FROM attempts WHERE delivery_id = $again_id")" \
	"1 503"

done_testing
