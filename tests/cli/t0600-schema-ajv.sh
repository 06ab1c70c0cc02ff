#!/usr/bin/env bash
# The JSON Schema validator against ajv, a differential test: for every
# shipped schema (schemas/*.json), tests/node/schema-diff.js derives a few
# hundred instances from the schema's seeds by seeded mutations and records
# ajv's verdicts (draft 2020-12, format as an annotation); whrun judges the
# same lines with `schema validate --ndjson` and must agree line by line.
# Also: the example payloads are valid for whrun, and the samples and
# schemas hold what tests/node/check-samples.js checks (with ajv).
# WHRUN_DIFF_SEED picks another seed (default: the generator's own).
. "$(dirname "$0")/lib.sh"

NODE_DIR=$WH_SOURCE_DIR/tests/node
SHOW=10 # disagreements shown per schema

if ! bash "$NODE_DIR/ensure-deps.sh"; then
	fail "tests/node npm packages could not be installed"
	done_testing
fi

# The Node side: samples, examples and schema rules under ajv.
if node "$NODE_DIR/check-samples.js" >"$TMP/samples.out" 2>&1; then pass; else
	fail "check-samples.js (ajv) failed:"
	grep -v '^ok' "$TMP/samples.out" >&2
fi

seed_args=()
[ -n "${WHRUN_DIFF_SEED:-}" ] && seed_args=(--seed "$WHRUN_DIFF_SEED")
if ! node "$NODE_DIR/schema-diff.js" "${seed_args[@]+"${seed_args[@]}"}" "$TMP/diff" >"$TMP/gen.out" 2>&1; then
	fail "schema-diff.js could not generate the instances"
	cat "$TMP/gen.out" >&2
	done_testing
fi
head -n 1 "$TMP/gen.out"

# block N FILE: the Nth verdict line of whrun's output and its indented
# details.
block() {
	awk -v n="$1" '/^[^ \t]/ { k++ } k == n { print "    " $0 } k > n { exit }' "$2"
}

total=0
while IFS=$'\t' read -r name schema count valid; do
	ndjson=$TMP/diff/$name.ndjson
	want=$TMP/diff/$name.verdicts
	out=$TMP/$name.whrun
	"$WHRUN" schema validate --schema "$WH_SOURCE_DIR/$schema" --ndjson "$ndjson" >"$out" 2>"$TMP/$name.err"
	rc=$?
	total=$((total + count))
	want_rc=4
	[ "$valid" = "$count" ] && want_rc=0
	if [ "$rc" = "$want_rc" ]; then pass; else
		fail "$name: whrun exited $rc, want $want_rc ($valid of $count valid for ajv)"
		head -n 5 "$TMP/$name.err" >&2
	fi
	awk '/^[^ \t]/ && NF { print $1 }' "$out" >"$TMP/$name.got"
	got_count=$(wc -l <"$TMP/$name.got")
	if [ "$got_count" != "$count" ]; then
		fail "$name: whrun printed $got_count verdicts for $count instances"
		continue
	fi
	paste -d ' ' "$want" "$TMP/$name.got" | awk '$1 != $2 { print NR, $1, $2 }' >"$TMP/$name.diff"
	if [ ! -s "$TMP/$name.diff" ]; then
		pass
		continue
	fi
	fail "$name: whrun and ajv disagree on $(wc -l <"$TMP/$name.diff") of $count instances ($schema)"
	head -n "$SHOW" "$TMP/$name.diff" | while read -r line ajv got; do
		echo "  line $line: ajv $ajv, whrun $got" >&2
		echo "    payload: $(sed -n "${line}p" "$ndjson" | cut -c 1-600)" >&2
		block "$line" "$out" >&2
	done
done <"$TMP/diff/index.tsv"
echo "compared $total instances"

# Each example payload is valid for whrun against its stage's schema.
for example in "$WH_SOURCE_DIR"/hooks/examples/*.json; do
	stage=$(basename "$example" .json)
	expect_exit 0 "example $stage is valid" schema validate \
		--schema "$WH_SOURCE_DIR/schemas/$stage.json" --instance "$example"
	case "$OUT" in valid*) pass ;; *) fail "example $stage: output [$OUT] does not begin with valid" ;; esac
done

done_testing
