#!/usr/bin/env bash
# A state directory that cannot take the outbox (read-only mount, read-only
# parent, full disk): the main job, ping, resend and retry fail with exit 3
# and a clear error before anything is sent: the receiver sees nothing, so
# nothing is ever sent without being journaled. Runs in a private mount
# namespace (`unshare -rm`, as t0810 does); skipped with the reason when
# that is not possible.
. "$(dirname "$0")/lib.sh"

if ! unshare -rm true 2>/dev/null; then
	echo "SKIP: needs unshare -rm (user and mount namespaces) for a read-only mount and a tiny tmpfs"
	pass
	done_testing
fi

start_receiver
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/h.yaml "version: 1
webhooks:
  - name: h
    events: [clusters_deployed]
    targets: [{url: \"http://127.0.0.1:$RECV_PORT/ok?t=1\"}, {url: \"http://127.0.0.1:$RECV_PORT/ok?t=2\"}]
" "hooks"
PAYLOAD="$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json"

# A journal with one delivered message, to be mounted read-only.
mkdir -p "$TMP/ro"
expect_exit 0 "seed: delivered" --repo "$R" --stage clusters_deployed --payload "$PAYLOAD" --state "$TMP/ro/state"
equals "seed: 2 requests" "$(json_eval 'len(rows)' "$RECV_LOG")" 2
: >"$RECV_LOG"

# in_ro_ns SCRIPT: runs SCRIPT where $TMP/ro is a read-only mount.
in_ro_ns() {
	unshare -rm bash -c "mount --bind '$TMP/ro' '$TMP/ro' && mount -o remount,bind,ro '$TMP/ro' && $1" \
		>"$TMP/ns.out" 2>&1
	RC=$?
	OUT=$(cat "$TMP/ns.out")
}
W="'$WHRUN' --repo '$R'"
in_ro_ns "$W --stage clusters_deployed --payload '$PAYLOAD' --state '$TMP/ro/state'"
equals "read-only journal: main job exit 3" "$RC" 3
contains "read-only journal: says why" "$OUT" "Read-only file system"
in_ro_ns "$W --stage clusters_deployed --payload '$PAYLOAD' --state '$TMP/ro/new'"
equals "read-only parent: main job exit 3" "$RC" 3
contains "read-only parent: names the directory" "$OUT" "cannot create the state directory $TMP/ro/new"
in_ro_ns "$W ping h --state '$TMP/ro/state'"
equals "read-only journal: ping exit 3" "$RC" 3
in_ro_ns "$W resend dlv_1 --state '$TMP/ro/state'"
equals "read-only journal: resend exit 3" "$RC" 3
in_ro_ns "$W retry --all --state '$TMP/ro/state'"
equals "read-only journal: retry exit 3" "$RC" 3
equals "read-only: the receiver saw nothing" "$(json_eval 'len(rows)' "$RECV_LOG")" 0

# A full disk: a 1 MiB tmpfs, filled up after the first run.
mkdir -p "$TMP/small"
unshare -rm bash -c "
	mount -t tmpfs -o size=1m tmpfs '$TMP/small' || exit 90
	$W --stage clusters_deployed --payload '$PAYLOAD' --state '$TMP/small/state' >/dev/null 2>&1
	echo \"first rc=\$?\"
	dd if=/dev/zero of='$TMP/small/fill' bs=4k 2>/dev/null
	$W --stage clusters_deployed --payload '$PAYLOAD' --state '$TMP/small/state'
	echo \"full rc=\$?\"
	$W ping h --state '$TMP/small/state'
	echo \"ping rc=\$?\"
" >"$TMP/full.out" 2>&1
OUT=$(cat "$TMP/full.out")
contains "tmpfs: the first run delivers" "$OUT" "first rc=0"
contains "full disk: main job exit 3" "$OUT" "full rc=3"
contains "full disk: says so" "$OUT" "is full"
contains "full disk: ping exit 3" "$OUT" "ping rc=3"
equals "full disk: only the first run reached the receiver" "$(json_eval 'len(rows)' "$RECV_LOG")" 2
done_testing
