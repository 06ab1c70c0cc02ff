#!/usr/bin/env bash
# tests/node/ensure-deps.sh: installs the npm packages of tests/node (npm ci,
# from package-lock.json) when node_modules is missing or older than the
# lock file. Tests call it before using ajv or the signature verifiers; it is
# safe to call from tests running in parallel (one installs, the others wait).
# Quiet unless it installs or fails.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "tests/node: node and npm are needed (bash ci/deps test installs them)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "tests/node: Node.js 18 or later is needed, found $(node --version)" >&2
	exit 1
fi

install() {
	local stamp=$dir/node_modules/.package-lock.json
	if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
		echo "tests/node: npm ci" >&2
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
}

lock="${TMPDIR:-/tmp}/whrun-npm-$(printf '%s' "$dir" | cksum | cut -d' ' -f1).lock"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$lock"
	flock 9
fi
install
