#!/usr/bin/env bash
# The shipped whrun-kind-teams posts a Microsoft Teams card (MessageCard,
# or an Adaptive Card in the incoming-webhook envelope) to the target's
# URL, given as a reference; receiver statuses map to whrun's outcomes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"

start_receiver
U="http://127.0.0.1:$RECV_PORT"
export TEAMS_URL="$U/ok"
R="$TMP/repo"
new_repo "$R"
commit_file "$R" hooks/teams.yaml "version: 1
defaults:
  events: [clusters_deployed]
  kind: teams
  retry: {attempts: 2, backoff: 100ms}
webhooks:
  - {name: card, targets: [{url: \"\${env:TEAMS_URL}\", title: Deployed, theme_color: 00FF00}]}
  - {name: adaptive, targets: [{url: \"$U/ok\", format: adaptive}]}
  - {name: flaky, targets: [{url: \"$U/flaky/t/1/502\"}]}
  - {name: missing, targets: [{url: \"$U/status/404\"}]}
" "teams hooks"
expect_exit 0 "validate: the teams schema accepts these" validate --repo "$R"
run_whrun --repo "$R" --stage clusters_deployed --payload "$PAYLOAD"
equals "a 404 fails the run" "$RC" 1

card=$(json_eval "[r['body'] for r in rows if r['path'] == '/ok' and 'MessageCard' in r['body']][0]" "$RECV_LOG")
printf '%s' "$card" >"$TMP/card.json"
equals "MessageCard type" "$(json_eval "d['@type']" "$TMP/card.json")" MessageCard
equals "title and colour from the target" "$(json_eval "(d['title'], d['themeColor'])" "$TMP/card.json")" "('Deployed', '00FF00')"
equals "facts name the stage and the application" \
	"$(json_eval "[(f['name'], f['value']) for f in d['sections'][0]['facts'] if f['name'] in ('Stage', 'application')]" "$TMP/card.json")" \
	"[('Stage', 'clusters_deployed'), ('application', 'billing-api')]"
adaptive=$(json_eval "[r['body'] for r in rows if r['path'] == '/ok' and 'AdaptiveCard' in r['body']][0]" "$RECV_LOG")
printf '%s' "$adaptive" >"$TMP/adaptive.json"
equals "adaptive: the incoming-webhook envelope" \
	"$(json_eval "(d['type'], d['attachments'][0]['contentType'], d['attachments'][0]['content']['type'])" "$TMP/adaptive.json")" \
	"('message', 'application/vnd.microsoft.card.adaptive', 'AdaptiveCard')"
equals "sent as JSON" "$(json_eval "[{k.lower(): v for k, v in r['headers'].items()}.get('content-type') for r in rows if r['path'] == '/ok'][0]" "$RECV_LOG")" "application/json"

run_whrun deliveries --output json
printf '%s' "$OUT" >"$TMP/d.json"
state() { json_eval "[(x['status'], x['attempts']) for x in d if x['hook'] == '$1'][0]" "$TMP/d.json"; }
equals "card delivered" "$(state card)" "('delivered', 1)"
equals "502 then 200: retried in the run, delivered" "$(state flaky)" "('delivered', 2)"
equals "404: failed, not retried" "$(state missing)" "('failed', 1)"
run_whrun show "$(json_eval "[x['id'] for x in d if x['hook'] == 'missing'][0]" "$TMP/d.json")" --output json
contains "the 404 is in the attempt's record" "$OUT" "HTTP 404"
equals "the journal keeps the reference, not the URL it names" "$(json_eval "[x['url'] for x in d if x['hook'] == 'card'][0]" "$TMP/d.json")" '${env:TEAMS_URL}'

commit_file "$R" hooks/teams.yaml "version: 1
webhooks:
  - {name: card, events: [clusters_deployed], kind: teams, targets: [{url: \"ftp://x/y\"}]}
" "an ftp url"
expect_exit 3 "validate: teams takes http(s) only" validate --repo "$R"
contains "at the url" "$ERR" "hooks/teams.yaml:3:"

done_testing
