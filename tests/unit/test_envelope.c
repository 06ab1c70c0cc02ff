/*
 * test_envelope: message ids (format, uniqueness, order) and the bodies of
 * each kind, above all that `data` is the payload text byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check.h"
#include "envelope.h"
#include "util.h"
#include "banned.h"

#define COMMIT	    "4e1b9a0c7d2f3e5a6b8c9d0e1f2a3b4c5d6e7f80"
#define ID	    "msg_01ARYZ6S41TSV4RRFFQ69G5FAV"
#define NOV22_10H00 1795341600 /* date -u -d 2026-11-22T10:00:00Z +%s */
#define NIDS	    100000

static char ids[NIDS][WH_MESSAGE_ID_SIZE];

static void test_id_generation(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct timespec before, after;
	uint64_t before_ms, after_ms;
	int ok = 1, ordered = 1, in_time = 1;

	clock_gettime(CLOCK_REALTIME, &before);
	for (int i = 0; i < NIDS && ok; i++)
		ok = wh_envelope_new_id(ids[i], &err) == 0 && wh_envelope_id_valid(ids[i]);
	clock_gettime(CLOCK_REALTIME, &after);
	before_ms = (uint64_t)before.tv_sec * 1000 + (uint64_t)before.tv_nsec / 1000000;
	after_ms = (uint64_t)after.tv_sec * 1000 + (uint64_t)after.tv_nsec / 1000000;

	CHECK("100,000 well-formed ids", ok);
	CHECK("length", strlen(ids[0]) == WH_MESSAGE_ID_LEN && strncmp(ids[0], "msg_", 4) == 0);
	/* Strictly increasing as strings: unique, and in generation order even
	 * though many share a millisecond. */
	for (int i = 1; i < NIDS; i++) {
		if (strcmp(ids[i - 1], ids[i]) >= 0) {
			ordered = 0;
			fprintf(stderr, "out of order at %d: %s then %s\n", i, ids[i - 1], ids[i]);
			break;
		}
	}
	CHECK("unique and sorted in generation order", ordered);
	for (int i = 0; i < NIDS; i += 997) {
		uint64_t ms = wh_envelope_id_time_ms(ids[i]);
		if (ms < before_ms || ms > after_ms + 1)
			in_time = 0;
	}
	CHECK("ids carry the creation time", in_time);
	CHECK("many ids share a millisecond",
	      wh_envelope_id_time_ms(ids[0]) + NIDS / 2 > wh_envelope_id_time_ms(ids[NIDS - 1]));
}

static void test_id_encoding(void)
{
	struct wh_ulid_state state = {0, {0}};
	struct wh_error err = WH_ERROR_INIT;
	char a[WH_MESSAGE_ID_SIZE], b[WH_MESSAGE_ID_SIZE], c[WH_MESSAGE_ID_SIZE];

	/* The ULID spec's example: 1469918176385 ms is 01ARYZ6S41. */
	CHECK("encode", wh_envelope_new_id_at(a, &state, 1469918176385ULL, &err) == 0);
	CHECK("ULID spec's time prefix", strncmp(a, "msg_01ARYZ6S41", 14) == 0);
	CHECK("time decodes", wh_envelope_id_time_ms(a) == 1469918176385ULL);
	CHECK("Crockford alphabet only", strcspn(a + 4, "ILOU") == 26);

	/* Same millisecond: the random part is the previous one plus one. */
	memset(state.last, 0, sizeof(state.last));
	state.last[9] = 0x1e;
	CHECK("same ms", wh_envelope_new_id_at(b, &state, 1469918176385ULL, &err) == 0);
	CHECK_STR("incremented", b, "msg_01ARYZ6S41000000000000000Z");
	/* The clock stepping back keeps the order. */
	CHECK("earlier clock", wh_envelope_new_id_at(c, &state, 1469918176000ULL, &err) == 0);
	CHECK_STR("still after", c, "msg_01ARYZ6S410000000000000010");
	CHECK("ordered", strcmp(a, b) != 0 && strcmp(b, c) < 0);

	/* Overflow of the 80 random bits moves on to the next millisecond. */
	memset(state.last, 0xff, sizeof(state.last));
	CHECK("overflow", wh_envelope_new_id_at(a, &state, 1469918176000ULL, &err) == 0);
	CHECK("next millisecond", wh_envelope_id_time_ms(a) == 1469918176386ULL);
	CHECK("after the maximum", strcmp(a, "msg_01ARYZ6S41ZZZZZZZZZZZZZZZZ") > 0);

	/* A later millisecond draws a fresh random part. */
	CHECK("later", wh_envelope_new_id_at(b, &state, 1469918177000ULL, &err) == 0 &&
			   strcmp(a, b) < 0 && wh_envelope_id_time_ms(b) == 1469918177000ULL);
	CHECK("beyond 48 bits refused",
	      wh_envelope_new_id_at(b, &state, 1ULL << 48, &err) == WH_EINTERNAL);

	CHECK("valid", wh_envelope_id_valid(ID));
	CHECK("no prefix", !wh_envelope_id_valid("01ARYZ6S41TSV4RRFFQ69G5FAV"));
	CHECK("short", !wh_envelope_id_valid("msg_01ARYZ6S41TSV4RRFFQ69G5FA"));
	CHECK("long", !wh_envelope_id_valid("msg_01ARYZ6S41TSV4RRFFQ69G5FAVV"));
	CHECK("lowercase", !wh_envelope_id_valid("msg_01aryz6s41tsv4rrffq69g5fav"));
	CHECK("letter U", !wh_envelope_id_valid("msg_01ARYZ6S41TSV4RRFFQ69G5FAU"));
	CHECK("first above 7", !wh_envelope_id_valid("msg_81ARYZ6S41TSV4RRFFQ69G5FAV"));
}

static void test_time(void)
{
	char out[WH_TIMESTAMP_SIZE];
	struct wh_error err = WH_ERROR_INIT;

	CHECK("epoch", wh_envelope_format_time(out, 0, &err) == 0);
	CHECK_STR("epoch text", out, "1970-01-01T00:00:00Z");
	CHECK("spec date", wh_envelope_format_time(out, NOV22_10H00 + 59, &err) == 0);
	CHECK_STR("spec date text", out, "2026-11-22T10:00:59Z");
}

static struct wh_envelope message(const char *type, const char *hook, const char *data)
{
	struct wh_envelope msg = {ID, type, NOV22_10H00, hook, COMMIT, data, strlen(data)};
	return msg;
}

/* The payload texts whose bytes must survive: number spellings jansson
 * would change (1.0, -0.0, 1E2, 2^64 which jansson refuses), \u escapes,
 * key order and duplicate-free odd spacing. */
static const char *const odd_payloads[] = {
    "{\"b\": 1.0, \"a\": 18446744073709551616, \"z\": -0.0, \"e\": 1E2}",
    "{\"s\": \"caf\\u00e9 \\ud83d\\ude00 \\/ \\\"q\\\"\", \"t\":\"raw \xc3\xa9\"}",
    "{ \"zeta\" :[ 1 ,2,3 ] ,\n\t\"alpha\" : {\"y\":null,\"x\":true} }",
    "[1, 2.50, 3e-7]",
};

static void test_standard_body(void)
{
	const char *prefix = "{\"id\":\"" ID "\",\"type\":\"clusters_deployed\","
			     "\"timestamp\":\"2026-11-22T10:00:00Z\",\"hook\":\"deploy-notify\","
			     "\"config\":{\"commit\":\"" COMMIT "\"},\"data\":";
	struct wh_error err = WH_ERROR_INIT;

	for (size_t i = 0; i < WH_ARRAY_SIZE(odd_payloads); i++) {
		char *padded = wh_strdupf(" \n\t%s\r\n\n", odd_payloads[i]);
		struct wh_envelope msg = message("clusters_deployed", "deploy-notify", padded);
		char *body = NULL, *want = wh_strdupf("%s%s}", prefix, odd_payloads[i]);
		size_t len = 0;
		json_t *parsed;

		CHECK("standard body", wh_envelope_standard(&body, &len, &msg, &err) == 0);
		CHECK_STR("data spliced byte for byte", body, want);
		CHECK("length", body && len == strlen(body));
		/* INT_AS_REAL only because jansson refuses 2^64 as an integer. */
		parsed = body ? json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
		CHECK("valid JSON", json_is_object(parsed));
		CHECK("data present", json_object_get(parsed, "data") != NULL);
		json_decref(parsed);
		free(body);
		free(want);
		free(padded);
	}
}

static void test_escaping(void)
{
	const char *hook = "we\"ird\\name\x01 caf\xc3\xa9 </script>";
	const char *type = "custom\nstage\t\"x\"";
	struct wh_envelope msg = message(type, hook, "{}");
	struct wh_error err = WH_ERROR_INIT;
	char *body = NULL;
	size_t len = 0;
	json_t *parsed;

	CHECK("escaped body", wh_envelope_standard(&body, &len, &msg, &err) == 0);
	parsed = body ? json_loads(body, 0, NULL) : NULL;
	CHECK("valid JSON", json_is_object(parsed));
	CHECK_STR("hook round-trips", json_string_value(json_object_get(parsed, "hook")), hook);
	CHECK_STR("type round-trips", json_string_value(json_object_get(parsed, "type")), type);
	CHECK("control characters escaped", body && !strchr(body, '\x01') && !strchr(body, '\n'));
	CHECK("key order", body && strstr(body, "\"type\"") < strstr(body, "\"timestamp\"") &&
			       strstr(body, "\"hook\"") < strstr(body, "\"config\""));
	json_decref(parsed);
	free(body);

	msg = message("clusters_deployed", "bad\xff", "{}");
	body = NULL;
	CHECK("invalid UTF-8 refused",
	      wh_envelope_standard(&body, &len, &msg, &err) == WH_EINTERNAL && body == NULL);
	msg = message("clusters_deployed", "deploy-notify", " \n ");
	CHECK("empty payload refused",
	      wh_envelope_standard(&body, &len, &msg, &err) == WH_EPAYLOAD && body == NULL);
	CHECK("empty raw refused", wh_envelope_raw(&body, &len, &msg, &err) == WH_EPAYLOAD);
}

static void test_raw_and_dispatch(void)
{
	struct wh_envelope msg = message("clusters_deployed", "h", "\n {\"b\": 1.0, \"a\": 2} \n");
	struct wh_error err = WH_ERROR_INIT;
	char *body = NULL;
	size_t len = 0;

	CHECK("raw", wh_envelope_body(&body, &len, WH_KIND_RAW, &msg, &err) == 0);
	CHECK_STR("raw is the payload text", body, "{\"b\": 1.0, \"a\": 2}");
	CHECK("raw length", len == strlen("{\"b\": 1.0, \"a\": 2}"));
	free(body);
	CHECK("plugin", wh_envelope_body(&body, &len, WH_KIND_PLUGIN, &msg, &err) == 0);
	CHECK("plugins get the standard envelope", body && strncmp(body, "{\"id\":", 6) == 0);
	free(body);
	CHECK("slack", wh_envelope_body(&body, &len, WH_KIND_SLACK, &msg, &err) == 0);
	CHECK("slack dispatch", body && strncmp(body, "{\"text\":", 8) == 0);
	free(body);
}

/* The Slack text of a payload, or NULL; the body must be exactly {"text":...}. */
static char *slack_text(const char *type, const char *data)
{
	struct wh_envelope msg = message(type, "deploy-notify", data);
	struct wh_error err = WH_ERROR_INIT;
	char *body = NULL, *text = NULL;
	size_t len = 0;
	json_t *parsed;

	if (wh_envelope_slack(&body, &len, &msg, &err) < 0)
		return NULL;
	parsed = json_loadb(body, len, 0, NULL);
	if (json_is_object(parsed) && json_object_size(parsed) == 1 &&
	    json_is_string(json_object_get(parsed, "text")))
		text = strdup(json_string_value(json_object_get(parsed, "text")));
	json_decref(parsed);
	free(body);
	return text;
}

static void test_slack(void)
{
	char *text = slack_text(
	    "clusters_deployed",
	    "{\"actor\": {\"name\": \"Jana Novak\"}, \"application\": {\"name\": \"billing-api\"},"
	    " \"cluster\": {\"name\": \"billing-api-prod-eu\", \"environment\": \"production\"},"
	    " \"deploy\": {\"version\": \"2.14.0\", \"replicas\": 18446744073709551616}}");

	CHECK("deployed summary", text != NULL);
	CHECK_STR(
	    "readable", text ? text : "",
	    "whrun: *clusters_deployed* (hook deploy-notify)\n"
	    "application billing-api \xC2\xB7 cluster billing-api-prod-eu (production) \xC2\xB7 "
	    "version 2.14.0 \xC2\xB7 by Jana Novak\n"
	    "config 4e1b9a0");
	free(text);

	text =
	    slack_text("clusters_freed",
		       "{\"application\": {\"name\": \"billing-api\"}, \"reason\": \"ttl_expired\","
		       " \"clusters\": [{\"name\": \"c1\", \"environment\": \"staging\"},"
		       " {\"name\": \"c2\"}], \"user\": {\"name\": \"ci\"}}");
	CHECK_STR("several clusters and a reason", text ? text : "",
		  "whrun: *clusters_freed* (hook deploy-notify)\n"
		  "application billing-api \xC2\xB7 clusters c1 (staging), c2 \xC2\xB7 by ci\n"
		  "reason: ttl_expired\n"
		  "config 4e1b9a0");
	free(text);

	text =
	    slack_text("clusters_rollbacked",
		       "{\"rollback\": {\"from_version\": \"2.14.0\", \"to_version\": \"2.13.2\","
		       " \"reason\": \"errors\"}}");
	CHECK_STR("rollback versions", text ? text : "",
		  "whrun: *clusters_rollbacked* (hook deploy-notify)\n"
		  "version 2.14.0 \xE2\x86\x92 2.13.2\n"
		  "reason: errors\n"
		  "config 4e1b9a0");
	free(text);

	text = slack_text("application_transferred",
			  "{\"application\": {\"name\": \"billing-api\"}, \"transfer\": {\"from\":"
			  " {\"name\": \"payments\"}, \"to\": {\"name\": \"finance\"}}}");
	CHECK_STR("transfer", text ? text : "",
		  "whrun: *application_transferred* (hook deploy-notify)\n"
		  "application billing-api \xC2\xB7 owner payments \xE2\x86\x92 finance\n"
		  "config 4e1b9a0");
	free(text);

	/* Slack's control characters are escaped as Slack documents. */
	text =
	    slack_text("cluster_created",
		       "{\"application\": {\"name\": \"a<b>&c <!channel>\"}, \"environment\": 7}");
	CHECK_STR("escaped", text ? text : "",
		  "whrun: *cluster_created* (hook deploy-notify)\n"
		  "application a&lt;b&gt;&amp;c &lt;!channel&gt; \xC2\xB7 environment 7\n"
		  "config 4e1b9a0");
	free(text);

	/* Nothing known in the payload: stage, hook and commit only. */
	text = slack_text("custom_stage", "{\"something\": [1, 2]}");
	CHECK_STR("lenient", text ? text : "",
		  "whrun: *custom_stage* (hook deploy-notify)\nconfig 4e1b9a0");
	free(text);

	/* Long values are cut. */
	{
		char data[600];
		char *long_name = malloc(401);
		memset(long_name, 'x', 400);
		long_name[400] = '\0';
		snprintf(data, sizeof(data), "{\"application\": {\"name\": \"%s\"}}", long_name);
		text = slack_text("applications_created", data);
		CHECK("cut", text && strlen(text) < 300 && strstr(text, "\xE2\x80\xA6"));
		free(text);
		free(long_name);
	}
}

static void test_ping(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *data = NULL, *body = NULL, *text;
	size_t len = 0, body_len = 0;
	struct wh_envelope msg;

	CHECK("ping data", wh_envelope_ping_data(&data, &len, "deploy-notify", COMMIT, &err) == 0);
	CHECK_STR("ping data text", data,
		  "{\"hook\":\"deploy-notify\",\"commit\":\"" COMMIT
		  "\",\"message\":\"ping from whrun\"}");
	CHECK("ping data length", data && len == strlen(data));
	msg = message("ping", "deploy-notify", data ? data : "");
	CHECK("ping envelope", wh_envelope_standard(&body, &body_len, &msg, &err) == 0);
	CHECK("ping type", body && strstr(body, "\"type\":\"ping\""));
	text = slack_text("ping", data ? data : "");
	CHECK("ping on slack", text && strstr(text, "ping from whrun"));
	free(text);
	free(body);
	free(data);
}

int main(void)
{
	test_id_generation();
	test_id_encoding();
	test_time();
	test_standard_body();
	test_escaping();
	test_raw_and_dispatch();
	test_slack();
	test_ping();
	return check_done();
}
