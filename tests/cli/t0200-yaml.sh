#!/usr/bin/env bash
# YAML rules as users meet them through `validate` and `list`.
. "$(dirname "$0")/lib.sh"

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/main.yaml 'version: 1
commonHeaders: &h
  X-Team: infra
  X-Country: NO
webhooks:
  - name: merged
    events: [clusters_deployed]
    enabled: yes
    targets:
      - url: http://127.0.0.1:1/x
        headers:
          <<: *h
          X-Team: platform
' "merge keys"
expect_exit 3 "a yes-like string is not a boolean" --repo "$R" validate
contains "enabled must be boolean" "$ERR" "hooks/main.yaml:8:"

commit_file "$R" hooks/main.yaml 'version: 1
commonHeaders: &h
  X-Team: infra
  X-Country: NO
  X-Flag: on
webhooks:
  - name: merged
    events: [clusters_deployed]
    targets:
      - url: http://127.0.0.1:1/x
        headers:
          <<: *h
          X-Team: platform
          X-Id: !!str 123
' "merge keys"
expect_exit 0 "merge key file validates" --repo "$R" validate
run_whrun --repo "$R" list --output json
headers=$(printf '%s' "$OUT" | python3 -c 'import json,sys; h=json.load(sys.stdin)[0]["definition"]["targets"][0]["headers"]; print(json.dumps(h, sort_keys=True))')
equals "merge pulls shared headers, explicit key wins, NO and on stay strings, !!str honoured" \
	"$headers" '{"X-Country": "NO", "X-Flag": "on", "X-Id": "123", "X-Team": "platform"}'

commit_file "$R" hooks/main.yaml 'version: 1
webhooks:
  - name: dup
    events: [clusters_deployed]
    targets:
      - url: http://127.0.0.1:1/x
    name: dup2
' "duplicate key"
expect_exit 3 "duplicate key" --repo "$R" validate
contains "duplicate key named with line:column" "$ERR" "hooks/main.yaml:7:5"
contains "duplicate key message" "$ERR" "duplicate key 'name'"

commit_file "$R" hooks/main.yaml 'version: 1
webhooks:
  - name: bad
    events: [clusters_deployed
    targets: []
' "syntax"
expect_exit 3 "YAML syntax error" --repo "$R" validate
contains "syntax error located" "$ERR" "hooks/main.yaml:"

bomb='version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
webhooks: []
'
commit_file "$R" hooks/main.yaml "$bomb" "billion laughs"
start=$(date +%s%N)
run_whrun --repo "$R" validate
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
equals "alias bomb exits 3" "$RC" 3
contains "alias bomb names the limit" "$ERR" "alias"
echo "# alias bomb rejected in ${elapsed_ms} ms"

deep=$(python3 -c 'print("version: 1\nx: " + "[" * 200 + "]" * 200 + "\nwebhooks: []")')
commit_file "$R" hooks/main.yaml "$deep" "deep nesting"
expect_exit 3 "nesting depth bounded" --repo "$R" validate
contains "depth error" "$ERR" "hooks/main.yaml:"

python3 -c 'print("version: 1\nwebhooks: []\npad: \"" + "x" * (2 * 1024 * 1024) + "\"")' >"$R/hooks/main.yaml"
git -C "$R" commit -qam "huge file"
expect_exit 3 "file size bounded" --repo "$R" validate
contains "size error names the file" "$ERR" "hooks/main.yaml"

commit_file "$R" hooks/main.yaml 'version: 1
webhooks:
  - name: multi
    events: [clusters_deployed]
    targets:
      - url: http://127.0.0.1:1/x
---
version: 1
' "two documents"
expect_exit 3 "two YAML documents in one file" --repo "$R" validate
done_testing
