#!/usr/bin/env bash
# The journal when the state directory cannot take it: a read-only mount, a
# full disk, a file where the directory should be, a file that is not a
# journal. Writers must fail clearly at open (before anything is sent);
# readers must still read what is there.
#
# Tests often run as root, where chmod 0500 does not stop writes, so the
# read-only and full cases run in a private mount namespace (`unshare -rm`:
# a read-only bind mount, a small tmpfs). Without user namespaces they fall
# back to chmod for non-root users, or are skipped with the reason printed.
. "$(dirname "$0")/lib.sh"

SEED="${WH_BUILD_DIR:?}/tests/journal_seed"
S="$WHRUN_STATE_DIR"

can_unshare=0
if unshare -rm true 2>/dev/null; then can_unshare=1; fi

# A journal with one delivered message.
mkdir -p "$TMP/ro"
printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\nattempt 1 delivered 200 1\n' |
	"$SEED" "$TMP/ro/state" >/dev/null
check "seeded" test -s "$TMP/ro/state/journal.db"

# in_ns SCRIPT: runs SCRIPT (bash) where $TMP/ro is mounted read-only; its
# output lands in $TMP/ns.out, its exit code in $RC.
in_ro_ns() {
	unshare -rm bash -c "mount --bind '$TMP/ro' '$TMP/ro' && mount -o remount,bind,ro '$TMP/ro' && $1" \
		>"$TMP/ns.out" 2>&1
	RC=$?
	OUT=$(cat "$TMP/ns.out")
}

if [ "$can_unshare" = 1 ]; then
	in_ro_ns "printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | '$SEED' '$TMP/ro/state'"
	equals "read-only journal: writer fails" "$RC" 3
	contains "read-only journal: says why" "$OUT" "Read-only file system"
	not_contains "read-only journal: no message id printed (nothing to send)" "$OUT" "msg_"
	in_ro_ns "printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | '$SEED' '$TMP/ro/new-state'"
	equals "read-only parent: writer fails" "$RC" 3
	contains "read-only parent: names the directory" "$OUT" "cannot create the state directory $TMP/ro/new-state"
	in_ro_ns "'$WHRUN' deliveries --state '$TMP/ro/state'"
	equals "read-only journal: deliveries reads" "$RC" 0
	contains "read-only journal: rows" "$OUT" "delivered"
	in_ro_ns "'$WHRUN' show dlv_1 --state '$TMP/ro/state'"
	equals "read-only journal: show reads" "$RC" 0
	contains "read-only journal: show" "$OUT" "HTTP 200  delivered"
elif [ "$(id -u)" != 0 ]; then
	chmod 0500 "$TMP/ro/state"
	printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | "$SEED" "$TMP/ro/state" >"$TMP/o" 2>&1
	equals "read-only directory: writer fails" "$?" 3
	contains "read-only directory: says why" "$(cat "$TMP/o")" "journal"
	expect_exit 0 "read-only directory: deliveries reads" deliveries --state "$TMP/ro/state"
	chmod 0700 "$TMP/ro/state"
else
	echo "SKIP: read-only state directory: root without user namespaces (unshare -rm fails)"
fi

# A full disk: a 1 MiB tmpfs holding a journal, then filled up.
if [ "$can_unshare" = 1 ]; then
	mkdir -p "$TMP/small"
	unshare -rm bash -c "
		mount -t tmpfs -o size=1m tmpfs '$TMP/small' || exit 90
		printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | '$SEED' '$TMP/small/state' >/dev/null || exit 91
		# Leave ~400 KiB: above the open check, below what the next message needs.
		dd if=/dev/zero of='$TMP/small/fill' bs=4k count=\$(( (\$(stat -f -c '%a' '$TMP/small') * \$(stat -f -c '%S' '$TMP/small') - 400 * 1024) / 4096 )) 2>/dev/null
		printf 'msgsize 600000\nmsg big clusters_deployed http://127.0.0.1:9/b\n' | '$SEED' '$TMP/small/state'
		echo \"insert rc=\$?\"
		'$WHRUN' deliveries --state '$TMP/small/state'
		dd if=/dev/zero of='$TMP/small/fill2' bs=4k 2>/dev/null
		printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | '$SEED' '$TMP/small/state'
		echo \"full rc=\$?\"
	" >"$TMP/full.out" 2>&1
	OUT=$(cat "$TMP/full.out")
	contains "insert that does not fit: exit 3" "$OUT" "insert rc=3"
	contains "insert that does not fit: disk full" "$OUT" "disk full"
	contains "the journal still holds the earlier message" "$OUT" "alpha"
	not_contains "and not the one that did not fit" "$OUT" " big "
	contains "full disk: refused at open" "$OUT" "full rc=3"
	contains "full disk: says so" "$OUT" "is full"
else
	echo "SKIP: full disk: needs a private tmpfs (unshare -rm fails here)"
fi

# A file where the state directory should be.
printf 'x' >"$TMP/notadir"
printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | "$SEED" "$TMP/notadir/state" >"$TMP/o" 2>&1
equals "file as directory: writer fails" "$?" 3
contains "file as directory: says so" "$(cat "$TMP/o")" "cannot create the state directory"
expect_exit 3 "file as directory: deliveries reports it" deliveries --state "$TMP/notadir"
contains "file as directory: reader says why" "$ERR" "Not a directory"

# A file that is not a journal.
mkdir -p "$TMP/garbage"
head -c 4096 /dev/urandom >"$TMP/garbage/journal.db"
expect_exit 3 "not a journal: deliveries" deliveries --state "$TMP/garbage"
contains "not a journal: says so" "$ERR" "not a usable whrun journal"
expect_exit 3 "not a journal: show" show dlv_1 --state "$TMP/garbage"
printf 'msg alpha clusters_deployed http://127.0.0.1:9/a\n' | "$SEED" "$TMP/garbage" >"$TMP/o" 2>&1
equals "not a journal: writer fails" "$?" 3

# Many writers at once from the outside: 20 processes, 10 deliveries each.
mkdir -p "$TMP/many"
for i in $(seq 1 20); do
	(printf 'msg h%s clusters_deployed %s\n' "$i" "$(for t in $(seq 1 10); do printf 'http://127.0.0.1:9/%s ' "$t"; done)"
	 for t in $(seq 1 10); do printf 'attempt %s delivered 200 1\n' "$t"; done) |
		"$SEED" "$TMP/many/state" >"$TMP/many/out.$i" 2>&1 &
done
wait
check "no writer failed" bash -c "! grep -l 'journal_seed' '$TMP'/many/out.*"
run_whrun deliveries --state "$TMP/many/state" --status delivered --limit 1000 --output json
equals "200 delivered" "$(printf '%s' "$OUT" | grep -c '"id": "dlv_')" 200

done_testing
