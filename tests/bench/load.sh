#!/usr/bin/env bash
# Benchmark: how long `whrun validate` (the whole load: Git blobs, YAML,
# hook.schema.json, semantic checks) takes for 1,000 and 10,000 hooks, and
# whether a long history changes it (1 commit vs 10,000 commits with the
# same tree). Reports medians from hyperfine; no assertion (machines are
# shared and noisy).
#
#   tests/bench/load.sh            (uses $WHRUN or build/whrun, building it if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ci/deps bench
if [ -z "${WHRUN:-}" ]; then
	[ -x build/whrun ] || bash ci/build build
	WHRUN=$PWD/build/whrun
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# gen_hooks DIR N: N hooks in files of 100 hooks each.
gen_hooks() {
	python3 - "$1" "$2" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
per = 100
for f in range((n + per - 1) // per):
    lines = ["version: 1", "defaults:", "  timeout: 5s", "  retry: {attempts: 3, backoff: 1s}",
             "common: &h {X-Team: infra, X-Env: prod}", "webhooks:"]
    for i in range(f * per, min(n, (f + 1) * per)):
        lines += [f"  - name: hook-{i:05d}",
                  f"    description: Notify team {i % 37}",
                  "    events: [clusters_deployed, clusters_rollbacked]",
                  "    signature: standard-webhooks",
                  "    secret: ${env:HOOK_SECRET}",
                  "    filter: {/application/name: [\"billing-*\", checkout]}",
                  "    targets:",
                  f"      - url: http://127.0.0.1:18080/hooks/{i}",
                  "        headers: {<<: *h, X-Hook: \"%d\"}" % i]
    sub = os.path.join(out, f"team-{f % 10}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"hooks-{f:03d}.yaml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
PY
}

gen_hooks "$work/h1k" 1000
gen_hooks "$work/h10k" 10000
bash tests/bench/gen-history.sh -q 1 "$work/h1k" "$work/r1k-1"
bash tests/bench/gen-history.sh -q 1 "$work/h10k" "$work/r10k-1"
bash tests/bench/gen-history.sh -q 10000 "$work/h10k" "$work/r10k-10000"
for r in r1k-1 r10k-1 r10k-10000; do
	"$WHRUN" --repo "$work/$r" validate >/dev/null
done
echo "trees equal: $(git -C "$work/r10k-1" rev-parse 'HEAD^{tree}') $(git -C "$work/r10k-10000" rev-parse 'HEAD^{tree}')"

hyperfine -N --warmup 2 --runs 15 --export-json "$work/load.json" \
	-n "1,000 hooks, 1 commit" "$WHRUN --repo $work/r1k-1 validate" \
	-n "10,000 hooks, 1 commit" "$WHRUN --repo $work/r10k-1 validate" \
	-n "10,000 hooks, 10,000 commits" "$WHRUN --repo $work/r10k-10000 validate" >/dev/null
python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
med = {x["command"]: x["median"] for x in r}
for name, m in med.items():
    print(f"{name:32s} median {m * 1000:8.1f} ms")
a, b = med["10,000 hooks, 1 commit"], med["10,000 hooks, 10,000 commits"]
print(f"10,000-commit / 1-commit ratio: {b / a:.2f}")
PY
