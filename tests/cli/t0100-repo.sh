#!/usr/bin/env bash
# Reading definitions out of Git: repository forms, refs, dirty work trees.
. "$(dirname "$0")/lib.sh"

hook_yaml() { # NAME URL
	cat <<YAML
version: 1
webhooks:
  - name: $1
    events: [clusters_deployed]
    targets:
      - url: $2
YAML
}

R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/one.yaml "$(hook_yaml one http://127.0.0.1:1/a)" "add one"
git -C "$R" tag -a v1 -m "release 1"
git -C "$R" tag light
first=$(git -C "$R" rev-parse HEAD)
commit_file "$R" hooks/team/nested/two.yml "$(hook_yaml two http://127.0.0.1:1/b)" "add two"
commit_file "$R" hooks/notes.txt "not a definition" "add notes"
commit_file "$R" README.md "readme" "docs"

hooks_at() { # REF [REPO]: names of the hooks at REF, one line
	"$WHRUN" --repo "${2:-$R}" list --ref "$1" --output json | python3 -c \
		'import json,sys; print(" ".join(h["name"] for h in json.load(sys.stdin)))'
}

equals "HEAD sees both, nested folder included" "$(hooks_at HEAD)" "one two"
equals "annotated tag" "$(hooks_at v1)" "one"
equals "lightweight tag" "$(hooks_at light)" "one"
equals "short sha" "$(hooks_at "${first:0:7}")" "one"
equals "full sha" "$(hooks_at "$first")" "one"
equals "HEAD~2" "$(hooks_at HEAD~2)" "one two"
equals "HEAD~3" "$(hooks_at HEAD~3)" "one"
equals "branch name" "$(hooks_at main)" "one two"

git clone -q --bare "$R" "$TMP/bare.git"
equals "bare repository" "$(hooks_at HEAD "$TMP/bare.git")" "one two"
equals "bare repository, tag" "$(hooks_at v1 "$TMP/bare.git")" "one"
equals "subdirectory of a work tree" "$(hooks_at HEAD "$R/hooks/team")" "one two"
(cd "$R/hooks" && "$WHRUN" list --output json >"$TMP/cwd.json")
check "default --repo is the current directory" grep -q '"two"' "$TMP/cwd.json"
equals "WHRUN_REPO and WHRUN_REF" \
	"$(WHRUN_REPO="$R" WHRUN_REF=v1 "$WHRUN" list --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "1"

expect_exit 0 "validate a clean tree" --repo "$R" validate
contains "validate counts hooks" "$OUT" "2 hooks valid"
not_contains "no dirty note on a clean tree" "$ERR" "uncommitted"

# Uncommitted edits are not seen, and validate says so.
hook_yaml one "ftp://broken" >"$R/hooks/one.yaml"
expect_exit 0 "uncommitted breakage is not seen" --repo "$R" validate
contains "dirty tree is reported" "$ERR" "uncommitted changes"
git -C "$R" checkout -q hooks/one.yaml
hook_yaml three http://127.0.0.1:1/c >"$R/hooks/three.yaml"
expect_exit 0 "untracked file is not loaded" --repo "$R" validate
contains "untracked file makes it dirty" "$ERR" "uncommitted changes"
equals "untracked hook not listed" "$(hooks_at HEAD)" "one two"
rm "$R/hooks/three.yaml"
echo changed >"$R/README.md"
expect_exit 0 "change outside hooks/" --repo "$R" validate
not_contains "a change outside hooks/ is not dirty" "$ERR" "uncommitted"
git -C "$R" checkout -q README.md
run_whrun --repo "$R" validate --output json
contains "json validate reports dirty false" "$OUT" '"dirty": false'

expect_exit 3 "a ref that does not exist" --repo "$R" validate --ref no-such-branch
contains "the message names the ref" "$ERR" "no-such-branch"
expect_exit 3 "list at a missing ref" --repo "$R" list --ref deadbeef
expect_exit 3 "not a repository" --repo "$TMP/home" validate
contains "says it is not a repository" "$ERR" "not a Git repository"

E="$TMP/empty"
new_repo "$E"
expect_exit 3 "a repository without commits" --repo "$E" validate
commit_file "$E" README.md "nothing here" "init"
expect_exit 0 "a repository with no hooks/ is valid" --repo "$E" validate
contains "zero hooks" "$OUT" "0 hooks valid"
expect_exit 0 "list with no hooks" --repo "$E" list
contains "list says none" "$OUT" "no hooks"
done_testing
