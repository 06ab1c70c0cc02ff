#!/usr/bin/env bash
# `validate` checks a plugin kind's targets with the schema its describe
# prints (not the HTTP rules), with file:line:column like any finding;
# reports a kind without a plugin naming the search path; runs describe
# once per process and bounds it with a timeout. The main job refuses the
# same problems (exit 3) before sending anything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

plugin spool '{"type": "object", "required": ["url"], "additionalProperties": false,
 "properties": {"url": {"type": "string", "pattern": "^spool://"}, "depth": {"type": "integer"}}}' \
	'echo "{\"status\": \"delivered\"}"'
# count its describes
sed -i 's|^describe) cat|describe) echo x >>"'"$TMP"'/describes"; cat|' "$PLUGINS/whrun-kind-spool"

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/good.yaml "version: 1
webhooks:
  - name: spool-a
    events: [clusters_deployed]
    kind: spool
    targets: [{url: \"spool://a\", depth: 3}]
  - {name: spool-b, events: [clusters_deployed], kind: spool, targets: [{url: \"spool://b\"}]}
  - {name: spool-c, events: [clusters_deployed], kind: spool, targets: [{url: \"spool://c\"}]}
" "a plugin's own url scheme"
: >"$TMP/describes"
expect_exit 0 "spool:// urls pass the plugin's schema (no http rule)" validate --repo "$R"
equals "describe ran once for three hooks of the kind" "$(wc -l <"$TMP/describes")" 1

commit_file "$R" hooks/bad.yaml "version: 1
webhooks:
  - name: spool-bad
    events: [clusters_deployed]
    kind: spool
    targets:
      - url: \"spool://x\"
        depth: deep
      - url: \"https://not-a-spool\"
      - {url: \"spool://y\", colour: red}
" "bad plugin fields"
expect_exit 3 "bad plugin fields: exit 3" validate --repo "$R"
contains "wrong type, at the field's line:column" "$ERR" "hooks/bad.yaml:8:16: error: spool-bad: target 1: /depth: "
contains "pattern, at the url's line:column" "$ERR" "hooks/bad.yaml:9:14: error: spool-bad: target 2: /url"
contains "unknown field, at the key" "$ERR" "hooks/bad.yaml:10:28: error: spool-bad: target 3"
contains "the finding names the plugin's schema" "$ERR" "schema of whrun-kind-spool"
run_whrun validate --repo "$R" --output json
equals "json output lists the three findings" \
	"$(printf '%s' "$OUT" >"$TMP/v.json"; json_eval "len([e for e in d['errors'] if e['path'] == 'hooks/bad.yaml'])" "$TMP/v.json")" 3

expect_exit 3 "the main job refuses a bad plugin field before sending" \
	--repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "the run names the hook and the field" "$ERR" "spool-bad, target 1: /depth"
git -C "$R" rm -q hooks/bad.yaml && git -C "$R" commit -q -m "drop bad"

commit_file "$R" hooks/missing.yaml "version: 1
webhooks:
  - name: nowhere
    events: [clusters_deployed]
    kind: nosuchkind
    targets: [{url: \"x://y\"}]
" "a kind without a plugin"
expect_exit 3 "a kind without a plugin: exit 3" validate --repo "$R"
contains "located at the kind" "$ERR" "hooks/missing.yaml:5:11: error: nowhere: kind 'nosuchkind' has no plugin"
contains "names the search path" "$ERR" "searched $PLUGINS:"
expect_exit 3 "the main job refuses a kind without a plugin" \
	--repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
contains "run: names the executable" "$ERR" "no executable whrun-kind-nosuchkind"
git -C "$R" rm -q hooks/missing.yaml && git -C "$R" commit -q -m "drop missing"

# A describe that hangs is cut at its timeout; one that prints no schema
# is a finding too.
plugin stuck "$ANY_SCHEMA" 'true'
sed -i 's|^describe) cat|describe) sleep 60; cat|' "$PLUGINS/whrun-kind-stuck"
plugin noschema "$ANY_SCHEMA" 'true'
sed -i 's|^describe) cat|describe) echo nope; exit 0; cat|' "$PLUGINS/whrun-kind-noschema"
commit_file "$R" hooks/broken.yaml "version: 1
webhooks:
  - {name: stuck, events: [clusters_deployed], kind: stuck, targets: [{}]}
  - {name: noschema, events: [clusters_deployed], kind: noschema, targets: [{}]}
" "broken describes"
start=$(date +%s)
expect_exit 3 "broken describes: exit 3" validate --repo "$R"
took=$(( $(date +%s) - start ))
echo "# validate with a hanging describe took ${took} s"
check "a hanging describe is cut at its 5 s timeout" test "$took" -lt 15
contains "hanging describe reported" "$ERR" "describe' did not finish within 5 s"
contains "no-schema describe reported" "$ERR" "describe' printed no JSON Schema"

done_testing
