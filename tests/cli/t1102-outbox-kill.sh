#!/usr/bin/env bash
# Crash safety: whrun delivering one message to 200 slow targets is killed
# with SIGKILL at several points: right after the outbox insert (before
# the receiver has everything), in the middle of sending, and after every
# request reached the receiver but before the results were journaled; and
# a `retry --all` is itself killed mid-way. Each time, an immediate `whrun
# retry --all` (no waiting for the dead process's 10-minute leases)
# completes with exit 0, every target has received the message (right
# path, right webhook-id) at least once, and the journal holds nothing in
# an impossible state.
. "$(dirname "$0")/lib.sh"

DB="$WHRUN_STATE_DIR/journal.db"

start_receiver
U="http://127.0.0.1:$RECV_PORT"
R="$TMP/repo"
new_repo "$R"
{
	printf 'version: 1\ndefaults:\n  timeout: 5s\n  retry: {attempts: 1}\nwebhooks:\n'
	printf '  - name: slow\n    events: [clusters_deployed]\n    targets:\n'
	for i in $(seq 1 200); do printf '      - url: "%s/sleep/300?t=%s"\n' "$U" "$i"; done
	printf '  - name: slower\n    events: [clusters_rollbacked]\n    targets:\n'
	for i in $(seq 1 200); do printf '      - url: "%s/sleep/1500?t=%s"\n' "$U" "$i"; done
} >"$TMP/hooks.yaml"
commit_file "$R" hooks/h.yaml "$(cat "$TMP/hooks.yaml")" "200 targets"
EX="$WH_SOURCE_DIR/hooks/examples"

# kill_when CONDITION PID: polls the journal and the receiver's log every
# millisecond and sends SIGKILL to PID as soon as CONDITION (a Python
# expression over rows = deliveries of the newest message, attempts =
# attempt rows of those, seen = requests the receiver logged since the
# start mark) holds. Prints what it saw at that moment.
MARK=0
kill_when() {
	python3 - "$DB" "$RECV_LOG" "$MARK" "$2" "$1" <<'PY'
import os, signal, sqlite3, sys, time
db_path, log, mark, pid, cond = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
deadline = time.time() + 60
while time.time() < deadline:
    rows = attempts = 0
    if os.path.exists(db_path):
        try:
            db = sqlite3.connect("file:" + db_path + "?mode=ro", uri=True, timeout=0.01)
            m = db.execute("SELECT id FROM messages ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
            if m:
                rows = db.execute("SELECT count(*) FROM deliveries WHERE message_id = ?", m).fetchone()[0]
                attempts = db.execute("SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.message_id = ?", m).fetchone()[0]
            db.close()
        except sqlite3.Error:
            pass
    with open(log) as f:
        seen = sum(1 for _ in f) - mark
    if eval(cond):
        os.kill(pid, signal.SIGKILL)
        print("killed at rows=%d seen=%d attempts=%d" % (rows, seen, attempts))
        sys.exit(0)
    time.sleep(0.001)
print("condition never held")
sys.exit(1)
PY
}

recv_count() { json_eval 'len(rows)' "$RECV_LOG"; }

# after_kill WHAT STAGE: retry --all, then every check.
after_kill() {
	local what=$1 hook=$2 msg t0 t1
	msg=$(sql "SELECT id FROM messages WHERE hook = '$hook' ORDER BY created_at DESC LIMIT 1")
	equals "$what: 200 outbox rows" "$(sql "SELECT count(*) FROM deliveries WHERE message_id = '$msg'")" 200
	echo "# $what: before retry: $(sql "SELECT status || '=' || count(*) || ' (leased ' || count(lease_owner) || ')' FROM deliveries WHERE message_id = '$msg' GROUP BY status")"
	t0=$(date +%s%N)
	expect_exit 0 "$what: retry --all right away completes" retry --all --repo "$R"
	t1=$(date +%s%N)
	echo "# $what: retry --all took $(((t1 - t0) / 1000000)) ms for $(printf '%s\n' "$OUT" | grep -c '^delivered ') deliveries"
	equals "$what: all 200 delivered" "$(sql "SELECT count(*) FROM deliveries WHERE message_id = '$msg' AND status = 'delivered'")" 200
	python3 - "$RECV_LOG" "$msg" "$MARK" >"$TMP/recv-check" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[3]):]
got = {}
for r in rows:
    if r["headers"].get("webhook-id") == sys.argv[2]:
        t = int(r["path"].split("t=")[1])
        got[t] = got.get(t, 0) + 1
missing = [t for t in range(1, 201) if t not in got]
print(missing, file=sys.stdout)
print("# receiver: %d requests for 200 targets, %d targets twice or more" % (sum(got.values()), sum(1 for v in got.values() if v > 1)), file=sys.stderr)
PY
	equals "$what: every target received the message (path, webhook-id)" "$(cat "$TMP/recv-check")" "[]"
	journal_sane "$what"
	MARK=$(recv_count)
}

# No delivery in an impossible state, anywhere in the journal.
journal_sane() {
	equals "$1: nothing pending" "$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending'")" 0
	equals "$1: no lease left" "$(sql "SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL OR lease_until IS NOT NULL")" 0
	equals "$1: attempts column = attempt rows, numbered 1..n" \
		"$(sql "SELECT count(*) FROM deliveries d WHERE d.attempts != (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id) OR d.attempts != (SELECT coalesce(max(number), 0) FROM attempts a WHERE a.delivery_id = d.id)")" 0
	equals "$1: delivered ones have attempts, the last one delivered" \
		"$(sql "SELECT count(*) FROM deliveries d WHERE d.status = 'delivered' AND (d.attempts < 1 OR (SELECT outcome FROM attempts a WHERE a.delivery_id = d.id ORDER BY number DESC LIMIT 1) != 'delivered')")" 0
	equals "$1: no attempt row without its delivery" "$(sql "SELECT count(*) FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries)")" 0
}

# A. Killed right after the outbox insert: the rows are there, the receiver
# has not seen everything.
"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$EX/clusters_deployed.json" --concurrency 20 >/dev/null 2>&1 &
pid=$!
got=$(kill_when 'rows == 200 and seen < 200' $pid)
wait $pid
equals "A: killed by SIGKILL" "$?" 137
contains "A: killed after the insert" "$got" "rows=200"
echo "# A: $got"
check "A: some rows still leased by the dead process" test "$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner LIKE '$pid-%'")" -gt 0
after_kill A slow

# B. Killed while sending (half the requests seen).
"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$EX/clusters_deployed.json" --concurrency 20 >/dev/null 2>&1 &
pid=$!
got=$(kill_when 'seen >= 100' $pid)
wait $pid
equals "B: killed by SIGKILL" "$?" 137
echo "# B: $got"
after_kill B slow

# C. Killed after every request reached the receiver, before the results
# were journaled (all 200 in flight on a 1.5 s answer).
"$WHRUN" --repo "$R" --stage clusters_rollbacked --payload "$EX/clusters_rollbacked.json" --concurrency 200 >/dev/null 2>&1 &
pid=$!
got=$(kill_when 'seen >= 200 and attempts < 200' $pid)
wait $pid
equals "C: killed by SIGKILL" "$?" 137
echo "# C: $got"
contains "C: everything had been sent" "$got" "seen=200"
after_kill C slower

# D. A main job left pending (receiver answers too late: --max-time), then
# the `retry --all` that takes over is itself killed while sending.
"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$EX/clusters_deployed.json" --concurrency 20 >/dev/null 2>&1 &
pid=$!
kill_when 'rows == 200' $pid >/dev/null
wait $pid
MARK=$(recv_count)
"$WHRUN" retry --all --repo "$R" --concurrency 20 >/dev/null 2>&1 &
pid=$!
got=$(kill_when 'seen >= 60' $pid)
wait $pid
equals "D: retry killed by SIGKILL" "$?" 137
echo "# D: $got"
MARK=0
after_kill D slow
done_testing
