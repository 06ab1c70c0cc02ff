/*
 * test_deliver: the delivery engine against a real receiver
 * (tests/tools/receiver.py) on 127.0.0.1, and the address guard's
 * decisions on socket addresses. Nothing here connects anywhere but
 * loopback: deliveries to refused addresses are tested inside a private
 * network namespace by tests/cli/t0900-deliver-guard.sh.
 *
 * Timings are printed, and asserted only as lower bounds the engine
 * cannot beat (a Retry-After wait, the concurrency bound) or as generous
 * hang guards.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "deliver.h"
#include "netguard.h"
#include "util.h"
#include "banned.h"

/* -- recording what the engine reports -------------------------------- */

struct rec {
	int req, number, final, truncated;
	enum wh_outcome outcome;
	long status, next_delay, duration, retry_after;
	double started_at;
	size_t body_len;
	char error[512], headers[2048], body[64];
};

struct recorder {
	struct rec recs[1024];
	size_t n;
	struct wh_request *base;
	int prepared;
};

static int prepare(struct wh_request *req, int attempt, struct curl_slist **headers,
		   struct wh_error *err, void *ctx)
{
	struct recorder *r = ctx;
	struct curl_slist *list = NULL, *next;
	char line[64];

	r->prepared++;
	if (req->userdata && strcmp(req->userdata, "fail-prepare") == 0)
		return wh_error_set(err, WH_ECONFIG, "secret TOKEN is not set");
	snprintf(line, sizeof(line), "X-Attempt: %d", attempt);
	next = curl_slist_append(list, "Content-Type: application/json");
	if (next)
		next = curl_slist_append(list = next, line);
	if (next)
		next = curl_slist_append(list = next, "X-Test: yes");
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
	struct recorder *r = ctx;
	struct rec *rec;

	if (r->n >= WH_ARRAY_SIZE(r->recs))
		return;
	rec = &r->recs[r->n++];
	rec->req = (int)(req - r->base);
	rec->number = a->number;
	rec->final = final;
	rec->truncated = a->body_truncated;
	rec->outcome = a->outcome;
	rec->status = a->http_status;
	rec->next_delay = next_delay_ms;
	rec->duration = a->duration_ms;
	rec->retry_after = a->retry_after_ms;
	rec->started_at = a->started_at;
	rec->body_len = a->response_body_len;
	wh_strlcpy(rec->error, a->error, sizeof(rec->error));
	wh_strlcpy(rec->headers, a->response_headers, sizeof(rec->headers));
	wh_strlcpy(rec->body, a->response_body, sizeof(rec->body));
}

static const struct wh_deliver_callbacks callbacks = {prepare, attempted, NULL};

/* The record of attempt `number` of request `req`, or a zeroed one. */
static const struct rec *attempt_of(const struct recorder *r, int req, int number)
{
	static const struct rec none = {.req = -1, .status = -1};
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->recs[i].req == req && r->recs[i].number == number)
			return &r->recs[i];
	return &none;
}

static int attempts_of(const struct recorder *r, int req)
{
	int count = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		count += r->recs[i].req == req;
	return count;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void request(struct wh_request *req, const char *url, int attempts, long backoff_ms,
		    long timeout_ms)
{
	memset(req, 0, sizeof(*req));
	req->url = url;
	req->body = "{\"hello\":\"world\"}";
	req->body_len = strlen(req->body);
	req->timeout_ms = timeout_ms;
	req->tls_verify = 1;
	req->max_attempts = attempts;
	req->backoff_ms = backoff_ms;
	req->max_backoff_ms = 5000;
}

/* Runs the engine, recording into r (reset first); returns its result. */
static int deliver(struct recorder *r, struct wh_request *reqs, size_t n,
		   const struct wh_deliver_options *opts, double *elapsed_ms)
{
	struct wh_error err = WH_ERROR_INIT;
	double start = now_ms();
	int rc;

	r->n = 0;
	r->prepared = 0;
	r->base = reqs;
	rc = wh_deliver_run(reqs, n, opts, &callbacks, r, &err);
	if (elapsed_ms)
		*elapsed_ms = now_ms() - start;
	if (rc < 0)
		fprintf(stderr, "wh_deliver_run: %s\n", err.message);
	return rc;
}

/* -- the receiver ------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_deliver.XXXXXX";
static char log_path[256];
static pid_t receiver_pid;
static int port;

static int receiver_start(void)
{
	const char *src = getenv("WH_SOURCE_DIR");
	char script[1024], line[64] = "";
	int fds[2];
	FILE *out;

	snprintf(script, sizeof(script), "%s/tests/tools/receiver.py", src ? src : ".");
	snprintf(log_path, sizeof(log_path), "%s/requests.log", tmpdir);
	if (pipe(fds) < 0)
		return -1;
	receiver_pid = fork();
	if (receiver_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, "--log", log_path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	if (!out || !fgets(line, sizeof(line), out) || sscanf(line, "PORT %d", &port) != 1)
		port = 0;
	if (out)
		fclose(out);
	return port > 0 ? 0 : -1;
}

static void receiver_stop(void)
{
	if (receiver_pid > 0) {
		kill(receiver_pid, SIGTERM);
		waitpid(receiver_pid, NULL, 0);
	}
}

/* Requests the receiver logged whose path starts with prefix; when
 * ports is not NULL, fills it with their client ports (up to nports). */
static int logged(const char *prefix, int *ports, size_t nports)
{
	FILE *f = fopen(log_path, "r");
	char line[1 << 16];
	int count = 0;

	while (f && fgets(line, sizeof(line), f)) {
		json_t *entry = json_loads(line, 0, NULL);
		const char *path = json_string_value(json_object_get(entry, "path"));

		if (path && strncmp(path, prefix, strlen(prefix)) == 0) {
			if (ports && (size_t)count < nports)
				ports[count] =
				    (int)json_integer_value(json_object_get(entry, "client_port"));
			count++;
		}
		json_decref(entry);
	}
	if (f)
		fclose(f);
	return count;
}

/* The logged request at path (the last one), as JSON; caller decrefs. */
static json_t *logged_request(const char *path)
{
	FILE *f = fopen(log_path, "r");
	char *line = malloc(4 << 20);
	json_t *found = NULL;

	while (f && line && fgets(line, 4 << 20, f)) {
		json_t *entry = json_loads(line, 0, NULL);
		const char *p = json_string_value(json_object_get(entry, "path"));

		if (p && strcmp(p, path) == 0) {
			json_decref(found);
			found = entry;
		} else {
			json_decref(entry);
		}
	}
	if (f)
		fclose(f);
	free(line);
	return found;
}

/* A loopback port nobody listens on (bound, then released). */
static int closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), result = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		result = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return result;
}

/* -- pure pieces ------------------------------------------------------- */

static int refuses(const struct wh_netguard *guard, const char *ip)
{
	struct sockaddr_storage ss;
	char addr[WH_NETGUARD_ADDR_MAX], lift[WH_NETGUARD_ADDR_MAX];

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
		return wh_netguard_refuses(guard, (struct sockaddr *)&ss, sizeof(*sin6), addr,
					   lift);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &sin->sin_addr);
		return wh_netguard_refuses(guard, (struct sockaddr *)&ss, sizeof(*sin), addr, lift);
	}
}

static void test_netguard(void)
{
	static const struct {
		const char *ip;
		int refused;
	} plain[] = {
	    {"169.254.169.254", 1},
	    {"169.254.0.1", 1},
	    {"169.255.0.1", 0},
	    {"169.253.255.255", 0},
	    {"127.0.0.1", 0},
	    {"10.0.0.1", 0},
	    {"fe80::1", 1},
	    {"febf:ffff::1", 1},
	    {"fec0::1", 0},
	    {"::1", 0},
	    {"::ffff:169.254.169.254", 1},
	    {"::ffff:127.0.0.1", 0},
	    {"::169.254.169.254", 1},
	    {"64:ff9b::169.254.169.254", 1},
	    {"64:ff9b::a00:1", 0},
	    {"fd00:ec2::254", 1},
	    {"fd00:ec2::253", 0},
	};
	const char *allow_v4[] = {"169.254.0.0/16"};
	const char *allow_narrow[] = {"169.254.169.254/32", "fe80::/64"};
	const char *bad[] = {"169.254.0.0/33", "fe80::/129", "nonsense", "10.0.0.0/", "/8",
			     "10.0.0.0/8x",    "10.0.0/8",   ""};
	struct wh_netguard guard;
	struct wh_error err = WH_ERROR_INIT;
	struct wh_cidr cidr;
	unsigned char v4[4];
	size_t i;
	char addr[WH_NETGUARD_ADDR_MAX] = "", lift[WH_NETGUARD_ADDR_MAX] = "";
	struct sockaddr_in6 mapped;

	CHECK("empty guard", wh_netguard_init(&guard, NULL, 0, &err) == 0);
	for (i = 0; i < WH_ARRAY_SIZE(plain); i++) {
		if (refuses(&guard, plain[i].ip) != plain[i].refused)
			fprintf(stderr, "  address %s\n", plain[i].ip);
		CHECK("default policy", refuses(&guard, plain[i].ip) == plain[i].refused);
	}
	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:169.254.1.2", &mapped.sin6_addr);
	CHECK("mapped refused",
	      wh_netguard_refuses(&guard, (struct sockaddr *)&mapped, sizeof(mapped), addr, lift));
	CHECK_STR("mapped shown as connected", addr, "::ffff:169.254.1.2");
	CHECK_STR("mapped lifted by the v4 net", lift, "169.254.0.0/16");
	wh_netguard_release(&guard);

	CHECK("allow v4", wh_netguard_init(&guard, allow_v4, 1, &err) == 0);
	CHECK("allowed v4", !refuses(&guard, "169.254.169.254"));
	CHECK("allowed v4-mapped", !refuses(&guard, "::ffff:169.254.169.254"));
	CHECK("v6 link-local still refused", refuses(&guard, "fe80::1"));
	wh_netguard_release(&guard);

	CHECK("allow narrow", wh_netguard_init(&guard, allow_narrow, 2, &err) == 0);
	CHECK("allowed exact", !refuses(&guard, "169.254.169.254"));
	CHECK("neighbour refused", refuses(&guard, "169.254.169.253"));
	CHECK("allowed fe80::/64", !refuses(&guard, "fe80::42"));
	CHECK("outside fe80::/64", refuses(&guard, "fe80:0:0:1::42"));
	wh_netguard_release(&guard);

	for (i = 0; i < WH_ARRAY_SIZE(bad); i++) {
		wh_error_clear(&err);
		CHECK("bad cidr", wh_netguard_init(&guard, &bad[i], 1, &err) == WH_EUSAGE);
		CHECK("bad cidr named", strstr(err.message, "bad --allow-net") != NULL);
	}
	CHECK("host bits cleared", wh_cidr_parse(&cidr, "169.254.169.254/16", &err) == 0 &&
				       cidr.prefix == 16 && cidr.addr[2] == 0 && cidr.addr[3] == 0);
	inet_pton(AF_INET, "169.254.3.4", v4);
	CHECK("contains", wh_cidr_contains(&cidr, AF_INET, v4));
	CHECK("bare v6 is /128", wh_cidr_parse(&cidr, "::1", &err) == 0 && cidr.prefix == 128);
	CHECK("/0",
	      wh_cidr_parse(&cidr, "0.0.0.0/0", &err) == 0 && wh_cidr_contains(&cidr, AF_INET, v4));
}

static void test_classification(void)
{
	static const struct {
		long status;
		enum wh_outcome outcome;
	} table[] = {
	    {200, WH_OUTCOME_DELIVERED}, {204, WH_OUTCOME_DELIVERED}, {299, WH_OUTCOME_DELIVERED},
	    {301, WH_OUTCOME_FAILED},	 {304, WH_OUTCOME_FAILED},    {400, WH_OUTCOME_FAILED},
	    {404, WH_OUTCOME_FAILED},	 {408, WH_OUTCOME_RETRY},     {410, WH_OUTCOME_GONE},
	    {429, WH_OUTCOME_RETRY},	 {500, WH_OUTCOME_RETRY},     {503, WH_OUTCOME_RETRY},
	    {599, WH_OUTCOME_RETRY},	 {600, WH_OUTCOME_FAILED},    {101, WH_OUTCOME_FAILED},
	};
	size_t i;

	for (i = 0; i < WH_ARRAY_SIZE(table); i++)
		CHECK("status class",
		      wh_deliver_classify_status(table[i].status) == table[i].outcome);

	CHECK("retry-after seconds", wh_deliver_retry_after(" 120", 0) == 120000);
	CHECK("retry-after zero", wh_deliver_retry_after("0", 0) == 0);
	CHECK("retry-after date",
	      wh_deliver_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10000);
	CHECK("retry-after past date",
	      wh_deliver_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0) == 0);
	CHECK("retry-after junk", wh_deliver_retry_after("soon", 0) == -1);
	CHECK("retry-after junk after digits", wh_deliver_retry_after("12abc", 0) == -1);
	CHECK("retry-after empty", wh_deliver_retry_after("", 0) == -1);

	CHECK("backoff 1", wh_deliver_backoff_ms(1000, 30000, 1) == 1000);
	CHECK("backoff 2", wh_deliver_backoff_ms(1000, 30000, 2) == 2000);
	CHECK("backoff 4", wh_deliver_backoff_ms(1000, 30000, 4) == 8000);
	CHECK("backoff capped", wh_deliver_backoff_ms(1000, 30000, 10) == 30000);
	CHECK("backoff huge attempt", wh_deliver_backoff_ms(1000, 30000, 1000) == 30000);
	CHECK_STR("outcome name", wh_outcome_name(WH_OUTCOME_GONE), "gone");
}

/* -- against the receiver ---------------------------------------------- */

static char urls[64][256];

static const char *url(int i, const char *path)
{
	snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d%s", port, path);
	return urls[i];
}

static struct recorder rec;

static void test_statuses(void)
{
	enum { OK, FLAKY, NOTFOUND, MOVED, GONE, RESET, REFUSED, BIG, HUGE, FTP, PREPARE, N };
	struct wh_request reqs[N];
	char refused_url[64];
	double elapsed;
	const struct rec *a;

	snprintf(refused_url, sizeof(refused_url), "http://127.0.0.1:%d/", closed_port());
	request(&reqs[OK], url(OK, "/ok"), 3, 50, 5000);
	request(&reqs[FLAKY], url(FLAKY, "/flaky/a/1/500"), 3, 50, 5000);
	request(&reqs[NOTFOUND], url(NOTFOUND, "/status/404"), 3, 50, 5000);
	request(&reqs[MOVED], url(MOVED, "/status/301"), 3, 50, 5000);
	request(&reqs[GONE], url(GONE, "/status/410"), 3, 50, 5000);
	request(&reqs[RESET], url(RESET, "/reset"), 3, 50, 5000);
	request(&reqs[REFUSED], refused_url, 3, 50, 5000);
	request(&reqs[BIG], url(BIG, "/big/100000"), 3, 50, 5000);
	request(&reqs[HUGE], url(HUGE, "/big/3000000"), 3, 50, 5000);
	request(&reqs[FTP], "ftp://127.0.0.1/", 3, 50, 5000);
	request(&reqs[PREPARE], url(PREPARE, "/status/200"), 3, 50, 5000);
	reqs[PREPARE].userdata = "fail-prepare";

	CHECK("run", deliver(&rec, reqs, N, NULL, &elapsed) == 0);
	printf("statuses: %zu attempts in %.0f ms\n", rec.n, elapsed);

	a = attempt_of(&rec, OK, 1);
	CHECK("200 delivered", a->outcome == WH_OUTCOME_DELIVERED && a->status == 200 && a->final);
	CHECK_STR("200 body", a->body, "ok");
	CHECK("200 headers", strncmp(a->headers, "HTTP/1.1 200 OK\n", 16) == 0);
	CHECK("200 once", attempts_of(&rec, OK) == 1 && reqs[OK].attempts == 1);

	a = attempt_of(&rec, FLAKY, 1);
	CHECK("500 retried", a->outcome == WH_OUTCOME_RETRY && a->status == 500 && !a->final);
	CHECK("500 delay jittered within [25, 50]", a->next_delay >= 25 && a->next_delay <= 50);
	a = attempt_of(&rec, FLAKY, 2);
	CHECK("then 200", a->outcome == WH_OUTCOME_DELIVERED && a->status == 200 && a->final);
	CHECK("flaky result", reqs[FLAKY].outcome == WH_OUTCOME_DELIVERED &&
				  reqs[FLAKY].attempts == 2 && reqs[FLAKY].http_status == 200);
	CHECK("flaky reached twice", logged("/flaky/a/", NULL, 0) == 2);

	a = attempt_of(&rec, NOTFOUND, 1);
	CHECK("404 failed", a->outcome == WH_OUTCOME_FAILED && a->status == 404 && a->final);
	CHECK("404 not retried", logged("/status/404", NULL, 0) == 1);

	a = attempt_of(&rec, MOVED, 1);
	CHECK("301 failed", a->outcome == WH_OUTCOME_FAILED && a->status == 301 && a->final);
	CHECK("301 location recorded", strstr(a->headers, "\nLocation: /ok\n") != NULL);
	CHECK("301 not retried", logged("/status/301", NULL, 0) == 1);
	CHECK("301 not followed (only the /ok request)", logged("/ok", NULL, 0) == 1);

	a = attempt_of(&rec, GONE, 1);
	CHECK("410 gone", a->outcome == WH_OUTCOME_GONE && a->status == 410 && a->final);
	CHECK("410 not retried", logged("/status/410", NULL, 0) == 1);

	CHECK("reset retried to the end", attempts_of(&rec, RESET) == 3);
	a = attempt_of(&rec, RESET, 1);
	CHECK("reset retryable", a->outcome == WH_OUTCOME_RETRY && a->status == 0 && !a->final);
	CHECK("reset error", strstr(a->error, "reset") != NULL || strstr(a->error, "Recv") != NULL);
	CHECK("reset last final",
	      attempt_of(&rec, RESET, 3)->final && reqs[RESET].outcome == WH_OUTCOME_RETRY);
	/* libcurl itself sends a request again when a reused keep-alive
	 * connection dies before any response byte (it cannot tell a stale
	 * connection from a reset), so 3 attempts may reach the receiver
	 * more than 3 times. At-least-once either way. */
	printf("reset: 3 attempts reached the receiver %d times\n", logged("/reset", NULL, 0));
	CHECK("reset reached at least 3 times", logged("/reset", NULL, 0) >= 3);

	a = attempt_of(&rec, REFUSED, 1);
	CHECK("connection refused retryable", a->outcome == WH_OUTCOME_RETRY && a->status == 0);
	CHECK("connection refused error", strstr(a->error, "onnect") != NULL);
	CHECK("connection refused tried 3 times", attempts_of(&rec, REFUSED) == 3);
	CHECK("delays grow", attempt_of(&rec, REFUSED, 2)->next_delay >= 50 &&
				 attempt_of(&rec, REFUSED, 2)->next_delay <= 100);

	a = attempt_of(&rec, BIG, 1);
	CHECK("big delivered", a->outcome == WH_OUTCOME_DELIVERED && a->status == 200);
	CHECK("big body capped", a->body_len == WH_DELIVER_BODY_MAX && a->truncated);
	a = attempt_of(&rec, HUGE, 1);
	CHECK("huge delivered despite the abort",
	      a->outcome == WH_OUTCOME_DELIVERED && a->status == 200 && a->final);
	CHECK("huge body capped", a->body_len == WH_DELIVER_BODY_MAX && a->truncated);

	a = attempt_of(&rec, FTP, 1);
	CHECK("ftp refused",
	      a->outcome == WH_OUTCOME_FAILED && a->final && attempts_of(&rec, FTP) == 1);

	a = attempt_of(&rec, PREPARE, 1);
	CHECK("prepare failure fails", a->outcome == WH_OUTCOME_FAILED && a->final);
	CHECK_STR("prepare failure message", a->error, "secret TOKEN is not set");
	CHECK("prepare failure: nothing sent", logged("/status/200", NULL, 0) == 0);
}

static void test_request_shape(void)
{
	struct wh_request req;
	struct wh_deliver_options opts = {0};
	size_t big = 1500000;
	char *body = malloc(big + 1);
	json_t *got;
	const char *h;

	if (!body)
		return;
	memset(body, 'a', big);
	body[0] = '"';
	body[big - 1] = '"';
	body[big] = '\0';
	request(&req, url(0, "/ok?shape"), 1, 0, 5000);
	req.method = "PUT";
	req.body = body;
	req.body_len = big;
	req.basic_username = "ci";
	req.basic_password = "s3cret";
	opts.user_agent = "whrun/test";
	CHECK("run", deliver(&rec, &req, 1, &opts, NULL) == 0);
	CHECK("delivered", req.outcome == WH_OUTCOME_DELIVERED);
	got = logged_request("/ok?shape");
	CHECK("logged", got != NULL);
	CHECK_STR("method", json_string_value(json_object_get(got, "method")), "PUT");
	h = json_string_value(json_object_get(json_object_get(got, "headers"), "authorization"));
	CHECK_STR("basic auth", h, "Basic Y2k6czNjcmV0");
	h = json_string_value(json_object_get(json_object_get(got, "headers"), "user-agent"));
	CHECK_STR("user agent", h, "whrun/test");
	h = json_string_value(json_object_get(json_object_get(got, "headers"), "x-attempt"));
	CHECK_STR("prepared header", h, "1");
	h = json_string_value(json_object_get(json_object_get(got, "headers"), "content-type"));
	CHECK_STR("content type", h, "application/json");
	CHECK("no Expect header",
	      json_object_get(json_object_get(got, "headers"), "expect") == NULL);
	CHECK("whole body", strlen(json_string_value(json_object_get(got, "body"))) == big);
	json_decref(got);
	free(body);
}

static void test_retry_after(void)
{
	enum { SECONDS, DATE, CAPPED, N };
	struct wh_request reqs[N];
	const struct rec *first, *second;
	double gap;

	request(&reqs[SECONDS], url(SECONDS, "/retry-after/k1/1"), 3, 50, 5000);
	request(&reqs[DATE], url(DATE, "/retry-after-date/k2/2"), 3, 50, 5000);
	request(&reqs[CAPPED], url(CAPPED, "/retry-after/k3/30"), 2, 50, 5000);
	reqs[CAPPED].max_backoff_ms = 300;
	CHECK("run", deliver(&rec, reqs, N, NULL, NULL) == 0);

	first = attempt_of(&rec, SECONDS, 1);
	second = attempt_of(&rec, SECONDS, 2);
	CHECK("429 retried", first->outcome == WH_OUTCOME_RETRY && first->status == 429);
	CHECK("Retry-After parsed", first->retry_after == 1000);
	CHECK("Retry-After honoured without jitter", first->next_delay == 1000);
	gap = second->started_at - first->started_at;
	printf("retry-after 1: second attempt %.3f s after the first\n", gap);
	CHECK("waited about 1 s", gap >= 0.95 && gap < 10);
	CHECK("then delivered", second->outcome == WH_OUTCOME_DELIVERED);

	first = attempt_of(&rec, DATE, 1);
	CHECK("HTTP-date parsed", first->retry_after > 0 && first->retry_after <= 2000);
	CHECK("HTTP-date then delivered",
	      attempt_of(&rec, DATE, 2)->outcome == WH_OUTCOME_DELIVERED);

	first = attempt_of(&rec, CAPPED, 1);
	CHECK("Retry-After capped by max_backoff",
	      first->retry_after == 30000 && first->next_delay == 300);
	CHECK("capped then delivered", reqs[CAPPED].outcome == WH_OUTCOME_DELIVERED);
}

static void test_deadline(void)
{
	struct wh_request reqs[2];
	struct wh_deliver_options opts = {0};
	double elapsed;
	size_t i;
	int ok = 1;

	/* A receiver that hangs past the timeout: retried until the deadline. */
	request(&reqs[0], url(0, "/sleep/8000"), 10, 100, 1000);
	opts.max_time_s = 2.5;
	CHECK("run", deliver(&rec, reqs, 1, &opts, &elapsed) == 0);
	printf("hang: %d attempts, run ended after %.0f ms (max-time 2500)\n", reqs[0].attempts,
	       elapsed);
	CHECK("timeouts retried", reqs[0].attempts >= 2 && reqs[0].outcome == WH_OUTCOME_RETRY);
	CHECK("first timed out", strstr(attempt_of(&rec, 0, 1)->error, "timed out") != NULL);
	CHECK("last final", attempt_of(&rec, 0, reqs[0].attempts)->final);
	for (i = 0; i < rec.n; i++)
		ok &= rec.recs[i].duration <= 1100;
	CHECK("each attempt within its timeout", ok);
	CHECK("ended near max-time", elapsed >= 2000 && elapsed < 3500);

	/* A Retry-After past the deadline: final at once, no waiting. */
	request(&reqs[0], url(0, "/retry-after/k4/30"), 3, 100, 5000);
	reqs[0].max_backoff_ms = 60000;
	opts.max_time_s = 2.0;
	CHECK("run", deliver(&rec, reqs, 1, &opts, &elapsed) == 0);
	CHECK("Retry-After beyond the deadline is final",
	      attempts_of(&rec, 0) == 1 && attempt_of(&rec, 0, 1)->final &&
		  attempt_of(&rec, 0, 1)->next_delay == -1 && reqs[0].outcome == WH_OUTCOME_RETRY);
	CHECK("and the run does not wait for it", elapsed < 1500);

	/* Concurrency 1: the second request never gets its turn. */
	request(&reqs[0], url(0, "/sleep/3000"), 1, 100, 5000);
	request(&reqs[1], url(1, "/ok?never"), 1, 100, 5000);
	opts.max_time_s = 1.0;
	opts.concurrency = 1;
	CHECK("run", deliver(&rec, reqs, 2, &opts, &elapsed) == 0);
	printf("deadline cut: run ended after %.0f ms (max-time 1000)\n", elapsed);
	CHECK("cut by the deadline", strstr(attempt_of(&rec, 0, 1)->error, "--max-time") != NULL);
	CHECK("ended near max-time", elapsed >= 900 && elapsed < 2000);
	CHECK("second not started", reqs[1].attempts == 0 && reqs[1].outcome == WH_OUTCOME_RETRY &&
					attempts_of(&rec, 1) == 0);
	CHECK("nothing sent for it", logged("/ok?never", NULL, 0) == 0);
}

/* The stop request (a SIGTERM handler's flag; here SIGALRM's): attempts
 * in flight finish and are reported, nothing new starts. */
static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void test_stop(void)
{
	struct wh_request reqs[2];
	struct wh_deliver_options opts = {0};
	struct itimerval timer = {{0, 0}, {0, 300000}};
	struct sigaction sa;
	double elapsed;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	opts.stop = &stop_flag;
	opts.concurrency = 1;

	/* Set before the run: nothing starts. */
	stop_flag = 1;
	request(&reqs[0], url(0, "/ok?stop-before"), 3, 100, 5000);
	CHECK("run", deliver(&rec, reqs, 1, &opts, &elapsed) == 0);
	CHECK("stopped before: nothing started",
	      reqs[0].attempts == 0 && rec.n == 0 && logged("/ok?stop-before", NULL, 0) == 0);

	/* Set (by SIGALRM) while the first request is in flight. */
	stop_flag = 0;
	request(&reqs[0], url(0, "/sleep/800?stop"), 3, 100, 5000);
	request(&reqs[1], url(1, "/ok?after-stop"), 3, 100, 5000);
	setitimer(ITIMER_REAL, &timer, NULL);
	CHECK("run", deliver(&rec, reqs, 2, &opts, &elapsed) == 0);
	printf("stop at 300 ms: run ended after %.0f ms (attempt in flight: 800 ms)\n", elapsed);
	CHECK("the attempt in flight finished", reqs[0].attempts == 1 &&
						    reqs[0].outcome == WH_OUTCOME_DELIVERED &&
						    attempt_of(&rec, 0, 1)->final);
	CHECK("the next one never started",
	      reqs[1].attempts == 0 && logged("/ok?after-stop", NULL, 0) == 0);
	CHECK("ended when the transfer did", elapsed >= 700 && elapsed < 2000);

	signal(SIGALRM, SIG_DFL);
}

static void test_reuse(void)
{
	struct wh_request reqs[3];
	struct wh_deliver_options opts = {0};
	int ports[4] = {0};

	request(&reqs[0], url(0, "/flaky/reuse/1/503"), 2, 50, 5000);
	request(&reqs[1], url(1, "/flaky/reuse2/0/200"), 1, 50, 5000);
	request(&reqs[2], url(2, "/flaky/reuse3/0/200"), 1, 50, 5000);
	opts.concurrency = 1;
	CHECK("run", deliver(&rec, reqs, 3, &opts, NULL) == 0);
	CHECK("all delivered", reqs[0].outcome == WH_OUTCOME_DELIVERED &&
				   reqs[1].outcome == WH_OUTCOME_DELIVERED &&
				   reqs[2].outcome == WH_OUTCOME_DELIVERED);
	CHECK("four requests", logged("/flaky/reuse", ports, 4) == 4);
	printf("reuse: client ports %d %d %d %d\n", ports[0], ports[1], ports[2], ports[3]);
	CHECK("one connection for the retry and the later requests",
	      ports[0] && ports[0] == ports[1] && ports[1] == ports[2] && ports[2] == ports[3]);
}

static void test_concurrency(int concurrency, size_t n, double lower_ms)
{
	struct wh_request *reqs = calloc(n, sizeof(*reqs));
	struct wh_deliver_options opts = {0};
	char *targets = malloc(n * 64);
	double elapsed;
	size_t i, delivered = 0;

	if (!reqs || !targets) {
		free(reqs);
		free(targets);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(targets + i * 64, 64, "http://127.0.0.1:%d/sleep/1000?c%d-%zu", port,
			 concurrency, i);
		request(&reqs[i], targets + i * 64, 1, 0, 20000);
	}
	opts.concurrency = concurrency;
	CHECK("run", deliver(&rec, reqs, n, &opts, &elapsed) == 0);
	for (i = 0; i < n; i++)
		delivered += reqs[i].outcome == WH_OUTCOME_DELIVERED;
	printf("concurrency %d: %zu targets answering in 1 s each delivered in %.0f ms\n",
	       concurrency, n, elapsed);
	CHECK("all delivered", delivered == n);
	CHECK("concurrency bound respected", elapsed >= lower_ms);
	CHECK("no hang", elapsed < 10000);
	free(reqs);
	free(targets);
}

static void test_bad_allow_net(void)
{
	struct wh_request req;
	struct wh_deliver_options opts = {0};
	const char *allow[] = {"169.254.0.0/16", "169.254.0.0/40"};
	struct wh_error err = WH_ERROR_INIT;

	request(&req, url(0, "/ok?badcidr"), 1, 0, 5000);
	opts.allow_net = allow;
	opts.nallow_net = 2;
	rec.n = 0;
	rec.prepared = 0;
	rec.base = &req;
	CHECK("usage error", wh_deliver_run(&req, 1, &opts, &callbacks, &rec, &err) == WH_EUSAGE);
	CHECK("names the CIDR", strstr(err.message, "169.254.0.0/40") != NULL);
	CHECK("nothing prepared", rec.prepared == 0 && rec.n == 0 && req.attempts == 0);
	CHECK("nothing sent", logged("/ok?badcidr", NULL, 0) == 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_netguard();
	test_classification();
	if (!mkdtemp(tmpdir) || receiver_start() < 0) {
		CHECK("receiver started (python3 tests/tools/receiver.py)", 0);
		receiver_stop();
		return check_done();
	}
	test_statuses();
	test_request_shape();
	test_retry_after();
	test_deadline();
	test_stop();
	test_reuse();
	test_bad_allow_net();
	test_concurrency(64, 100, 1900);
	test_concurrency(100, 100, 900);
	receiver_stop();
	unlink(log_path);
	rmdir(tmpdir);
	curl_global_cleanup();
	return check_done();
}
