/*
 * sign_tool: prints one signed request as whrun would send it, for tests
 * that check the signatures with third-party verifiers
 * (tests/node/verify-signatures.js).
 *
 *   sign_tool [--kind standard|raw|slack] [--header NAME] [--timestamp T]
 *             [--stage S] [--hook H] [--commit SHA]
 *             SCHEME PAYLOAD_FILE [SECRET_REFERENCE...]
 *
 * SCHEME is standard-webhooks, github, stripe, hmac-hex or none; secrets are
 * ${env:NAME} / ${file:PATH} references, resolved as whrun resolves them.
 * The timestamp defaults to now. Output, one JSON object on stdout:
 *   {"id": "msg_...", "timestamp": T, "body": "...",
 *    "headers": [["Content-Type", "application/json"], ["webhook-id", ...],
 *                ["webhook-timestamp", "T"], [signature headers...]]}
 * headers is a list of pairs because a header may repeat (github, rotated).
 * Exit 0, or 2 on usage errors, 3 on any other error (message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "envelope.h"
#include "secret.h"
#include "sign.h"
#include "util.h"
#include "banned.h"

static int usage(void)
{
	fprintf(stderr, "usage: sign_tool [--kind K] [--header NAME] [--timestamp T] [--stage S] "
			"[--hook H] [--commit SHA] SCHEME PAYLOAD_FILE [SECRET_REFERENCE...]\n");
	return 2;
}

static int parse_scheme(enum wh_signature *out, const char *name)
{
	static const struct {
		const char *name;
		enum wh_signature scheme;
	} schemes[] = {
	    {"none", WH_SIGNATURE_NONE},
	    {"standard-webhooks", WH_SIGNATURE_STANDARD_WEBHOOKS},
	    {"github", WH_SIGNATURE_GITHUB},
	    {"stripe", WH_SIGNATURE_STRIPE},
	    {"hmac-hex", WH_SIGNATURE_HMAC_HEX},
	};
	for (size_t i = 0; i < WH_ARRAY_SIZE(schemes); i++) {
		if (strcmp(schemes[i].name, name) == 0) {
			*out = schemes[i].scheme;
			return 0;
		}
	}
	return -1;
}

static int parse_kind(enum wh_kind *out, const char *name)
{
	if (strcmp(name, "standard") == 0)
		*out = WH_KIND_STANDARD;
	else if (strcmp(name, "raw") == 0)
		*out = WH_KIND_RAW;
	else if (strcmp(name, "slack") == 0)
		*out = WH_KIND_SLACK;
	else
		return -1;
	return 0;
}

static int add_pair(json_t *headers, const char *name, const char *value)
{
	return json_array_append_new(headers, json_pack("[ss]", name, value));
}

int main(int argc, char **argv)
{
	enum wh_kind kind = WH_KIND_STANDARD;
	enum wh_signature scheme;
	const char *header = NULL, *stage = "clusters_deployed", *hook = "sign-test";
	const char *commit = "0123456789abcdef0123456789abcdef01234567";
	long long timestamp = (long long)time(NULL);
	char *secrets[WH_MAX_SECRETS] = {NULL, NULL};
	size_t nsecrets = 0;
	char id[WH_MESSAGE_ID_SIZE], ts_text[24], *payload = NULL, *body = NULL, *out = NULL;
	size_t payload_len = 0, body_len = 0, nheaders = 0;
	struct wh_header *signature = NULL;
	struct wh_error err = WH_ERROR_INIT;
	json_t *result = NULL, *headers = NULL;
	int i, status = 3;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		char *end = NULL;
		if (strcmp(argv[i], "--kind") == 0 && parse_kind(&kind, argv[i + 1]) == 0)
			continue;
		else if (strcmp(argv[i], "--header") == 0)
			header = argv[i + 1];
		else if (strcmp(argv[i], "--stage") == 0)
			stage = argv[i + 1];
		else if (strcmp(argv[i], "--hook") == 0)
			hook = argv[i + 1];
		else if (strcmp(argv[i], "--commit") == 0)
			commit = argv[i + 1];
		else if (strcmp(argv[i], "--timestamp") == 0 &&
			 (timestamp = strtoll(argv[i + 1], &end, 10),
			  end && !*end && end != argv[i + 1]))
			continue;
		else
			return usage();
	}
	if (argc - i < 2 || parse_scheme(&scheme, argv[i]) < 0 ||
	    (size_t)(argc - i - 2) > WH_MAX_SECRETS)
		return usage();

	for (int s = i + 2; s < argc; s++)
		if (wh_secret_resolve(&secrets[nsecrets++], argv[s], &err) < 0)
			goto out;
	if (wh_read_file(&payload, &payload_len, argv[i + 1], 1 << 24, &err) < 0 ||
	    wh_envelope_new_id(id, &err) < 0)
		goto out;
	{
		struct wh_envelope msg = {id,	  stage,   (time_t)timestamp, hook,
					  commit, payload, payload_len};
		struct wh_sign_request req = {
		    scheme, (const char *const *)secrets, nsecrets, id, timestamp, NULL, 0, header};

		if (wh_envelope_body(&body, &body_len, kind, &msg, &err) < 0)
			goto out;
		req.body = body;
		req.body_len = body_len;
		if (wh_sign_headers(&signature, &nheaders, &req, &err) < 0)
			goto out;
	}

	snprintf(ts_text, sizeof(ts_text), "%lld", timestamp);
	headers = json_array();
	result = json_object();
	if (!headers || !result || add_pair(headers, "Content-Type", "application/json") ||
	    add_pair(headers, "webhook-id", id) ||
	    add_pair(headers, "webhook-timestamp", ts_text)) {
		wh_error_set(&err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t h = 0; h < nheaders; h++)
		if (add_pair(headers, signature[h].name, signature[h].value)) {
			wh_error_set(&err, WH_ENOMEM, "out of memory");
			goto out;
		}
	if (json_object_set_new(result, "id", json_string(id)) ||
	    json_object_set_new(result, "timestamp", json_integer(timestamp)) ||
	    json_object_set_new(result, "body", json_stringn(body, body_len)) ||
	    json_object_set(result, "headers", headers) ||
	    !(out = json_dumps(result, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		wh_error_set(&err, WH_EINTERNAL, "cannot print the request");
		goto out;
	}
	puts(out);
	status = fflush(stdout) == 0 ? 0 : 3;
out:
	if (status == 3 && err.code) {
		char message[WH_ERROR_MESSAGE_MAX + WH_ERROR_PATH_MAX + 32];
		wh_error_format(&err, message, sizeof(message));
		fprintf(stderr, "sign_tool: %s\n", message);
	}
	free(out);
	json_decref(headers);
	json_decref(result);
	wh_sign_headers_free(signature, nheaders);
	free(body);
	free(payload);
	for (size_t s = 0; s < nsecrets; s++)
		wh_free_secret(secrets[s]);
	return status;
}
