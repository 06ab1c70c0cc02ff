#!/usr/bin/env bash
# Audit: `whrun log` and `whrun diff` over a history that adds, changes and
# removes hooks.
. "$(dirname "$0")/lib.sh"

R="$TMP/repo"
new_repo "$R"
one='version: 1
webhooks:
  - name: alpha
    events: [clusters_deployed]
    targets: [{url: "http://127.0.0.1:1/a"}]
'
commit_file "$R" hooks/a.yaml "$one" "add alpha"
GIT_AUTHOR_NAME="Other Person" GIT_AUTHOR_EMAIL="other@example.com" \
	commit_file "$R" hooks/b.yaml 'version: 1
webhooks:
  - name: beta
    events: [cluster_created]
    targets: [{url: "http://127.0.0.1:1/b"}]
' "add beta"
commit_file "$R" README.md "docs only" "docs"
commit_file "$R" hooks/a.yaml 'version: 1
defaults: {timeout: 3s}
webhooks:
  - name: alpha
    events: [clusters_deployed, clusters_rollbacked]
    targets: [{url: "http://127.0.0.1:1/a"}]
' "alpha listens to rollbacks"
git -C "$R" rm -q hooks/b.yaml
git -C "$R" commit -qm "remove beta"
commit_file "$R" schemas/custom.json '{"type": "object"}' "custom schema"

run_whrun --repo "$R" log --output json
equals "log exits 0" "$RC" 0
summary=$(printf '%s' "$OUT" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    parts = [c["change"] + ":" + c["hook"] + ("(" + ",".join(c.get("fields", [])) + ")" if c.get("fields") else "") for c in e["hooks"]]
    parts += ["schema-" + s["change"] + ":" + s["schema"] for s in e["schemas"]]
    print(e["subject"] + " | " + " ".join(parts))
')
equals "log reports each change, newest first, skipping docs" "$summary" "custom schema | schema-added:custom
remove beta | removed:beta
alpha listens to rollbacks | changed:alpha(events,timeout)
add beta | added:beta
add alpha | added:alpha"
author=$(printf '%s' "$OUT" | python3 -c 'import json,sys; e=json.load(sys.stdin)[3]; print(e["author"]["name"], e["author"]["email"], len(e["commit"]), e["date"][-1])')
equals "author, sha and UTC date" "$author" "Other Person other@example.com 40 Z"

run_whrun --repo "$R" log --hook beta --output json
equals "log --hook" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([e["subject"] for e in json.load(sys.stdin)])')" "['remove beta', 'add beta']"
run_whrun --repo "$R" log -n 2 --output json
equals "log -n 2" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "2"
run_whrun --repo "$R" log --ref HEAD~2 --output json
equals "log --ref" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["subject"])')" "alpha listens to rollbacks"
run_whrun --repo "$R" log
contains "text log shows the commit" "$OUT" "Author: Other Person <other@example.com>"
contains "text log shows changed fields" "$OUT" "changed  alpha (events, timeout)"

run_whrun --repo "$R" diff HEAD~5..HEAD --output json
got=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(c["change"] + ":" + c["hook"] for c in d["hooks"]), len(d["from_commit"]), len(d["schemas"]))')
equals "diff json" "$got" "changed:alpha 40 1"
run_whrun --repo "$R" diff HEAD~5..HEAD~4
contains "diff markdown table" "$OUT" '| `beta` | added |'
run_whrun --repo "$R" diff HEAD..HEAD
contains "diff of equal refs" "$OUT" "No webhook definitions"
expect_exit 3 "diff with a missing ref" --repo "$R" diff HEAD..nope
expect_exit 2 "diff without a range" --repo "$R" diff HEAD

# A merged pull request: the side branch's commit is listed once, the merge
# commit that only brings it in is not.
git -C "$R" checkout -q -b feature
commit_file "$R" hooks/c.yaml 'version: 1
webhooks:
  - name: gamma
    events: [cluster_deleted]
    targets: [{url: "http://127.0.0.1:1/c"}]
' "add gamma"
git -C "$R" checkout -q main
commit_file "$R" README.md "docs again" "docs on main"
git -C "$R" merge -q --no-ff -m "Merge pull request #7" feature
run_whrun --repo "$R" log -n 2 --output json
equals "merge of a pull request" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([(e["subject"], [c["hook"] for c in e["hooks"]]) for e in json.load(sys.stdin)])')" \
	"[('add gamma', ['gamma']), ('custom schema', [])]"
# A file that stops parsing for a commit: its hooks are not "removed" then
# "added" again, and an oversized file in the history does not break log.
commit_file "$R" hooks/c.yaml 'version: 1
webhooks:
  - name: gamma
    events: [cluster_deleted
' "break c.yaml"
commit_file "$R" hooks/c.yaml 'version: 1
webhooks:
  - name: gamma
    events: [cluster_deleted]
    targets: [{url: "http://127.0.0.1:1/c2"}]
' "fix c.yaml, new url"
python3 -c 'print("version: 1\nwebhooks: []\npad: \"" + "x" * (2 * 1024 * 1024) + "\"")' >"$R/hooks/big.yaml"
git -C "$R" add hooks/big.yaml && git -C "$R" commit -qm "oversized file"
git -C "$R" rm -q hooks/big.yaml && git -C "$R" commit -qm "drop it"
run_whrun --repo "$R" log -n 2 --output json
equals "log survives an oversized file in history" "$RC" 0
equals "a file that did not parse: changed, not removed then added" \
	"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([(e["subject"], [(c["hook"], c["change"]) for c in e["hooks"]]) for e in json.load(sys.stdin)])')" \
	"[('fix c.yaml, new url', [('gamma', 'changed')]), ('add gamma', [('gamma', 'added')])]"
done_testing
