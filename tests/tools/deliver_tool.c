/*
 * deliver_tool: drives the delivery engine from the command line for the
 * shell tests (and by hand). Every URL becomes one request; each attempt
 * is printed as one JSON line, then a summary line:
 *
 *   {"url": ..., "attempt": 1, "outcome": "retry", "status": 500, "final": false,
 *    "next_delay_ms": 130, "duration_ms": 3, "error": "", ...}
 *   {"summary": true, "elapsed_ms": 1012, "delivered": 1, ...}
 *
 * Exit status: 0 when every request was delivered, 1 when one was not,
 * 2 for a usage error (a bad --allow-net included) or an engine failure.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "deliver.h"
#include "banned.h"

#define MAX_LIST 64

struct tool {
	const char *headers[MAX_LIST];
	size_t nheaders;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: deliver_tool [--concurrency N] [--max-time S] [--allow-net CIDR]...\n"
		"  [--timeout-ms N] [--attempts N] [--backoff-ms N] [--max-backoff-ms N]\n"
		"  [--method M] [--data BODY] [--header 'Name: value']... [--insecure]\n"
		"  [--ca-file F] [--user NAME:PASSWORD] [--user-agent UA] URL...\n");
}

static long number(const char *text, const char *what)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (!*text || *end || value < 0) {
		fprintf(stderr, "deliver_tool: bad %s '%s'\n", what, text);
		exit(2);
	}
	return value;
}

static int prepare(struct wh_request *req, int attempt, struct curl_slist **headers,
		   struct wh_error *err, void *ctx)
{
	struct tool *tool = ctx;
	struct curl_slist *list = NULL, *next;
	char line[64];
	size_t i;

	snprintf(line, sizeof(line), "X-Attempt: %d", attempt);
	next = curl_slist_append(list, "Content-Type: application/json");
	if (next)
		next = curl_slist_append(list = next, line);
	for (i = 0; next && i < tool->nheaders; i++)
		next = curl_slist_append(list = next, tool->headers[i]);
	if (!next) {
		curl_slist_free_all(list);
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	*headers = next;
	return 0;
}

static void attempted(struct wh_request *req, const struct wh_attempt *a, int final,
		      long next_delay_ms, void *ctx)
{
	json_t *line = json_pack(
	    "{s:s, s:i, s:s, s:i, s:b, s:I, s:I, s:f, s:s, s:I, s:s, s:I, s:b, s:s, s:s%}", "url",
	    req->url, "attempt", a->number, "outcome", wh_outcome_name(a->outcome), "status",
	    (int)a->http_status, "final", final, "next_delay_ms", (json_int_t)next_delay_ms,
	    "duration_ms", (json_int_t)a->duration_ms, "started_at", a->started_at, "error",
	    a->error, "retry_after_ms", (json_int_t)a->retry_after_ms, "remote_ip", a->remote_ip,
	    "body_len", (json_int_t)a->response_body_len, "truncated", a->body_truncated,
	    "response_headers", a->response_headers, "body", a->response_body,
	    a->response_body_len < 256 ? a->response_body_len : 256);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(line);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"concurrency", required_argument, NULL, 'c'},
	    {"max-time", required_argument, NULL, 'T'},
	    {"allow-net", required_argument, NULL, 'A'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"attempts", required_argument, NULL, 'n'},
	    {"backoff-ms", required_argument, NULL, 'b'},
	    {"max-backoff-ms", required_argument, NULL, 'B'},
	    {"method", required_argument, NULL, 'X'},
	    {"data", required_argument, NULL, 'd'},
	    {"header", required_argument, NULL, 'H'},
	    {"insecure", no_argument, NULL, 'k'},
	    {"ca-file", required_argument, NULL, 'C'},
	    {"user", required_argument, NULL, 'u'},
	    {"user-agent", required_argument, NULL, 'U'},
	    {NULL, 0, NULL, 0},
	};
	struct wh_deliver_options opts = {0};
	struct wh_deliver_callbacks cb = {prepare, attempted, NULL};
	struct wh_error err = WH_ERROR_INIT;
	struct wh_request proto = {0}, *reqs = NULL;
	struct tool tool = {{0}, 0};
	const char *allow[MAX_LIST];
	size_t nallow = 0, n, i, counts[4] = {0}, not_started = 0;
	char *user = NULL;
	double started;
	int c, status = 2;

	proto.method = "POST";
	proto.body = "{}";
	proto.timeout_ms = 10000;
	proto.tls_verify = 1;
	proto.max_attempts = 1;
	proto.backoff_ms = 1000;
	proto.max_backoff_ms = 30000;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.concurrency = (int)number(optarg, "--concurrency");
			break;
		case 'T':
			opts.max_time_s = strtod(optarg, NULL);
			break;
		case 'A':
			if (nallow < MAX_LIST)
				allow[nallow++] = optarg;
			break;
		case 't':
			proto.timeout_ms = number(optarg, "--timeout-ms");
			break;
		case 'n':
			proto.max_attempts = (int)number(optarg, "--attempts");
			break;
		case 'b':
			proto.backoff_ms = number(optarg, "--backoff-ms");
			break;
		case 'B':
			proto.max_backoff_ms = number(optarg, "--max-backoff-ms");
			break;
		case 'X':
			proto.method = optarg;
			break;
		case 'd':
			proto.body = optarg;
			break;
		case 'H':
			if (tool.nheaders < MAX_LIST)
				tool.headers[tool.nheaders++] = optarg;
			break;
		case 'k':
			proto.tls_verify = 0;
			break;
		case 'C':
			proto.ca_file = optarg;
			break;
		case 'u':
			free(user);
			user = strdup(optarg);
			if (user && strchr(user, ':')) {
				*strchr(user, ':') = '\0';
				proto.basic_username = user;
				proto.basic_password = user + strlen(user) + 1;
			}
			break;
		case 'U':
			opts.user_agent = optarg;
			break;
		default:
			usage();
			goto out;
		}
	}
	if (optind >= argc) {
		usage();
		goto out;
	}
	proto.body_len = strlen(proto.body);
	opts.allow_net = allow;
	opts.nallow_net = nallow;

	n = (size_t)(argc - optind);
	reqs = calloc(n, sizeof(*reqs));
	if (!reqs)
		goto out;
	for (i = 0; i < n; i++) {
		reqs[i] = proto;
		reqs[i].url = argv[optind + (int)i];
	}

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	started = now_ms();
	if (wh_deliver_run(reqs, n, &opts, &cb, &tool, &err) < 0) {
		fprintf(stderr, "deliver_tool: %s\n", err.message);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (reqs[i].attempts == 0 && reqs[i].outcome == WH_OUTCOME_RETRY)
			not_started++;
		else
			counts[reqs[i].outcome]++;
	}
	printf("{\"summary\": true, \"elapsed_ms\": %.0f, \"delivered\": %zu, \"retry\": %zu, "
	       "\"failed\": %zu, \"gone\": %zu, \"not_started\": %zu}\n",
	       now_ms() - started, counts[WH_OUTCOME_DELIVERED], counts[WH_OUTCOME_RETRY],
	       counts[WH_OUTCOME_FAILED], counts[WH_OUTCOME_GONE], not_started);
	status = counts[WH_OUTCOME_DELIVERED] == n ? 0 : 1;
out:
	curl_global_cleanup();
	free(reqs);
	free(user);
	if (fclose(stdout) != 0)
		status = 2;
	return status;
}
