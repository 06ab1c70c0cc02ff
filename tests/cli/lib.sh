# Shared helpers for the CLI tests (sourced). Each test file makes its own
# temporary directory, builds real Git repositories in it, and ends with
# `done_testing`, which prints "N passed, N failed" and sets the exit code.
set -u
: "${WHRUN:?WHRUN must name the whrun binary}"
: "${WH_SOURCE_DIR:?WH_SOURCE_DIR must name the source tree}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/whrun-test.XXXXXX")
trap 'cleanup_all' EXIT
CLEANUP_CMDS=()
cleanup_all() {
	local c
	for c in "${CLEANUP_CMDS[@]+"${CLEANUP_CMDS[@]}"}"; do eval "$c" || true; done
	rm -rf "$TMP"
}
at_exit() { CLEANUP_CMDS+=("$1"); }

export GIT_AUTHOR_NAME="Test Author" GIT_AUTHOR_EMAIL="author@example.com"
export GIT_COMMITTER_NAME="Test Committer" GIT_COMMITTER_EMAIL="committer@example.com"
export GIT_CONFIG_NOSYSTEM=1 HOME="$TMP/home"
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
export WHRUN_STATE_DIR="$TMP/state"
unset WHRUN_REPO WHRUN_REF

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# check "what" CMD...: passes when CMD succeeds.
check() {
	local what=$1; shift
	if "$@"; then pass; else fail "$what"; fi
}

# run_whrun ARGS...: runs whrun, leaving $OUT, $ERR and $RC.
run_whrun() {
	"$WHRUN" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# expect_exit N "what" ARGS...: runs whrun and checks its exit code.
expect_exit() {
	local want=$1 what=$2; shift 2
	run_whrun "$@"
	if [ "$RC" = "$want" ]; then pass; else
		fail "$what: exit $RC, want $want"
		echo "  stdout: $OUT" >&2
		echo "  stderr: $ERR" >&2
	fi
}

# contains "what" HAYSTACK NEEDLE
contains() {
	case "$2" in *"$3"*) pass ;; *) fail "$1: expected to find [$3] in [$2]" ;; esac
}
not_contains() {
	case "$2" in *"$3"*) fail "$1: did not expect [$3] in [$2]" ;; *) pass ;; esac
}
equals() {
	if [ "$2" = "$3" ]; then pass; else fail "$1: got [$2], want [$3]"; fi
}

# new_repo DIR: an empty non-bare repository.
new_repo() {
	git init -q "$1"
}

# commit_file REPO PATH CONTENT MESSAGE
commit_file() {
	mkdir -p "$(dirname "$1/$2")"
	printf '%s' "$3" >"$1/$2"
	git -C "$1" add "$2"
	git -C "$1" commit -q -m "$4"
}

done_testing() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
	exit $?
}

# start_server VAR CMD...: starts a test server that prints "PORT <n>" once
# it listens, stops it at exit, and sets VAR to the port.
start_server() {
	local var=$1 out="$TMP/server-$RANDOM.out" port=""
	shift
	"$@" >"$out" 2>&1 &
	at_exit "kill $! 2>/dev/null"
	for _ in $(seq 200); do
		port=$(sed -n 's/^PORT //p' "$out")
		[ -n "$port" ] && break
		sleep 0.05
	done
	if [ -z "$port" ]; then
		cat "$out" >&2
		echo "test server did not start: $*" >&2
		exit 1
	fi
	printf -v "$var" '%s' "$port"
}

# start_receiver [ARGS...]: tests/tools/receiver.py on 127.0.0.1; its port
# in $RECV_PORT, its log of every request (JSON lines) in $RECV_LOG.
start_receiver() {
	RECV_LOG="$TMP/receiver-$RANDOM.jsonl"
	: >"$RECV_LOG"
	start_server RECV_PORT python3 "$WH_SOURCE_DIR/tests/tools/receiver.py" --log "$RECV_LOG" "$@"
}

# start_verifier CONFIG: tests/node/verifying-receiver.js; its port in
# $VER_PORT, its log in $VER_LOG.
start_verifier() {
	bash "$WH_SOURCE_DIR/tests/node/ensure-deps.sh" || exit 1
	VER_LOG="$TMP/verifier-$RANDOM.jsonl"
	: >"$VER_LOG"
	start_server VER_PORT node "$WH_SOURCE_DIR/tests/node/verifying-receiver.js" "$1" "$VER_LOG"
}

# json_eval EXPR FILE: evaluates a Python expression over a JSON file (d) or
# a JSON-lines file, *.jsonl or not valid JSON as a whole (rows).
json_eval() {
	python3 -c '
import json, sys
text = open(sys.argv[2]).read()
d = None
if not sys.argv[2].endswith(".jsonl"):
    try:
        d = json.loads(text)
    except ValueError:
        pass
rows = [json.loads(l) for l in text.splitlines() if l.strip()] if d is None else None
print(eval(sys.argv[1]))' "$1" "$2"
}

# sql QUERY: one value (or rows joined by spaces) from the journal at $DB
# (default: the state dir's), opened read-only.
sql() {
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(" ".join("|".join(str(c) for c in r) for r in db.execute(sys.argv[2])))' \
		"${DB:-$WHRUN_STATE_DIR/journal.db}" "$1"
}

# free_port: a loopback port nobody listens on (bound, then released).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
