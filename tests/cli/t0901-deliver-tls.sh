#!/usr/bin/env bash
# HTTPS delivery through the engine (deliver_tool) against a loopback
# receiver whose self-signed certificate is made here: verification is on
# by default (an unknown CA is a TLS error, retried), ca_file trusts the
# certificate, tls_verify false skips verification; basic auth travels;
# proxy environment variables are ignored.
. "$WH_SOURCE_DIR/tests/cli/lib.sh"

TOOL=${WH_BUILD_DIR:?}/tests/deliver_tool
RECEIVER=$WH_SOURCE_DIR/tests/tools/receiver.py

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
check "certificate made" test -s "$TMP/cert.pem"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other" \
	-keyout "$TMP/other-key.pem" -out "$TMP/other.pem" 2>/dev/null

python3 "$RECEIVER" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
	--log "$TMP/tls.log" >"$TMP/port" &
at_exit "kill $!"
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
P=$(awk '{print $2}' "$TMP/port")
check "receiver started" test -n "$P"

logged() { grep -c "\"path\": \"$1\"" "$TMP/tls.log" 2>/dev/null || true; }

out=$("$TOOL" --attempts 2 --backoff-ms 10 "https://127.0.0.1:$P/ok?default")
equals "unknown CA: exit 1" "$?" 1
contains "unknown CA: a TLS error" "$out" '"outcome":"retry","status":0'
contains "unknown CA: retried" "$out" '"attempt":2'
contains "unknown CA: says why" "$out" "certificate"
equals "unknown CA: nothing delivered" "$(logged '/ok?default')" 0

out=$("$TOOL" --ca-file "$TMP/other.pem" "https://127.0.0.1:$P/ok?other")
equals "wrong ca_file: exit 1" "$?" 1
equals "wrong ca_file: nothing delivered" "$(logged '/ok?other')" 0

out=$("$TOOL" --ca-file "$TMP/cert.pem" --user ci:s3cret "https://127.0.0.1:$P/ok?ca")
equals "ca_file: exit 0" "$?" 0
contains "ca_file: delivered" "$out" '"outcome":"delivered","status":200'
equals "ca_file: arrived" "$(logged '/ok?ca')" 1
contains "basic auth over TLS" "$(grep '/ok?ca' "$TMP/tls.log")" '"authorization": "Basic Y2k6czNjcmV0"'

out=$("$TOOL" --ca-file "$TMP/missing.pem" "https://127.0.0.1:$P/ok?missing")
equals "unreadable ca_file: exit 1" "$?" 1
contains "unreadable ca_file: failed, not retried" "$out" '"outcome":"failed"'

out=$("$TOOL" --insecure "https://127.0.0.1:$P/ok?insecure")
equals "tls_verify false: exit 0" "$?" 0
equals "tls_verify false: arrived" "$(logged '/ok?insecure')" 1

# Proxy variables are ignored: a proxy would connect out of the guard's sight.
out=$(http_proxy=http://127.0.0.1:1 https_proxy=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1 \
	HTTPS_PROXY=http://127.0.0.1:1 "$TOOL" --insecure "https://127.0.0.1:$P/ok?noproxy")
equals "proxy variables ignored: exit 0" "$?" 0
equals "proxy variables ignored: arrived" "$(logged '/ok?noproxy')" 1

out=$("$TOOL" "http://127.0.0.1:$P/ok?plain")
contains "plain HTTP to a TLS port: retryable" "$out" '"outcome":"retry"'

done_testing
