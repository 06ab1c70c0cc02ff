#!/usr/bin/env bash
# `whrun schema validate`: verdict lines, error details, exit codes, json
# output, --ndjson, --remote, draft-07 selection.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/person.json" <<'JSON'
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["name", "age"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "minLength": 2, "pattern": "^[A-Z]"},
    "age": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"enum": ["a", "b"]}}
  }
}
JSON
printf '{"name": "Ada", "age": 36}' >"$TMP/good.json"
printf '{"name": "x", "age": -1.5, "extra": 1, "tags": ["a", "z"]}' >"$TMP/bad.json"

expect_exit 0 "valid instance" schema validate --schema "$TMP/person.json" --instance "$TMP/good.json"
equals "valid prints one line" "$OUT" "valid"

expect_exit 4 "invalid instance" schema validate --schema "$TMP/person.json" --instance "$TMP/bad.json"
first=$(printf '%s\n' "$OUT" | head -n 1)
equals "first line is the verdict" "$first" "invalid"
contains "minLength error" "$OUT" "  /name: must NOT have fewer than 2 characters (/properties/name/minLength)"
contains "pattern error" "$OUT" '/name: must match pattern "^[A-Z]"'
contains "type error" "$OUT" "/age: must be integer (/properties/age/type)"
contains "minimum error" "$OUT" "/age: must be >= 0"
contains "additionalProperties error" "$OUT" "must NOT have additional property 'extra'"
contains "nested enum error" "$OUT" "/tags/1: must be equal to one of the allowed values"
contains "summary on stderr" "$ERR" "1 of 1 instance is invalid"

expect_exit 4 "json output" schema validate --schema "$TMP/person.json" --instance "$TMP/bad.json" --output json
check "json output parses" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["valid"] is False; assert len(d["errors"]) == 6, d' "$OUT"
contains "basic output shape" "$OUT" '"instanceLocation":"/name"'
contains "absolute keyword location" "$OUT" '"absoluteKeywordLocation":"file://'

# ndjson: one verdict per non-blank line, in order
printf '%s\n' '{"name": "Ada", "age": 1}' '' '{"name": "Bob"}' 'not json' '{"name": "Cy", "age": 2}' >"$TMP/many.ndjson"
expect_exit 4 "ndjson with invalid lines" schema validate --schema "$TMP/person.json" --ndjson "$TMP/many.ndjson"
verdicts=$(printf '%s\n' "$OUT" | grep -v '^ ' | tr '\n' ' ')
equals "one verdict per instance" "$verdicts" "valid invalid invalid valid "
contains "missing property" "$OUT" "must have required property 'age'"
contains "bad JSON line is named" "$OUT" "many.ndjson:4"
contains "summary counts" "$ERR" "2 of 4 instances are invalid"
printf '%s\n' '{"name": "Ada", "age": 1}' '{"name": "Bo", "age": 2}' >"$TMP/ok.ndjson"
expect_exit 0 "ndjson all valid" schema validate --schema "$TMP/person.json" --ndjson "$TMP/ok.ndjson"
equals "two valid lines" "$OUT" "valid
valid"
expect_exit 4 "ndjson json output" schema validate --schema "$TMP/person.json" --ndjson "$TMP/many.ndjson" --output json
check "each line is a JSON result" python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
assert [json.loads(l)["valid"] for l in lines] == [True, False, False, True], lines' "$OUT"

# usage errors
expect_exit 2 "no subcommand word" schema frob --schema "$TMP/person.json" --instance "$TMP/good.json"
expect_exit 2 "both instance and ndjson" schema validate --schema "$TMP/person.json" --instance "$TMP/good.json" --ndjson "$TMP/ok.ndjson"
expect_exit 2 "no schema" schema validate --instance "$TMP/good.json"

# --remote maps a URI prefix to a folder; nothing else resolves
mkdir -p "$TMP/remote/defs"
printf '{"$id": "https://schemas.example.com/defs/name.json", "type": "string", "maxLength": 3}' >"$TMP/remote/defs/name.json"
printf '{"properties": {"n": {"$ref": "https://schemas.example.com/defs/name.json"}}}' >"$TMP/uses-remote.json"
printf '{"n": "abcd"}' >"$TMP/long-name.json"
expect_exit 3 "unmapped remote ref is a schema error" schema validate --schema "$TMP/uses-remote.json" --instance "$TMP/long-name.json"
contains "says how to map it" "$ERR" "--remote"
expect_exit 4 "mapped remote ref applies" schema validate --schema "$TMP/uses-remote.json" --instance "$TMP/long-name.json" --remote "https://schemas.example.com/=$TMP/remote"
contains "remote keyword location" "$OUT" "/n: must NOT have more than 3 characters (/properties/n/\$ref/maxLength)"
# a relative file ref next to the schema resolves through file://
printf '{"$ref": "remote/defs/name.json"}' >"$TMP/relative.json"
printf '"toolong"' >"$TMP/str.json"
expect_exit 4 "relative file ref" schema validate --schema "$TMP/relative.json" --instance "$TMP/str.json"

# draft-07 is chosen by $schema: $ref hides siblings, array items
printf '{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "items": [{"$ref": "#/definitions/s", "maxLength": 1}], "additionalItems": false}' >"$TMP/d7.json"
printf '["long string"]' >"$TMP/d7-ok.json"
printf '["a", 2]' >"$TMP/d7-bad.json"
expect_exit 0 "draft-07 \$ref ignores siblings" schema validate --schema "$TMP/d7.json" --instance "$TMP/d7-ok.json"
expect_exit 4 "draft-07 additionalItems" schema validate --schema "$TMP/d7.json" --instance "$TMP/d7-bad.json"
contains "additionalItems message" "$OUT" "must NOT have more than 1 items"

# numbers: 1.0 is an integer, big integers, decimal multipleOf
printf '{"type": "integer", "multipleOf": 1}' >"$TMP/int.json"
printf '1.0' >"$TMP/one.json"
expect_exit 0 "1.0 is an integer" schema validate --schema "$TMP/int.json" --instance "$TMP/one.json"
printf '18446744073709551616' >"$TMP/big.json"
expect_exit 0 "2^64 is an integer" schema validate --schema "$TMP/int.json" --instance "$TMP/big.json"
printf '{"multipleOf": 0.01}' >"$TMP/cents.json"
printf '19.99' >"$TMP/price.json"
expect_exit 0 "19.99 is a multiple of 0.01" schema validate --schema "$TMP/cents.json" --instance "$TMP/price.json"
printf '19.995' >"$TMP/price2.json"
expect_exit 4 "19.995 is not" schema validate --schema "$TMP/cents.json" --instance "$TMP/price2.json"
done_testing
