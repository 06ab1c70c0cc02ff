#!/usr/bin/env bash
# Signatures as receivers check them. tests/tools/sign_tool signs requests
# the way whrun does (envelope + signature headers, secrets resolved from
# ${env:...} references); tests/node/verify-signatures.js sends each over
# loopback HTTP and verifies it with the receivers' libraries
# (standardwebhooks, svix, @octokit/webhooks-methods, Stripe's documented
# scheme with node:crypto), for every scheme, with one secret and with two
# (each secret alone must verify), and refuses tampered bodies, timestamps
# and wrong secrets. The openssl command line checks two schemes once more,
# independently of Node, and the tool's failures are checked too.
. "$(dirname "$0")/lib.sh"

NODE_DIR=$WH_SOURCE_DIR/tests/node
SIGN_TOOL=${WH_BUILD_DIR:?WH_BUILD_DIR must name the build tree}/tests/sign_tool

if [ ! -x "$SIGN_TOOL" ]; then
	fail "sign_tool not built at $SIGN_TOOL"
	done_testing
fi

# ensure_node_deps: npm packages of tests/node, installed once.
ensure_node_deps() {
	if [ -f "$NODE_DIR/ensure-deps.sh" ]; then
		bash "$NODE_DIR/ensure-deps.sh"
		return
	fi
	command -v node >/dev/null && command -v npm >/dev/null || return 1
	[ -d "$NODE_DIR/node_modules/@octokit/webhooks-methods" ] && return 0
	(
		cd "$NODE_DIR" || exit 1
		if [ -f package-lock.json ]; then
			npm ci --no-audit --no-fund --loglevel=error
		else
			npm install --no-audit --no-fund --loglevel=error
		fi
	) >&2
}

# A payload whose bytes a re-serialiser would change: odd spacing, 1.0, an
# integer beyond 64 bits, \u escapes (a surrogate pair), raw UTF-8, and
# Slack's special characters.
printf '  {"stage":"clusters_deployed",  "application": {"name": "billing-api"},\n' >"$TMP/payload.json"
printf ' "cluster": {"name":"billing-api-prod-eu","environment":"production"},\n' >>"$TMP/payload.json"
printf ' "deploy": {"version": "2.14.0", "ratio": 1.0, "big": 18446744073709551616},\n' >>"$TMP/payload.json"
printf ' "note": "caf\\u00e9 \\ud83d\\ude00 <&>", "raw": "\xc3\xa9"}\n\n' >>"$TMP/payload.json"

if ! ensure_node_deps; then
	fail "tests/node npm packages could not be installed (node and npm are needed)"
	done_testing
fi

if node "$NODE_DIR/verify-signatures.js" "$SIGN_TOOL" "$TMP/payload.json" >"$TMP/verify.out" 2>&1; then
	pass
else
	fail "verify-signatures.js:"
	grep -v '^ok' "$TMP/verify.out" >&2
fi
summary=$(tail -n 1 "$TMP/verify.out")
echo "verify-signatures.js: $summary"
contains "the verifiers ran" "$summary" " passed, 0 failed"
not_contains "no verification failed" "$(cat "$TMP/verify.out")" "not ok"

# field NAME FILE: a top-level field of sign_tool's output, or the first
# header NAME's value with "header:NAME" (node prints it).
field() {
	node -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
		const want = process.argv[1];
		if (want.startsWith("header:")) {
			const h = r.headers.filter(([n]) => n === want.slice(7)).map(([, v]) => v);
			process.stdout.write(h.join("\n"));
		} else process.stdout.write(String(r[want]));
	' "$1" "$2"
}

# openssl, independently: hmac-hex and github are HMAC-SHA256 of the body.
export WH_T0700_A="first secret" WH_T0700_B="second-secret"
"$SIGN_TOOL" hmac-hex "$TMP/payload.json" '${env:WH_T0700_A}' '${env:WH_T0700_B}' >"$TMP/hh.json"
field body "$TMP/hh.json" >"$TMP/hh.body"
want_a=$(openssl dgst -sha256 -hmac "first secret" <"$TMP/hh.body" | sed 's/.*= //')
want_b=$(openssl dgst -sha256 -hmac "second-secret" <"$TMP/hh.body" | sed 's/.*= //')
equals "hmac-hex matches openssl" "$(field header:X-Webhook-Signature "$TMP/hh.json")" "$want_a,$want_b"

"$SIGN_TOOL" --kind raw github "$TMP/payload.json" '${env:WH_T0700_A}' >"$TMP/gh.json"
field body "$TMP/gh.json" >"$TMP/gh.body"
want_a=$(openssl dgst -sha256 -hmac "first secret" <"$TMP/gh.body" | sed 's/.*= //')
equals "github matches openssl" "$(field header:X-Hub-Signature-256 "$TMP/gh.json")" "sha256=$want_a"
# The raw body is the payload without the whitespace around it.
equals "raw body is the trimmed payload" "$(cat "$TMP/gh.body")" "$(sed "1s/^ *//" "$TMP/payload.json")"

# Stripe with a fixed timestamp: the signed text is "{t}.{body}".
"$SIGN_TOOL" --timestamp 1614265330 stripe "$TMP/payload.json" '${env:WH_T0700_A}' >"$TMP/st.json"
field body "$TMP/st.json" >"$TMP/st.body"
want_a=$( (printf '1614265330.'; cat "$TMP/st.body") | openssl dgst -sha256 -hmac "first secret" | sed 's/.*= //')
equals "stripe matches openssl" "$(field header:Stripe-Signature "$TMP/st.json")" "t=1614265330,v1=$want_a"

# Failures: a missing variable, a malformed whsec_ secret (not echoed), usage.
"$SIGN_TOOL" github "$TMP/payload.json" '${env:WH_T0700_UNSET}' >"$TMP/out" 2>"$TMP/err"
equals "unset secret variable: exit 3" "$?" 3
contains "names the variable" "$(cat "$TMP/err")" "WH_T0700_UNSET"
export WH_T0700_BAD='whsec_sup3r$ecret!'
"$SIGN_TOOL" standard-webhooks "$TMP/payload.json" '${env:WH_T0700_BAD}' >"$TMP/out" 2>"$TMP/err"
equals "bad whsec_ secret: exit 3" "$?" 3
contains "says what is wrong" "$(cat "$TMP/err")" "base64"
not_contains "never shows the secret" "$(cat "$TMP/err")" 'sup3r$ecret'
"$SIGN_TOOL" rot13 "$TMP/payload.json" >"$TMP/out" 2>"$TMP/err"
equals "unknown scheme: exit 2" "$?" 2
"$SIGN_TOOL" hmac-hex "$TMP/payload.json" '${env:WH_T0700_A}' '${env:WH_T0700_B}' '${env:WH_T0700_A}' \
	>"$TMP/out" 2>"$TMP/err"
equals "three secrets: exit 2" "$?" 2

done_testing
