#!/usr/bin/env bash
# The address guard, for real: inside a private network namespace (unshare
# -rnm, so no packet can leave the machine) 169.254.169.254 and fe80::1
# live on the namespace's loopback with receivers behind them. Deliveries
# there, by literal address, by a name from /etc/hosts (bind-mounted inside
# the namespace only), in decimal and in IPv4-mapped IPv6 form, must be
# refused before connecting (the receivers log nothing), and must arrive
# once --allow-net covers the address.
. "$WH_SOURCE_DIR/tests/cli/lib.sh"

TOOL=${WH_BUILD_DIR:?}/tests/deliver_tool
RECEIVER=$WH_SOURCE_DIR/tests/tools/receiver.py

# Outside the namespace: a bad CIDR is a usage error and nothing is sent.
"$TOOL" --allow-net 169.254.0.0/99 http://127.0.0.1:1/ >"$TMP/out" 2>"$TMP/err"
equals "bad --allow-net exits 2" "$?" 2
contains "bad --allow-net named" "$(cat "$TMP/err")" "bad --allow-net '169.254.0.0/99'"
equals "bad --allow-net sends nothing" "$(cat "$TMP/out")" ""

if ! unshare -rnm true 2>"$TMP/unshare.err"; then
	echo "skip: cannot create a private network namespace (unshare -rnm:" \
		"$(cat "$TMP/unshare.err")); the guard is covered by test_deliver's unit checks only"
	done_testing
fi

cat >"$TMP/inner.sh" <<'EOF'
set -u
cd "$1"
tool=$2 receiver=$3
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip -6 addr add fe80::1/64 dev lo nodad
printf '127.0.0.1 localhost\n169.254.169.254 metadata.test\n' >hosts
mount --bind hosts /etc/hosts

python3 "$receiver" --host 169.254.169.254 --log meta.log >meta.port &
meta_pid=$!
python3 "$receiver" --host :: --log v6.log >v6.port &
v6_pid=$!
trap 'kill $meta_pid $v6_pid 2>/dev/null; wait' EXIT
for _ in $(seq 100); do
	[ -s meta.port ] && [ -s v6.port ] && break
	sleep 0.1
done
P=$(awk '{print $2}' meta.port)
V=$(awk '{print $2}' v6.port)
[ -n "$P" ] && [ -n "$V" ] || { echo "receivers did not start" >&2; exit 1; }

deliver() { # NAME ARGS...: deliver_tool's output into NAME.out, exit code into NAME.rc
	local name=$1; shift
	"$tool" --attempts 3 --backoff-ms 10 --timeout-ms 3000 "$@" >"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
}
deliver refused-literal "http://169.254.169.254:$P/literal"
deliver refused-name "http://metadata.test:$P/name"
deliver refused-decimal "http://2852039166:$P/decimal"
deliver refused-mapped "http://[::ffff:169.254.169.254]:$P/mapped"
deliver refused-v6 "http://[fe80::1%25lo]:$V/v6"
deliver refused-narrow --allow-net 169.254.169.0/30 "http://169.254.169.254:$P/narrow"
deliver allowed-literal --allow-net 169.254.0.0/16 "http://169.254.169.254:$P/ok?literal"
deliver allowed-name --allow-net 169.254.169.254 "http://metadata.test:$P/ok?name"
deliver allowed-mapped --allow-net 169.254.0.0/16 "http://[::ffff:169.254.169.254]:$P/ok?mapped"
deliver allowed-v6 --allow-net fe80::/10 "http://[fe80::1%25lo]:$V/ok?v6"
deliver loopback "http://127.0.0.1:$V/ok?loopback" # the v6 receiver listens on :: (dual stack)
EOF

unshare -rnm bash "$TMP/inner.sh" "$TMP" "$TOOL" "$RECEIVER" >"$TMP/inner.out" 2>&1
equals "namespace script ran" "$?" 0
cat "$TMP/inner.out" >&2

logged() { # LOG PATH: how many requests for PATH reached the receiver
	[ -f "$TMP/$1" ] || { echo 0; return; }
	grep -c "\"path\": \"$2\"" "$TMP/$1"
}

while IFS='|' read -r name log path addr lift; do
	out=$(cat "$TMP/$name.out" 2>/dev/null)
	equals "$name: exit 1" "$(cat "$TMP/$name.rc" 2>/dev/null)" 1
	contains "$name: refused" "$out" "\"error\":\"address $addr refused (link-local/metadata); --allow-net $lift lifts it\""
	contains "$name: failed, final" "$out" '"outcome":"failed","status":0,"final":true'
	not_contains "$name: not retried" "$out" '"attempt":2'
	equals "$name: nothing reached the receiver" "$(logged "$log" "$path")" 0
done <<'CASES'
refused-literal|meta.log|/literal|169.254.169.254|169.254.0.0/16
refused-name|meta.log|/name|169.254.169.254|169.254.0.0/16
refused-decimal|meta.log|/decimal|169.254.169.254|169.254.0.0/16
refused-mapped|meta.log|/mapped|::ffff:169.254.169.254|169.254.0.0/16
refused-v6|v6.log|/v6|fe80::1|fe80::/10
refused-narrow|meta.log|/narrow|169.254.169.254|169.254.0.0/16
CASES

while IFS='|' read -r name log path; do
	out=$(cat "$TMP/$name.out" 2>/dev/null)
	equals "$name: exit 0" "$(cat "$TMP/$name.rc" 2>/dev/null)" 0
	contains "$name: delivered" "$out" '"outcome":"delivered","status":200'
	equals "$name: reached the receiver once" "$(logged "$log" "$path")" 1
done <<'CASES'
allowed-literal|meta.log|/ok?literal
allowed-name|meta.log|/ok?name
allowed-mapped|meta.log|/ok?mapped
allowed-v6|v6.log|/ok?v6
loopback|v6.log|/ok?loopback
CASES

done_testing
