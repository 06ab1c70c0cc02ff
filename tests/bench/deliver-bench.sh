#!/usr/bin/env bash
# deliver-bench.sh: how fast the delivery engine empties a run, on loopback.
#
#   tests/bench/deliver-bench.sh BUILD_DIR [N] [CONCURRENCY]
#
# 1. latency-bound: N targets (default 200) that each answer after 1 s
#    (tests/tools/receiver.py /sleep/1000) at CONCURRENCY (default 64) in
#    flight: expect about ceil(N / CONCURRENCY) seconds.
# 2. throughput: N * 10 targets answered at once by nginx (when installed),
#    over reused keep-alive connections.
# Prints deliver_tool's summary line for each (elapsed_ms, outcomes).
set -euo pipefail
build=${1:?usage: deliver-bench.sh BUILD_DIR [N] [CONCURRENCY]}
n=${2:-200}
conc=${3:-64}
src=$(cd "$(dirname "$0")/../.." && pwd)
tool=$build/tests/deliver_tool
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

python3 "$src/tests/tools/receiver.py" >"$tmp/port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$tmp/port")

urls=()
for i in $(seq "$n"); do urls+=("http://127.0.0.1:$port/sleep/1000?$i"); done
echo "latency-bound: $n targets answering in 1 s, concurrency $conc"
"$tool" --concurrency "$conc" --timeout-ms 30000 "${urls[@]}" | tail -1

if command -v nginx >/dev/null; then
	nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx;
	server {
		listen 127.0.0.1:$nport;
		keepalive_requests 100000;
		location / { return 200 "ok"; }
	}
}
EOF
	nginx -c "$tmp/nginx.conf" -p "$tmp/nginx" &
	pids+=($!)
	sleep 0.5
	urls=()
	for i in $(seq $((n * 10))); do urls+=("http://127.0.0.1:$nport/hook/$i"); done
	echo "throughput: $((n * 10)) targets answered at once (nginx), concurrency $conc"
	"$tool" --concurrency "$conc" "${urls[@]}" | tail -1
fi
