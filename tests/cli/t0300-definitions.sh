#!/usr/bin/env bash
# Semantic checks of definitions: every rule, all errors at once, locations.
. "$(dirname "$0")/lib.sh"

R="$TMP/repo"
new_repo "$R"

# validate_file CONTENT: commits CONTENT as hooks/t.yaml and runs validate.
validate_file() {
	commit_file "$R" hooks/t.yaml "$1" "case"
	run_whrun --repo "$R" validate
}

# expect_invalid WHAT NEEDLE CONTENT: validate fails with exit 3 naming NEEDLE.
expect_invalid() {
	validate_file "$3"
	if [ "$RC" = 3 ]; then pass; else fail "$1: exit $RC, want 3 ($ERR)"; fi
	contains "$1" "$ERR" "$2"
}

hook() { # extra lines appended to a valid hook
	printf 'version: 1\nwebhooks:\n  - name: h\n    events: [clusters_deployed]\n    targets:\n      - url: http://127.0.0.1:1/x\n%s\n' "$1"
}

validate_file "$(hook '')"
equals "a minimal hook is valid" "$RC" 0

expect_invalid "url scheme" "hooks/t.yaml:6:" 'version: 1
webhooks:
  - name: h
    events: [clusters_deployed]
    targets:
      - url: ftp://127.0.0.1/x
'
contains "url scheme message" "$ERR" "http"
expect_invalid "method" "method" "$(hook '        method: GET')"
expect_invalid "duration" "hooks/t.yaml:7:" "$(hook '    timeout: 10 seconds')"
validate_file "$(hook '    timeout: 500ms')"
equals "500ms is a duration" "$RC" 0
validate_file "$(hook '    retry: {attempts: 5, backoff: 2s, max_backoff: 5m}')"
equals "retry block" "$RC" 0
expect_invalid "retry attempts bounded" "attempts" "$(hook '    retry: {attempts: 0}')"
expect_invalid "unknown hook key" "tiemout" "$(hook '    tiemout: 5s')"
expect_invalid "unknown stage" "no_such_stage" 'version: 1
webhooks:
  - name: h
    events: [no_such_stage]
    targets:
      - url: http://127.0.0.1:1/x
'
commit_file "$R" schemas/my_custom_stage.json '{"type": "object"}' "custom stage schema"
validate_file 'version: 1
webhooks:
  - name: h
    events: [my_custom_stage, "*"]
    targets:
      - url: http://127.0.0.1:1/x
'
equals "custom stage with a repo schema" "$RC" 0
git -C "$R" rm -q schemas/my_custom_stage.json && git -C "$R" commit -qm "drop schema"

expect_invalid "header with CR/LF" "CR, LF" "$(hook '        headers: {X-Evil: "a\r\nInjected: yes"}')"
expect_invalid "overriding whrun's own header" "webhook-id" "$(hook '        headers: {webhook-id: mine}')"
expect_invalid "overriding Content-Type" "Content-Type" "$(hook '        headers: {Content-Type: text/plain}')"
expect_invalid "bad header name" "header name" "$(hook '        headers: {"Bad Header": x}')"
expect_invalid "literal secret" "never a literal" "$(hook '    signature: github
    secret: hunter2')"
expect_invalid "literal basic-auth password" "never a literal" "$(hook '        basic_auth: {username: ci, password: hunter2}')"
expect_invalid "signature without secret" "needs a 'secret'" "$(hook '    signature: stripe')"
expect_invalid "three secrets" "secret" "$(hook '    signature: github
    secret: ["${env:A}", "${env:B}", "${env:C}"]')"
validate_file "$(hook '    signature: standard-webhooks
    secret: ["${env:OLD_SECRET}", "${file:/run/secrets/new}"]
        ')"
equals "two secret references (rotation)" "$RC" 0
validate_file "$(hook '        headers: {Authorization: "Bearer ${env:TOKEN}"}')"
equals "header value embedding a reference" "$RC" 0
not_contains "no warning for a referenced token" "$ERR" "warning"
validate_file "$(hook '        headers: {Authorization: "Bearer abc123"}')"
equals "a literal bearer token is accepted" "$RC" 0
contains "with a warning" "$ERR" "warning"
expect_invalid "malformed reference in a header" "malformed reference" "$(hook '        headers: {Authorization: "Bearer ${env:}"}')"
expect_invalid "bad hook name" "invalid hook name" 'version: 1
webhooks:
  - name: Bad_Name
    events: [clusters_deployed]
    targets:
      - url: http://127.0.0.1:1/x
'
expect_invalid "no targets" "targets" 'version: 1
webhooks:
  - name: h
    events: [clusters_deployed]
    targets: []
'

# Defaults merge under each hook; the hook's own keys win.
validate_file 'version: 1
defaults:
  timeout: 3s
  retry: {backoff: 2s}
webhooks:
  - name: a
    events: [clusters_deployed]
    retry: {attempts: 5}
    targets: [{url: "http://127.0.0.1:1/a"}]
  - name: b
    timeout: 7s
    events: [clusters_deployed]
    targets: [{url: "http://127.0.0.1:1/b"}]
'
equals "defaults file valid" "$RC" 0
run_whrun --repo "$R" list --output json
got=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join("%s:%d:%d" % (h["name"], h["timeout_ms"], h["retry_attempts"]) for h in json.load(sys.stdin)))')
equals "defaults merged, hook keys win" "$got" "a:3000:5 b:7000:3"
backoff=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["definition"]["retry"])')
equals "retry merges key by key" "$backoff" "{'attempts': 5, 'backoff': '2s'}"

# Names are unique across the repository.
commit_file "$R" hooks/other.yaml "$(hook '' | sed 's/name: h/name: a/')" "same name elsewhere"
run_whrun --repo "$R" validate
equals "duplicate names across files" "$RC" 3
contains "duplicate name reported" "$ERR" "already used"
git -C "$R" rm -q hooks/other.yaml && git -C "$R" commit -qm "drop dup"

# Every error of every file at once.
commit_file "$R" hooks/x.yaml "$(hook '        method: DELETE
    timeout: forever')" "two errors"
commit_file "$R" hooks/y.yaml 'version: 1
webhooks:
  - name: y
    events: [clusters_deployed]
    targets:
      - url: gopher://x
' "third error"
run_whrun --repo "$R" validate
equals "many errors exit 3" "$RC" 3
n=$(printf '%s\n' "$ERR" | grep -c ': error: ')
check "all three errors reported, not just the first ($n)" test "$n" -ge 3
contains "errors in x.yaml" "$ERR" "hooks/x.yaml:"
contains "errors in y.yaml" "$ERR" "hooks/y.yaml:6:"
run_whrun --repo "$R" validate --output json
nerr=$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["errors"]), d["valid"])')
equals "json validate lists the errors" "$nerr" "$n False"
# whrun's own headers cannot come back through signature_header, in any case.
expect_invalid "signature_header naming a reserved header" "cannot be whrun's own header" "$(hook '    signature: hmac-hex
    signature_header: content-TYPE
    secret: ${env:S}')"
# Repository schemas must compile, and ping is reserved.
commit_file "$R" hooks/t.yaml "$(hook '')" "valid again"
commit_file "$R" schemas/broken_stage.json '{"type": 5, "minimum": "x"}' "a schema that is not one"
run_whrun --repo "$R" validate
equals "a repository schema that does not compile fails validate" "$RC" 3
contains "names the schema" "$ERR" "schemas/broken_stage.json"
git -C "$R" rm -q schemas/broken_stage.json && git -C "$R" commit -qm "drop it"
commit_file "$R" schemas/ping.json '{"type": "object"}' "ping schema"
run_whrun --repo "$R" validate
equals "schemas/ping.json is refused" "$RC" 3
contains "ping is reserved" "$ERR" "reserved"
git -C "$R" rm -q schemas/ping.json && git -C "$R" commit -qm "drop ping"
done_testing
