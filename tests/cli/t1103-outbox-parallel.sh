#!/usr/bin/env bash
# Concurrency through the real CLI: 20 main jobs started at once on one
# state directory, 10 targets each (every delivery journaled, no "database
# is locked", nothing lost); then two `whrun retry --watch` processes on one
# journal share 100 due deliveries without ever sending one twice, and stop
# cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

DB="$WHRUN_STATE_DIR/journal.db"
EX="$WH_SOURCE_DIR/hooks/examples"

# 1. Twenty at once.
start_receiver
R="$TMP/repo"
new_repo "$R"
{
	printf 'version: 1\nwebhooks:\n  - name: ten\n    events: [clusters_deployed]\n    targets:\n'
	for i in $(seq 1 10); do printf '      - url: "http://127.0.0.1:%s/sleep/50?t=%s"\n' "$RECV_PORT" "$i"; done
} >"$TMP/h.yaml"
commit_file "$R" hooks/h.yaml "$(cat "$TMP/h.yaml")" "ten targets"
t0=$(date +%s%N)
for p in $(seq 1 20); do
	"$WHRUN" --repo "$R" --stage clusters_deployed --payload "$EX/clusters_deployed.json" \
		>"$TMP/out.$p" 2>"$TMP/err.$p" &
	pids[$p]=$!
done
fails=0
for p in $(seq 1 20); do wait "${pids[$p]}" || fails=$((fails + 1)); done
t1=$(date +%s%N)
echo "# 20 processes x 10 deliveries: $(((t1 - t0) / 1000000)) ms"
equals "20 processes: all exit 0" "$fails" 0
equals "no 'locked' anywhere" "$(cat "$TMP"/err.* | grep -ci 'locked')" 0
equals "200 deliveries, 200 delivered, 20 messages" \
	"$(sql "SELECT count(*), sum(status = 'delivered'), count(DISTINCT message_id) FROM deliveries")" "200|200|20"
equals "200 attempt rows" "$(sql "SELECT count(*) FROM attempts")" 200
equals "the receiver saw 200" "$(json_eval 'len(rows)' "$RECV_LOG")" 200
equals "each message reached each target once" \
	"$(json_eval 'len({(r["headers"]["webhook-id"], r["path"]) for r in rows})' "$RECV_LOG")" 200

# 2. Two watchers on one journal. 100 deliveries fail at first (nothing
# listens on the port), so they are due 5 s later; the receiver comes up
# and both watchers race for them, ten at a time.
export WHRUN_STATE_DIR="$TMP/state2"
DB="$WHRUN_STATE_DIR/journal.db"
PORT=$(free_port)
R2="$TMP/repo2"
new_repo "$R2"
{
	printf 'version: 1\nwebhooks:\n  - name: many\n    events: [clusters_deployed]\n    retry: {attempts: 1}\n    targets:\n'
	for i in $(seq 1 100); do printf '      - url: "http://127.0.0.1:%s/sleep/200?t=%s"\n' "$PORT" "$i"; done
} >"$TMP/h2.yaml"
commit_file "$R2" hooks/h.yaml "$(cat "$TMP/h2.yaml")" "100 targets"
expect_exit 1 "receiver down: pending" --repo "$R2" --stage clusters_deployed --payload "$EX/clusters_deployed.json"
equals "100 pending" "$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending'")" 100
start_receiver --port "$PORT"
"$WHRUN" retry --watch --limit 10 --repo "$R2" --concurrency 8 >"$TMP/w1.out" 2>"$TMP/w1.err" &
w1=$!
"$WHRUN" retry --watch --limit 10 --repo "$R2" --concurrency 8 >"$TMP/w2.out" 2>"$TMP/w2.err" &
w2=$!
for _ in $(seq 300); do
	[ "$(sql "SELECT count(*) FROM deliveries WHERE status = 'delivered'")" = 100 ] && break
	sleep 0.1
done
equals "the watchers delivered all 100" "$(sql "SELECT count(*) FROM deliveries WHERE status = 'delivered'")" 100
kill -TERM $w1 $w2
wait $w1
equals "watcher 1: exit 0 on SIGTERM" "$?" 0
wait $w2
equals "watcher 2: exit 0 on SIGTERM" "$?" 0
python3 - "$RECV_LOG" "$DB" >"$TMP/twice" <<'PY'
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
db = sqlite3.connect(sys.argv[2])
bad = []
per = {}
for r in rows:
    per.setdefault(r["path"], []).append(r["time"])
for i in range(1, 101):
    path = "/sleep/200?t=%d" % i
    n = len(per.get(path, []))
    # the journal: attempts of that delivery that reached the receiver
    journal = db.execute("SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
                         "WHERE d.url LIKE ? AND a.http_status IS NOT NULL", ("%" + path,)).fetchone()[0]
    if n != 1 or journal != 1:
        bad.append((path, n, journal))
owners = db.execute("SELECT count(DISTINCT lease_owner) FROM attempts WHERE http_status IS NOT NULL").fetchone()[0]
print(bad, owners)
PY
equals "each delivery received exactly once, as the journal says; both watchers worked" "$(cat "$TMP/twice")" "[] 2"
equals "no lease left behind" "$(sql "SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL")" 0
echo "# watcher 1 delivered $(grep -c '^delivered' "$TMP/w1.out"), watcher 2 $(grep -c '^delivered' "$TMP/w2.out")"
equals "the summaries add up to 100" "$(($(grep -c '^delivered' "$TMP/w1.out") + $(grep -c '^delivered' "$TMP/w2.out")))" 100
done_testing
