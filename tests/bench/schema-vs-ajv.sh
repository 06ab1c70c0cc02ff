#!/usr/bin/env bash
# tests/bench/schema-vs-ajv.sh [COUNT]: times whrun's JSON Schema validator
# against ajv on COUNT (default 100000) valid clusters_deployed payloads of
# about 1 KB, one NDJSON file, whole processes (start-up, reading and
# parsing included):
#   whrun schema validate --schema schemas/clusters_deployed.json --ndjson FILE
#   node tests/bench/ajv-bench.js schemas/clusters_deployed.json FILE
# with hyperfine (installed by `bash ci/deps bench` when missing), or
# alternating runs timed here when hyperfine cannot be had. Prints both
# medians and the ratio whrun/ajv. The binary is $WHRUN, else build/whrun.
# RUNS sets the number of timed runs of each (default 5).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
WHRUN=${WHRUN:-$src/build/whrun}
count=${1:-100000}
runs=${RUNS:-5}
schema=$src/schemas/clusters_deployed.json

if [ ! -x "$WHRUN" ]; then
	echo "schema-vs-ajv: no whrun at $WHRUN (build it, or set WHRUN)" >&2
	exit 2
fi
bash "$src/tests/node/ensure-deps.sh"
command -v hyperfine >/dev/null 2>&1 || bash "$src/ci/deps" bench || true

work=$(mktemp -d "${TMPDIR:-/tmp}/whrun-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
data=$work/clusters_deployed.ndjson
node "$src/tests/bench/gen-payloads.js" --count "$count" >"$data"
echo "input: $count payloads, $(($(wc -c <"$data") / 1024 / 1024)) MiB"

# Both must see every payload as valid before their times mean anything.
ajv_valid=$(node "$src/tests/bench/ajv-bench.js" "$schema" "$data" --stats)
set +e
"$WHRUN" schema validate --schema "$schema" --ndjson "$data" >"$work/whrun.out"
rc=$?
set -e
whrun_valid=$(grep -c '^valid' "$work/whrun.out" || true)
if [ "$rc" != 0 ] || [ "$ajv_valid" != "$count" ] || [ "$whrun_valid" != "$count" ]; then
	echo "schema-vs-ajv: verdicts differ: ajv $ajv_valid valid, whrun $whrun_valid valid (exit $rc) of $count" >&2
	sed -n '/^invalid/,+5p' "$work/whrun.out" | head -n 12 >&2
	exit 1
fi

q() { printf '%q' "$1"; }
whrun_cmd="$(q "$WHRUN") schema validate --schema $(q "$schema") --ndjson $(q "$data") >/dev/null"
ajv_cmd="node $(q "$src/tests/bench/ajv-bench.js") $(q "$schema") $(q "$data") >/dev/null"

if command -v hyperfine >/dev/null 2>&1; then
	hyperfine --warmup 1 --runs "$runs" --export-json "$work/times.json" \
		-n whrun "$whrun_cmd" -n ajv "$ajv_cmd"
	read -r whrun_s ajv_s < <(node -e '
		const r = require(process.argv[1]).results;
		const m = (n) => r.find((x) => x.command === n).median;
		console.log(m("whrun"), m("ajv"));' "$work/times.json")
else
	echo "schema-vs-ajv: no hyperfine; $runs alternating runs of each" >&2
	median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
	time_of() {
		local t0 t1
		t0=$(date +%s%N)
		bash -c "$1"
		t1=$(date +%s%N)
		echo "$(((t1 - t0) / 1000000))" | awk '{ print $1 / 1000 }'
	}
	: >"$work/whrun.t"
	: >"$work/ajv.t"
	for _ in $(seq "$runs"); do
		time_of "$whrun_cmd" >>"$work/whrun.t"
		time_of "$ajv_cmd" >>"$work/ajv.t"
	done
	whrun_s=$(median <"$work/whrun.t")
	ajv_s=$(median <"$work/ajv.t")
fi
awk -v w="$whrun_s" -v a="$ajv_s" -v n="$count" 'BEGIN {
	printf "median on %d payloads: whrun %.3f s, ajv %.3f s; whrun/ajv = %.2f\n", n, w, a, w / a
	printf "per payload: whrun %.2f us, ajv %.2f us\n", w * 1e6 / n, a * 1e6 / n
}'
