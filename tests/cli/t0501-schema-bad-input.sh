#!/usr/bin/env bash
# `whrun schema validate` on hostile input: each case ends in a clear error
# or a correct verdict, never a crash or a hang.
. "$(dirname "$0")/lib.sh"

printf '{}' >"$TMP/empty.json"
printf '{"type": "object"}' >"$TMP/object.json"

# invalid JSON, in the schema and in the instance
printf '{"type": ' >"$TMP/trunc.json"
expect_exit 3 "schema that is not JSON" schema validate --schema "$TMP/trunc.json" --instance "$TMP/empty.json"
contains "names file and position" "$ERR" "trunc.json:1:"
contains "says invalid JSON" "$ERR" "invalid JSON"
expect_exit 4 "instance that is not JSON" schema validate --schema "$TMP/object.json" --instance "$TMP/trunc.json"
contains "instance JSON error in the details" "$OUT" "invalid JSON"
expect_exit 3 "missing schema file" schema validate --schema "$TMP/nope.json" --instance "$TMP/empty.json"

# a schema that is not a schema
printf '[1, 2]' >"$TMP/array.json"
expect_exit 3 "array as schema" schema validate --schema "$TMP/array.json" --instance "$TMP/empty.json"
contains "not a schema" "$ERR" "is not a schema"
printf '{"type": 12, "minLength": -1, "required": "name"}' >"$TMP/bad-keywords.json"
expect_exit 3 "meta-schema violations" schema validate --schema "$TMP/bad-keywords.json" --instance "$TMP/empty.json"
contains "reports the schema as invalid" "$ERR" "the schema is not valid"
contains "lists the bad keyword" "$ERR" "/minLength: must be >= 0"
printf '{"pattern": "(unclosed"}' >"$TMP/bad-regex.json"
expect_exit 3 "bad pattern" schema validate --schema "$TMP/bad-regex.json" --instance "$TMP/empty.json"
contains "regex error" "$ERR" "bad regular expression"

# $ref to nowhere
printf '{"$ref": "#/$defs/missing"}' >"$TMP/dangling.json"
expect_exit 3 "dangling pointer ref" schema validate --schema "$TMP/dangling.json" --instance "$TMP/empty.json"
contains "names the ref" "$ERR" "#/\$defs/missing"
printf '{"$ref": "https://nowhere.invalid/schema.json"}' >"$TMP/remote.json"
expect_exit 3 "unknown remote ref" schema validate --schema "$TMP/remote.json" --instance "$TMP/empty.json"
contains "no network" "$ERR" "no network is used"

# $ref cycles terminate
printf '{"$ref": "#"}' >"$TMP/self.json"
timeout 60 "$WHRUN" schema validate --schema "$TMP/self.json" --instance "$TMP/empty.json" >/dev/null 2>&1
equals "self ref terminates within a minute" "$?" 4
run_whrun schema validate --schema "$TMP/self.json" --instance "$TMP/empty.json"
equals "self ref exit code" "$RC" 4
contains "self ref is explained" "$OUT" "nested deeper than"
printf '{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}' >"$TMP/loop.json"
run_whrun schema validate --schema "$TMP/loop.json" --instance "$TMP/empty.json"
equals "two-step cycle exit code" "$RC" 4
# a recursive schema on recursive data is fine
printf '{"type": "array", "items": {"$ref": "#"}}' >"$TMP/tree.json"
printf '[[], [[]], [[[]]]]' >"$TMP/tree-data.json"
expect_exit 0 "legitimate recursion" schema validate --schema "$TMP/tree.json" --instance "$TMP/tree-data.json"

# 10,000 levels of nesting, in the instance and in the schema
python3 -c 'print("[" * 10000 + "]" * 10000)' >"$TMP/deep-instance.json"
expect_exit 4 "10,000-deep instance" schema validate --schema "$TMP/tree.json" --instance "$TMP/deep-instance.json"
contains "depth named" "$OUT" "maximum parsing depth"
python3 -c 'print("{\"items\": " * 10000 + "{}" + "}" * 10000)' >"$TMP/deep-schema.json"
expect_exit 3 "10,000-deep schema" schema validate --schema "$TMP/deep-schema.json" --instance "$TMP/empty.json"
contains "schema depth named" "$ERR" "maximum parsing depth"
# 2,000 levels parse, then hit the evaluation bound
python3 -c 'print("[" * 2000 + "]" * 2000)' >"$TMP/deep2k.json"
expect_exit 4 "2,000-deep instance against a recursive schema" schema validate --schema "$TMP/tree.json" --instance "$TMP/deep2k.json"
contains "evaluation bound" "$OUT" "nested deeper than"
python3 -c 'print("{\"items\": " * 1500 + "{}" + "}" * 1500)' >"$TMP/deep-schema-1500.json"
run_whrun schema validate --schema "$TMP/deep-schema-1500.json" --instance "$TMP/empty.json"
check "1,500-deep schema gives a verdict, not a crash" test "$RC" = 0 -o "$RC" = 3

# a 50 MB instance
python3 - "$TMP/big.json" <<'PY'
import json, sys
item = {"id": 12345, "name": "cluster-name-with-some-length", "tags": ["a", "b", "c"], "ok": True, "ratio": 0.5}
with open(sys.argv[1], "w") as f:
    f.write("[")
    n = 0
    first = True
    while n < 50 * 1024 * 1024:
        s = json.dumps(item)
        f.write(("" if first else ",") + s)
        first = False
        n += len(s) + 1
    f.write("]")
PY
printf '{"type": "array", "items": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string", "pattern": "^[a-z-]+$"}, "tags": {"type": "array", "uniqueItems": true}}}}' >"$TMP/big-schema.json"
expect_exit 0 "50 MB instance" schema validate --schema "$TMP/big-schema.json" --instance "$TMP/big.json"
printf '{"type": "array", "items": {"properties": {"ratio": {"type": "integer"}}}}' >"$TMP/big-schema2.json"
expect_exit 4 "50 MB instance, every item invalid" schema validate --schema "$TMP/big-schema2.json" --instance "$TMP/big.json"
contains "errors for the items" "$OUT" "/0/ratio: must be integer"
done_testing
