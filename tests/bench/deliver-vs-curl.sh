#!/usr/bin/env bash
# deliver-vs-curl.sh: whrun's whole delivery path against curl, on loopback.
#
#   tests/bench/deliver-vs-curl.sh [ROUNDS] [RUNS_PER_ROUND]
#
# Two benchmarks, each whole-process wall time of both sides, measured with
# hyperfine side by side in the same run and alternated: ROUNDS rounds
# (default 5), each timing whrun then curl for RUNS_PER_ROUND runs (default
# 10 for one target, 3 for 1,000) after one warm-up run each. The medians
# are over every run of every round.
#
# 1. one target:   `whrun --stage clusters_deployed --payload F` with one
#                  hook (standard-webhooks, secret from the environment) and
#                  one target, vs `curl -s -o /dev/null -X POST ... @F URL`.
#                  Goal: whrun <= 1.5x curl.
# 2. 1,000 targets: one hook with 1,000 targets /t/1 .. /t/1000, vs
#                  `curl --parallel --parallel-max 64` to the same URLs.
#                  Goal: whrun <= 1.2x curl.
#
# The receiver is nginx (`return 200`, access_log off, keep-alive) on
# 127.0.0.1 with its own config in a temp dir, started and stopped here.
# whrun does its whole job: loads the definitions from a temp Git repo,
# validates the payload against the stage schema, signs, journals (state
# dir in the temp dir, REUSED across runs as a real deploy controller's
# would be; WHRUN_BENCH_FRESH_STATE=1 removes it before every run, in
# hyperfine's untimed --prepare step). curl only posts.
#
# Environment: WHRUN (default build/whrun, built when missing),
# WHRUN_BENCH_FRESH_STATE=1, WHRUN_BENCH_ONLY=1|1000 to run one benchmark.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
rounds=${1:-5}
runs=${2:-}
bash ci/deps bench >/dev/null
if [ -z "${WHRUN:-}" ]; then
	[ -x build/whrun ] || bash ci/build build
	WHRUN=$src/build/whrun
fi
payload=$src/hooks/examples/clusters_deployed.json
tmp=$(mktemp -d)
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the receiver --------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	client_body_buffer_size 64k;
	keepalive_timeout 65s;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$port;
		location / { return 200 "ok\n"; }
	}
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
nginx_pid=$!
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$port/" && break
	sleep 0.05
done
curl -sf -o /dev/null -X POST --data-binary @"$payload" "http://127.0.0.1:$port/t/0" ||
	{ cat "$tmp/nginx/error.log" >&2; echo "nginx did not start" >&2; exit 1; }

# --- config repositories -------------------------------------------------
# make_repo DIR N: one hook with N targets /t/1 .. /t/N.
make_repo() {
	local dir=$1 n=$2 i
	mkdir -p "$dir/hooks"
	{
		echo "version: 1"
		echo "webhooks:"
		echo "  - name: bench"
		echo "    events: [clusters_deployed]"
		echo "    signature: standard-webhooks"
		echo "    secret: \${env:WHRUN_BENCH_SECRET}"
		echo "    retry: {attempts: 1}"
		echo "    targets:"
		for i in $(seq "$n"); do echo "      - url: http://127.0.0.1:$port/t/$i"; done
	} >"$dir/hooks/bench.yaml"
	git -C "$dir" init -q
	git -C "$dir" add hooks
	git -C "$dir" -c user.name=bench -c user.email=bench@example.com commit -qm "bench hooks"
}
export WHRUN_BENCH_SECRET=whsec_ZGVtby1zZWNyZXQtb25lLWZvci13aHJ1bg==
export WHRUN_STATE_DIR=$tmp/state
export WHRUN_REF=HEAD

prepare=()
if [ "${WHRUN_BENCH_FRESH_STATE:-0}" = 1 ]; then
	prepare=(--prepare "rm -rf $tmp/state")
	state_note="fresh state dir per run (removed before each run, untimed)"
else
	state_note="state dir reused across runs (the journal grows)"
fi

# median FILE...: the median of every run time in hyperfine JSON exports,
# per command index, printed "whrun_ms curl_ms".
median() {
	python3 - "$@" <<'PY'
import json, statistics, sys
times = [[], []]
for f in sys.argv[1:]:
    for k, r in enumerate(json.load(open(f))["results"]):
        times[k] += r["times"]
w, c = statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000
def spread(t):
    t = sorted(x * 1000 for x in t)
    return "%.1f-%.1f" % (t[len(t) // 10], t[len(t) * 9 // 10])
print("%.2f %.2f %d %s %s" % (w, c, len(times[0]), spread(times[0]), spread(times[1])))
PY
}

results=()
# bench NAME GOAL NRUNS WHRUN_CMD CURL_CMD
bench() {
	local name=$1 goal=$2 nruns=$3 wcmd=$4 ccmd=$5 r files=()
	for r in $(seq "$rounds"); do
		hyperfine -N --style none --warmup 1 --runs "$nruns" "${prepare[@]}" \
			--export-json "$tmp/$name.$r.json" -n whrun "$wcmd" -n curl "$ccmd" \
			>/dev/null 2>"$tmp/hyperfine.err" || { cat "$tmp/hyperfine.err" >&2; exit 1; }
		files+=("$tmp/$name.$r.json")
	done
	read -r w c n ws cs < <(median "${files[@]}")
	results+=("$(python3 -c "
w, c, g = $w, $c, $goal
r = w / c
print('%-13s %10.2f %10.2f %7.2fx %6.1fx  %-4s  %4d  %s / %s' % ('$name', w, c, r, g, 'met' if r <= g else 'MISS', $n, '$ws', '$cs'))")")
}

only=${WHRUN_BENCH_ONLY:-}

# --- 1. one target --------------------------------------------------------
if [ -z "$only" ] || [ "$only" = 1 ]; then
	make_repo "$tmp/repo1" 1
	# a check that the run really delivers (and the first journal open)
	out=$("$WHRUN" --repo "$tmp/repo1" --stage clusters_deployed --payload "$payload")
	grep -q '^delivered .*HTTP 200' <<<"$out" || { echo "$out" >&2; exit 1; }
	bench "1-target" 1.5 "${runs:-10}" \
		"$WHRUN --repo $tmp/repo1 --stage clusters_deployed --payload $payload" \
		"curl -s -o /dev/null -X POST -H Content-Type:application/json --data-binary @$payload http://127.0.0.1:$port/t/1"
fi

# --- 2. 1,000 targets -----------------------------------------------------
if [ -z "$only" ] || [ "$only" = 1000 ]; then
	make_repo "$tmp/repo1000" 1000
	for i in $(seq 1000); do
		printf 'url = "http://127.0.0.1:%s/t/%s"\noutput = "/dev/null"\n' "$port" "$i"
	done >"$tmp/urls.cfg"
	out=$("$WHRUN" --repo "$tmp/repo1000" --stage clusters_deployed --payload "$payload")
	ok=$(grep -c '^delivered .*HTTP 200' <<<"$out" || true)
	[ "$ok" = 1000 ] || { echo "$out" | grep -v '^delivered' | head >&2; echo "only $ok of 1000 delivered" >&2; exit 1; }
	bench "1000-targets" 1.2 "${runs:-3}" \
		"$WHRUN --repo $tmp/repo1000 --stage clusters_deployed --payload $payload" \
		"curl --parallel --parallel-max 64 -s -X POST -H Content-Type:application/json --data-binary @$payload -K $tmp/urls.cfg"
fi

echo "whrun $("$WHRUN" --version 2>/dev/null | head -1) vs $(curl --version | head -1 | cut -d' ' -f1-2); nginx return 200 on 127.0.0.1"
echo "$state_note; $rounds rounds alternating whrun/curl; medians of all runs (ms); p10-p90 spread"
printf '%-13s %10s %10s %8s %7s  %-4s  %4s  %s\n' bench whrun_ms curl_ms ratio goal "" runs "whrun p10-p90 / curl p10-p90"
printf '%s\n' "${results[@]}"
