#!/usr/bin/env bash
# The main job refuses link-local/metadata targets at connect time, tested
# inside a private network namespace (unshare -rnm) where 169.254.169.254
# lives on the namespace's own loopback: not one packet can leave the
# machine even if the guard were broken. Both the literal address and a
# name resolving to it (a bind-mounted /etc/hosts) are refused, nothing
# reaches the receiver, the journal says why; --allow-net lifts it.
. "$(dirname "$0")/lib.sh"

if ! unshare -rnm true 2>"$TMP/unshare.err"; then
	echo "skip: cannot create a private network namespace: $(cat "$TMP/unshare.err")"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

cat >"$TMP/inner.sh" <<'INNER'
set -eu
cd "$1"
whrun=$2 receiver=$3 payload=$4
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
printf '127.0.0.1 localhost\n169.254.169.254 metadata.test\n' >hosts
mount --bind hosts /etc/hosts
python3 "$receiver" --host 169.254.169.254 --log meta.log >meta.port &
trap 'kill $! 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s meta.port ] && break; sleep 0.1; done
P=$(awk '{print $2}' meta.port)
git init -q repo
mkdir -p repo/hooks
cat >repo/hooks/meta.yaml <<YAML
version: 1
webhooks:
  - name: literal
    events: [clusters_deployed]
    retry: {attempts: 3, backoff: 10ms}
    targets: [{url: "http://169.254.169.254:$P/ok?literal"}]
  - name: by-name
    events: [clusters_deployed]
    retry: {attempts: 3, backoff: 10ms}
    targets: [{url: "http://metadata.test:$P/ok?name"}]
YAML
git -C repo add -A && git -C repo commit -qm meta
set +e
"$whrun" --repo repo --state state1 --stage clusters_deployed --payload "$payload" >refused.out 2>&1
echo $? >refused.rc
"$whrun" --state state1 deliveries --output json >refused.json 2>&1
cp meta.log refused.log
"$whrun" --repo repo --state state2 --stage clusters_deployed --payload "$payload" \
	--allow-net 169.254.0.0/16 >allowed.out 2>&1
echo $? >allowed.rc
INNER

W="$TMP/ns"
mkdir -p "$W"
unshare -rnm bash "$TMP/inner.sh" "$W" "$WHRUN" "$WH_SOURCE_DIR/tests/tools/receiver.py" \
	"$WH_SOURCE_DIR/hooks/examples/clusters_deployed.json" 2>"$TMP/inner.err" || cat "$TMP/inner.err" >&2
equals "refused: exit 1" "$(cat "$W/refused.rc")" 1
equals "refused: the receiver saw nothing" "$(wc -l <"$W/refused.log")" 0
equals "refused: failed after one attempt each (permanent, not retried)" \
	"$(json_eval "sorted((x['hook'], x['status'], x['attempts']) for x in d)" "$W/refused.json")" \
	"[('by-name', 'failed', 1), ('literal', 'failed', 1)]"
contains "refused: the reason is journaled" "$(cat "$W/refused.json")" "169.254.169.254 refused"
contains "refused: the summary names --allow-net" "$(cat "$W/refused.out")" "--allow-net"
equals "--allow-net: exit 0" "$(cat "$W/allowed.rc")" 0
equals "--allow-net: both arrived once" "$(json_eval "sorted(r['path'] for r in rows)" "$W/meta.log")" \
	"['/ok?literal', '/ok?name']"
done_testing
