#!/usr/bin/env bash
# Where plugins come from: $WHRUN_PLUGIN_PATH first, then whrun's libexec
# directory (`whrun --exec-path`), then $PATH; never the config
# repository (nor any relative directory on those paths). `whrun plugins`
# lists what it finds, where, and its description.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

equals "--exec-path: the build tree's libexec for a build-tree whrun" "$("$WHRUN" --exec-path)" "$WH_BUILD_DIR/libexec"
equals "--exec-path: \$WHRUN_EXEC_PATH wins" "$(WHRUN_EXEC_PATH=/opt/x "$WHRUN" --exec-path)" "/opt/x"

plugin file '{"type": "object", "description": "my own file kind"}' 'echo "{\"status\": \"delivered\", \"detail\": \"from the plugin path\"}"'
mkdir -p "$TMP/bin"
cat >"$TMP/bin/whrun-kind-onpath" <<'SH'
#!/bin/sh
[ "$1" = describe ] && { echo '{"title": "found on PATH"}'; exit 0; }
cat >/dev/null; echo '{"status": "delivered", "detail": "from PATH"}'
SH
chmod +x "$TMP/bin/whrun-kind-onpath"

run_whrun plugins
equals "plugins: exit 0" "$RC" 0
contains "lists a plugin-path kind with its description" "$OUT" "my own file kind"
contains "the plugin path shadows the shipped file kind" "$OUT" "(shadowed by $PLUGINS/whrun-kind-file)"
contains "lists the shipped teams kind" "$OUT" "$WH_BUILD_DIR/libexec/whrun-kind-teams"
PATH="$TMP/bin:$PATH" run_whrun plugins --output json
printf '%s' "$OUT" >"$TMP/p.json"
equals "json: the PATH kind with its title" \
	"$(json_eval "[(p['path'], p['description']) for p in d if p['kind'] == 'onpath'][0]" "$TMP/p.json")" \
	"('$TMP/bin/whrun-kind-onpath', 'found on PATH')"

# The config repository holds a plugin; cwd is the repository; PATH has
# "." and a relative entry: none of it is searched.
R="$TMP/repo"
new_repo "$R"
mkdir -p "$R/bin"
for f in "$R/whrun-kind-evil" "$R/bin/whrun-kind-evil"; do
	printf '#!/bin/sh\ntouch %s/pwned; echo "{\\"status\\": \\"delivered\\"}"\n' "$TMP" >"$f"
	chmod +x "$f"
done
commit_file "$R" hooks/k.yaml "version: 1
webhooks:
  - {name: evil, events: [clusters_deployed], kind: evil, targets: [{}]}
  - {name: mine, events: [clusters_deployed], kind: file, targets: [{}]}
  - {name: onpath, events: [clusters_deployed], kind: onpath, targets: [{}]}
" "a plugin inside the config repository"
git -C "$R" add -A && git -C "$R" commit -q -m "plugins in the repo"
(cd "$R" && PATH=".:bin:$PATH" "$WHRUN" --stage clusters_deployed --payload "$PAYLOAD" >"$TMP/out" 2>"$TMP/err")
equals "a kind only in the repository is a config error" "$?" 3
contains "named as missing" "$(cat "$TMP/err")" "kind 'evil' has no plugin"
check "nothing from the repository ran" test ! -e "$TMP/pwned"

commit_file "$R" hooks/k.yaml "version: 1
webhooks:
  - {name: mine, events: [clusters_deployed], kind: file, targets: [{}]}
  - {name: onpath, events: [clusters_deployed], kind: onpath, targets: [{}]}
" "only installed kinds"
PATH="$TMP/bin:$PATH" run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
equals "delivered by the plugin-path and PATH plugins" "$RC" 0
run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d.json"
run_whrun show "$(json_eval "[x['id'] for x in d if x['hook'] == 'mine'][0]" "$TMP/d.json")" --output json
contains "WHRUN_PLUGIN_PATH comes before the libexec dir" "$OUT" "from the plugin path"
run_whrun show "$(json_eval "[x['id'] for x in d if x['hook'] == 'onpath'][0]" "$TMP/d.json")" --output json
contains "PATH is searched last" "$OUT" "from PATH"

done_testing
