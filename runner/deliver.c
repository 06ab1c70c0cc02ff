/*
 * deliver: concurrent delivery over one libcurl multi handle (see
 * deliver.h for the contract).
 *
 * The run is a loop over curl_multi_perform/curl_multi_poll. Each request
 * has a slot that moves FRESH -> RUNNING -> (WAITING -> RUNNING)* -> DONE.
 * Fresh slots start in order through a cursor; slots waiting for a retry
 * sit in a small list with their due time and go first when due. The poll
 * timeout is the nearest of curl's own timers, the next due retry and the
 * deadline, so waiting never blocks running transfers. A slot of a
 * plugin request runs a process instead of a transfer: its pipes and
 * pidfd join the poll as extra descriptors, its deadline joins the
 * timeout, and each pass of the loop drains every running plugin.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/socket.h>

#include "config.h"
#include "deliver.h"
#include "netguard.h"
#include "plugin.h"
#include "util.h"
#include "banned.h"

enum slot_state { SLOT_FRESH, SLOT_RUNNING, SLOT_WAITING, SLOT_DONE };

struct run;

struct slot {
	struct wh_request *req;
	struct run *run;
	enum slot_state state;
	double due_ms; /* monotonic; when WAITING */

	/* the attempt in flight */
	CURL *easy;
	struct curl_slist *headers;
	double started_ms, started_wall;
	int timeout_capped;
	struct wh_buf response_headers, body;
	size_t discarded;
	int truncated, oversize;
	long retry_after_ms;
	int refused;
	char refused_addr[WH_NETGUARD_ADDR_MAX], refused_lift[WH_NETGUARD_ADDR_MAX];
	char errbuf[CURL_ERROR_SIZE];

	/* a plugin attempt in flight (plugin.h) */
	struct wh_plugin_proc *proc;
	double proc_deadline_ms;
	long proc_timeout_ms;
};

struct run {
	CURLM *multi;
	struct slot *slots;
	size_t n, next_fresh;
	size_t *waiting; /* indexes of WAITING slots */
	size_t nwaiting;
	CURL **pool; /* idle easy handles, at most concurrency */
	size_t npool;
	int running, concurrency;
	double deadline_ms; /* monotonic; 0 = none */
	struct wh_netguard guard;
	const struct wh_deliver_options *opts;
	const struct wh_deliver_callbacks *cb;
	void *ctx;

	/* plugin attempts in flight (plugin.h) */
	size_t *procs; /* indexes of their slots */
	size_t nprocs;
	struct curl_waitfd *waitfds; /* WH_PLUGIN_WAITFDS per concurrency slot */
};

const char *wh_outcome_name(enum wh_outcome outcome)
{
	switch (outcome) {
	case WH_OUTCOME_DELIVERED:
		return "delivered";
	case WH_OUTCOME_RETRY:
		return "retry";
	case WH_OUTCOME_FAILED:
		return "failed";
	case WH_OUTCOME_GONE:
		return "gone";
	}
	return "unknown";
}

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Past this point no attempt starts: the deadline, less the shortest
 * window in which an attempt could still get its answer, or a stop asked
 * for by the caller (which therefore ends the run like a deadline). */
static int deadline_passed(const struct run *run, double now)
{
	if (run->opts->stop && *run->opts->stop)
		return 1;
	return run->deadline_ms > 0 && now >= run->deadline_ms - WH_DELIVER_MIN_WINDOW_MS;
}

enum wh_outcome wh_deliver_classify_status(long status)
{
	if (status >= 200 && status <= 299)
		return WH_OUTCOME_DELIVERED;
	if (status == 410)
		return WH_OUTCOME_GONE;
	if (status == 408 || status == 429 || (status >= 500 && status <= 599))
		return WH_OUTCOME_RETRY;
	return WH_OUTCOME_FAILED;
}

/* Transport failures: those that another try cannot fix are FAILED (the
 * URL, the local TLS files, our own aborts); everything else (DNS,
 * connect, TLS handshakes, timeouts, resets, broken responses) is RETRY. */
static enum wh_outcome classify_transport(CURLcode code)
{
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_LOGIN_DENIED:
	case CURLE_ABORTED_BY_CALLBACK:
		return WH_OUTCOME_FAILED;
	default:
		return WH_OUTCOME_RETRY;
	}
}

long wh_deliver_retry_after(const char *value, double now_unix)
{
	const char *p = value;
	long ms = -1;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		long seconds = 0;

		for (; *p >= '0' && *p <= '9'; p++)
			if (seconds < 100000000L)
				seconds = seconds * 10 + (*p - '0');
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			ms = seconds * 1000;
	} else if (*p) {
		time_t when = curl_getdate(p, NULL);

		if (when != (time_t)-1) {
			double delta = ((double)when - now_unix) * 1000.0;
			ms = delta <= 0 ? 0 : delta > 1e11 ? 100000000000L : (long)delta;
		}
	}
	return ms;
}

long wh_deliver_backoff_ms(long backoff_ms, long max_backoff_ms, int attempt)
{
	long delay = backoff_ms > 0 ? backoff_ms : 0;
	int i;

	for (i = 1; i < attempt && delay < max_backoff_ms; i++)
		delay *= 2;
	if (max_backoff_ms > 0 && delay > max_backoff_ms)
		delay = max_backoff_ms;
	return delay;
}

/* Equal jitter: half the delay, plus a uniform part of the other half. */
static long jitter(long delay)
{
	long half = delay / 2, rest = delay - half;

	if (rest <= 0 || rest > (long)UINT32_MAX - 1)
		return delay;
	return half + (long)arc4random_uniform((uint32_t)rest + 1);
}

/* -- libcurl callbacks -------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct slot *slot = userdata;
	size_t total = size * nmemb, room = WH_DELIVER_BODY_MAX - slot->body.len, take;

	take = total < room ? total : room;
	if (take && wh_buf_add(&slot->body, data, take) < 0)
		take = 0;
	if (take < total) {
		slot->truncated = 1;
		slot->discarded += total - take;
		if (slot->discarded > WH_DELIVER_DISCARD_MAX) {
			slot->oversize = 1;
			return 0; /* CURLE_WRITE_ERROR: the status still classifies */
		}
	}
	return total;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct slot *slot = userdata;
	size_t total = size * nmemb, len = total;
	char line[WH_DELIVER_HEADERS_MAX];

	while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
		len--;
	if (!len || len >= sizeof(line))
		return total;
	memcpy(line, data, len);
	line[len] = '\0';

	/* A new status line starts a new response (an interim 1xx, say). */
	if (strncmp(line, "HTTP/", 5) == 0) {
		wh_buf_reset(&slot->response_headers);
		slot->retry_after_ms = -1;
	} else if (strncasecmp(line, "retry-after:", 12) == 0) {
		slot->retry_after_ms = wh_deliver_retry_after(line + 12, wall_seconds());
	}
	/* Past the cap, later headers are dropped. */
	if (slot->response_headers.len + len + 1 <= WH_DELIVER_HEADERS_MAX &&
	    wh_buf_add(&slot->response_headers, line, len) == 0)
		wh_buf_add(&slot->response_headers, "\n", 1);
	return total;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
				    struct curl_sockaddr *address)
{
	struct slot *slot = clientp;

	if (wh_netguard_refuses(&slot->run->guard, &address->addr, address->addrlen,
				slot->refused_addr, slot->refused_lift)) {
		slot->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* -- attempts ------------------------------------------------------------ */

static void release_attempt(struct slot *slot)
{
	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	wh_buf_release(&slot->response_headers);
	wh_buf_release(&slot->body);
}

static void mark_waiting(struct run *run, struct slot *slot, double due_ms)
{
	slot->state = SLOT_WAITING;
	slot->due_ms = due_ms;
	run->waiting[run->nwaiting++] = (size_t)(slot - run->slots);
}

/*
 * Reports one attempt and decides what comes next: another attempt (the
 * slot waits), or the end of this request's run.
 */
static void report(struct run *run, struct slot *slot, struct wh_attempt *attempt, int may_retry)
{
	struct wh_request *req = slot->req;
	double now = monotonic_ms();
	long delay = -1;

	req->attempts = attempt->number;
	req->outcome = attempt->outcome;
	req->http_status = attempt->http_status;

	if (may_retry && attempt->outcome == WH_OUTCOME_RETRY &&
	    attempt->number < req->max_attempts) {
		long max_backoff = req->max_backoff_ms;

		if (attempt->retry_after_ms >= 0 &&
		    (attempt->http_status == 429 || attempt->http_status == 503))
			delay = max_backoff > 0 && attempt->retry_after_ms > max_backoff
				    ? max_backoff
				    : attempt->retry_after_ms;
		else
			delay = jitter(
			    wh_deliver_backoff_ms(req->backoff_ms, max_backoff, attempt->number));
		if (deadline_passed(run, now + (double)delay))
			delay = -1;
	}
	if (run->cb && run->cb->attempted)
		run->cb->attempted(req, attempt, delay < 0, delay, run->ctx);
	if (delay < 0)
		slot->state = SLOT_DONE;
	else
		mark_waiting(run, slot, now + (double)delay);
}

/* An attempt that ended before reaching the network (prepare failed, or
 * the engine could not set the transfer up). */
static void report_local(struct run *run, struct slot *slot, enum wh_outcome outcome,
			 const char *message)
{
	struct wh_attempt attempt;

	memset(&attempt, 0, sizeof(attempt));
	attempt.number = slot->req->attempts + 1;
	attempt.started_at = wall_seconds();
	attempt.remote_ip = attempt.response_headers = attempt.response_body = "";
	attempt.error = message;
	attempt.outcome = outcome;
	attempt.retry_after_ms = -1;
	/* No in-run retry of a local failure: it would fail the same way. */
	report(run, slot, &attempt, 0);
}

static int setup_easy(struct run *run, struct slot *slot, long timeout_ms)
{
	struct wh_request *req = slot->req;
	CURL *easy = slot->easy;
	const char *method = req->method ? req->method : "POST";
	int bad = 0;

#define SET(opt, val) bad |= curl_easy_setopt(easy, opt, val) != CURLE_OK
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PRIVATE, (void *)slot);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_ERRORBUFFER, slot->errbuf);
	SET(CURLOPT_HTTPHEADER, slot->headers);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
	if (strcmp(method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, method);
	SET(CURLOPT_SSL_VERIFYPEER, req->tls_verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, req->tls_verify ? 2L : 0L);
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (req->basic_username) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, req->basic_username);
		SET(CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
	}
	if (run->opts->user_agent)
		SET(CURLOPT_USERAGENT, run->opts->user_agent);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)slot);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)slot);
	SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	SET(CURLOPT_OPENSOCKETDATA, (void *)slot);
#undef SET
	return bad ? -1 : 0;
}

static int start_plugin(struct run *run, struct slot *slot, double now);

/* Starts the next attempt of slot. Returns 0 (the attempt runs, or ended
 * at once and was reported), or WH_EINTERNAL when the multi handle failed. */

static int start_attempt(struct run *run, struct slot *slot, double now)
{
	struct wh_request *req = slot->req;
	struct wh_error perr = WH_ERROR_INIT;
	struct curl_slist *expect;
	long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : WH_DEFAULT_TIMEOUT_MS;
	int number = req->attempts + 1;

	if (req->plugin_path)
		return start_plugin(run, slot, now);

	slot->headers = NULL;
	slot->errbuf[0] = '\0';
	slot->discarded = 0;
	slot->truncated = slot->oversize = slot->refused = slot->timeout_capped = 0;
	slot->retry_after_ms = -1;
	wh_buf_init(&slot->response_headers, WH_DELIVER_HEADERS_MAX);
	wh_buf_init(&slot->body, WH_DELIVER_BODY_MAX);

	if (run->cb && run->cb->prepare &&
	    run->cb->prepare(req, number, &slot->headers, &perr, run->ctx) < 0) {
		release_attempt(slot);
		report_local(run, slot, WH_OUTCOME_FAILED,
			     perr.message[0] ? perr.message : "could not prepare the request");
		return 0;
	}
	expect = curl_slist_append(slot->headers, "Expect:");
	if (!expect) {
		release_attempt(slot);
		report_local(run, slot, WH_OUTCOME_RETRY, "out of memory");
		return 0;
	}
	slot->headers = expect;

	if (run->deadline_ms > 0 && run->deadline_ms - now < (double)timeout_ms) {
		timeout_ms = (long)(run->deadline_ms - now);
		if (timeout_ms < 1)
			timeout_ms = 1;
		slot->timeout_capped = 1;
	}

	slot->easy = run->npool ? run->pool[--run->npool] : curl_easy_init();
	if (!slot->easy) {
		release_attempt(slot);
		report_local(run, slot, WH_OUTCOME_RETRY, "cannot create a libcurl handle");
		return 0;
	}
	curl_easy_reset(slot->easy);
	if (setup_easy(run, slot, timeout_ms) < 0) {
		run->pool[run->npool++] = slot->easy;
		slot->easy = NULL;
		release_attempt(slot);
		report_local(run, slot, WH_OUTCOME_FAILED,
			     "libcurl refused an option (its build lacks a feature?)");
		return 0;
	}
	slot->started_ms = now;
	slot->started_wall = wall_seconds();
	if (curl_multi_add_handle(run->multi, slot->easy) != CURLM_OK) {
		run->pool[run->npool++] = slot->easy;
		slot->easy = NULL;
		release_attempt(slot);
		return WH_EINTERNAL;
	}
	slot->state = SLOT_RUNNING;
	run->running++;
	return 0;
}

static void finish_attempt(struct run *run, struct slot *slot, CURLcode result)
{
	struct wh_attempt attempt;
	char message[CURL_ERROR_SIZE + 128];
	char *ip = NULL;
	long status = 0;

	curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(slot->easy, CURLINFO_PRIMARY_IP, &ip);

	memset(&attempt, 0, sizeof(attempt));
	attempt.number = slot->req->attempts + 1;
	attempt.started_at = slot->started_wall;
	attempt.duration_ms = (long)(monotonic_ms() - slot->started_ms + 0.5);
	attempt.remote_ip = ip ? ip : "";
	attempt.response_headers = slot->response_headers.ptr ? slot->response_headers.ptr : "";
	attempt.response_body = slot->body.ptr ? slot->body.ptr : "";
	attempt.response_body_len = slot->body.len;
	attempt.body_truncated = slot->truncated;
	attempt.retry_after_ms = slot->retry_after_ms;
	attempt.error = "";
	message[0] = '\0';

	if (result == CURLE_OK || (result == CURLE_WRITE_ERROR && slot->oversize && status)) {
		attempt.http_status = status;
		attempt.outcome = wh_deliver_classify_status(status);
	} else if (slot->refused && result == CURLE_COULDNT_CONNECT) {
		snprintf(message, sizeof(message),
			 "address %s refused (link-local/metadata); --allow-net %s lifts it",
			 slot->refused_addr, slot->refused_lift);
		attempt.remote_ip = slot->refused_addr;
		attempt.outcome = WH_OUTCOME_FAILED;
	} else {
		snprintf(message, sizeof(message), "%s%s",
			 slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(result),
			 result == CURLE_OPERATION_TIMEDOUT && slot->timeout_capped
			     ? " (cut short by the run's --max-time)"
			     : "");
		attempt.outcome = classify_transport(result);
		attempt.retry_after_ms = -1;
	}
	if (message[0])
		attempt.error = message;

	curl_multi_remove_handle(run->multi, slot->easy);
	run->running--;
	report(run, slot, &attempt, 1);
	/* The handle goes back to the pool only now: `ip` pointed into it. */
	run->pool[run->npool++] = slot->easy;
	slot->easy = NULL;
	release_attempt(slot);
}

/* -- plugin attempts ----------------------------------------------------- */

/* Starts `plugin deliver` for the slot's next attempt (see deliver.h). */
static int start_plugin(struct run *run, struct slot *slot, double now)
{
	struct wh_request *req = slot->req;
	struct wh_error perr = WH_ERROR_INIT;
	long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : WH_DEFAULT_TIMEOUT_MS;
	struct curl_slist *headers = NULL;
	char *input;
	size_t input_len;
	int error, prepared;

	slot->timeout_capped = 0;
	if (run->deadline_ms > 0 && run->deadline_ms - now < (double)timeout_ms) {
		timeout_ms = (long)(run->deadline_ms - now);
		if (timeout_ms < 1)
			timeout_ms = 1;
		slot->timeout_capped = 1;
	}
	req->plugin_deadline = wall_seconds() + (double)timeout_ms / 1000.0;
	req->plugin_input = NULL;
	req->plugin_input_len = 0;
	prepared = run->cb && run->cb->prepare &&
		   run->cb->prepare(req, req->attempts + 1, &headers, &perr, run->ctx) == 0;
	curl_slist_free_all(headers);
	input = req->plugin_input;
	input_len = req->plugin_input_len;
	req->plugin_input = NULL;
	req->plugin_input_len = 0;
	if (!prepared || !input) {
		if (input)
			wh_wipe(input, input_len);
		free(input);
		report_local(run, slot, WH_OUTCOME_FAILED,
			     perr.message[0] ? perr.message : "no plugin request was prepared");
		return 0;
	}
	slot->started_ms = now;
	slot->started_wall = wall_seconds();
	error = wh_plugin_proc_start(&slot->proc, req->plugin_path, "deliver", req->plugin_env,
				     input, input_len, WH_DELIVER_BODY_MAX, &perr);
	if (input)
		wh_wipe(input, input_len);
	free(input);
	if (error < 0) {
		/* the executable vanished, or no process could be made: the outbox retries */
		report_local(run, slot, WH_OUTCOME_RETRY, perr.message);
		return 0;
	}
	slot->proc_deadline_ms = now + (double)timeout_ms;
	slot->proc_timeout_ms = timeout_ms;
	slot->state = SLOT_RUNNING;
	run->procs[run->nprocs++] = (size_t)(slot - run->slots);
	run->running++;
	return 0;
}

static void finish_plugin(struct run *run, size_t index, int timed_out)
{
	struct slot *slot = &run->slots[run->procs[index]];
	struct wh_plugin_result res;
	struct wh_attempt attempt;

	if (timed_out)
		wh_plugin_proc_kill(slot->proc);
	memset(&attempt, 0, sizeof(attempt));
	attempt.number = slot->req->attempts + 1;
	attempt.started_at = slot->started_wall;
	attempt.duration_ms = (long)(monotonic_ms() - slot->started_ms + 0.5);
	attempt.remote_ip = attempt.response_headers = "";
	attempt.retry_after_ms = -1;
	if (wh_plugin_proc_result(&res, slot->proc, timed_out, slot->proc_timeout_ms,
				  slot->timeout_capped) < 0) {
		attempt.response_body = "";
		attempt.error = "out of memory reading the plugin's result";
		attempt.outcome = WH_OUTCOME_RETRY;
	} else {
		attempt.response_body = res.output;
		attempt.response_body_len = res.output_len;
		attempt.body_truncated = res.output_truncated;
		attempt.error = res.error;
		attempt.outcome = res.outcome;
	}
	run->procs[index] = run->procs[--run->nprocs];
	run->running--;
	report(run, slot, &attempt, 1);
	wh_plugin_result_release(&res);
	wh_plugin_proc_free(slot->proc);
	slot->proc = NULL;
}

/* Reads what the running plugins wrote and ends those that exited or ran
 * out of time. Returns how many attempts ended. */
static int service_plugins(struct run *run)
{
	double now = monotonic_ms();
	int ended = 0;

	for (size_t i = 0; i < run->nprocs;) {
		struct slot *slot = &run->slots[run->procs[i]];

		if (wh_plugin_proc_service(slot->proc)) {
			finish_plugin(run, i, 0);
			ended++;
		} else if (now >= slot->proc_deadline_ms) {
			finish_plugin(run, i, 1);
			ended++;
		} else {
			i++;
		}
	}
	return ended;
}

/* -- the loop ------------------------------------------------------------ */

/* Starts due retries first, then fresh requests, while there is room. */
static int start_ready(struct run *run)
{
	int error = 0;

	for (;;) {
		double now = monotonic_ms();
		size_t i, best = SIZE_MAX;
		struct slot *slot = NULL;

		if (run->running >= run->concurrency || deadline_passed(run, now))
			break;
		for (i = 0; i < run->nwaiting; i++)
			if (run->slots[run->waiting[i]].due_ms <= now &&
			    (best == SIZE_MAX || run->slots[run->waiting[i]].due_ms <
						     run->slots[run->waiting[best]].due_ms))
				best = i;
		if (best != SIZE_MAX) {
			slot = &run->slots[run->waiting[best]];
			run->waiting[best] = run->waiting[--run->nwaiting];
		} else if (run->next_fresh < run->n) {
			slot = &run->slots[run->next_fresh++];
		} else {
			break;
		}
		error = start_attempt(run, slot, now);
		if (error < 0)
			break;
	}
	return error;
}

/* How long the loop may block: until curl needs us (curl_multi_poll
 * already caps the wait at curl's own timers), or until the next retry is
 * due or the deadline comes, when either could start something. With
 * every slot busy, or past the deadline, only transfers can change
 * anything, and they wake the poll themselves. */
static int poll_timeout_ms(const struct run *run, double now, int tick)
{
	double wait = tick ? 20.0 : 1000.0; /* tick: a plugin's exit cannot be polled */
	size_t i;

	for (i = 0; i < run->nprocs; i++) {
		double left = run->slots[run->procs[i]].proc_deadline_ms - now;
		if (left < wait)
			wait = left < 0 ? 0 : left;
	}
	if (run->running >= run->concurrency || deadline_passed(run, now))
		return (int)(wait + 0.999);
	for (i = 0; i < run->nwaiting; i++) {
		double left = run->slots[run->waiting[i]].due_ms - now;
		if (left < wait)
			wait = left;
	}
	if (run->deadline_ms > 0 && run->deadline_ms - now < wait)
		wait = run->deadline_ms - now;
	return wait <= 0 ? 0 : (int)(wait + 0.999);
}

static int run_loop(struct run *run, struct wh_error *err)
{
	int error = 0;

	for (;;) {
		int still = 0, queued, completed = 0, batched = 0, tick;
		size_t nwait;
		CURLMsg *msg;
		CURLMcode mc;
		double now;

		error = start_ready(run);
		if (error < 0) {
			wh_error_set(err, error,
				     "libcurl: cannot add a transfer to the multi handle");
			break;
		}
		now = monotonic_ms();
		if (!run->running &&
		    (deadline_passed(run, now) || (!run->nwaiting && run->next_fresh >= run->n)))
			break;

		mc = curl_multi_perform(run->multi, &still);
		if (mc != CURLM_OK) {
			error =
			    wh_error_set(err, WH_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
			break;
		}
		while ((msg = curl_multi_info_read(run->multi, &queued))) {
			struct slot *slot = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			if (!batched && run->cb && run->cb->batch) {
				run->cb->batch(1, run->ctx);
				batched = 1;
			}
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
			finish_attempt(run, slot, msg->data.result);
			completed++;
		}
		if (run->nprocs)
			completed += service_plugins(run);
		if (batched)
			run->cb->batch(0, run->ctx);
		if (completed)
			continue;
		nwait = 0;
		tick = 0;
		for (size_t i = 0; i < run->nprocs; i++)
			nwait += wh_plugin_proc_waitfds(run->slots[run->procs[i]].proc,
							run->waitfds + nwait, &tick);
		mc = curl_multi_poll(run->multi, nwait ? run->waitfds : NULL, (unsigned)nwait,
				     poll_timeout_ms(run, monotonic_ms(), tick), NULL);
		if (mc != CURLM_OK) {
			error =
			    wh_error_set(err, WH_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
			break;
		}
	}
	return error;
}

int wh_deliver_run(struct wh_request *reqs, size_t n, const struct wh_deliver_options *opts,
		   const struct wh_deliver_callbacks *cb, void *ctx, struct wh_error *err)
{
	static const struct wh_deliver_options defaults = {0};
	struct run run;
	size_t i;
	int error = 0;

	memset(&run, 0, sizeof(run));
	run.opts = opts ? opts : &defaults;
	run.cb = cb;
	run.ctx = ctx;
	run.n = n;
	run.concurrency =
	    run.opts->concurrency > 0 ? run.opts->concurrency : WH_DELIVER_CONCURRENCY;
	if (run.concurrency > WH_DELIVER_CONCURRENCY_MAX)
		run.concurrency = WH_DELIVER_CONCURRENCY_MAX;
	if (run.opts->max_time_s > 0)
		run.deadline_ms = monotonic_ms() + run.opts->max_time_s * 1000.0;

	for (i = 0; i < n; i++) {
		reqs[i].attempts = 0;
		reqs[i].outcome = WH_OUTCOME_RETRY;
		reqs[i].http_status = 0;
		if (reqs[i].max_attempts < 1)
			reqs[i].max_attempts = 1;
	}

	error = wh_netguard_init(&run.guard, run.opts->allow_net, run.opts->nallow_net, err);
	if (error < 0 || n == 0)
		goto out;

	run.slots = calloc(n, sizeof(*run.slots));
	run.waiting = calloc(n, sizeof(*run.waiting));
	run.pool = calloc((size_t)run.concurrency, sizeof(*run.pool));
	run.procs = calloc((size_t)run.concurrency, sizeof(*run.procs));
	run.waitfds = calloc((size_t)run.concurrency * WH_PLUGIN_WAITFDS, sizeof(*run.waitfds));
	if (!run.slots || !run.waiting || !run.pool || !run.procs || !run.waitfds) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		run.slots[i].req = &reqs[i];
		run.slots[i].run = &run;
	}
	run.multi = curl_multi_init();
	if (!run.multi) {
		error = wh_error_set(err, WH_EINTERNAL, "libcurl: cannot create a multi handle");
		goto out;
	}
	error = run_loop(&run, err);

out:
	if (run.slots) {
		for (i = 0; i < n; i++) {
			if (run.slots[i].easy) {
				curl_multi_remove_handle(run.multi, run.slots[i].easy);
				curl_easy_cleanup(run.slots[i].easy);
				release_attempt(&run.slots[i]);
			}
			wh_plugin_proc_free(run.slots[i].proc);
		}
	}
	free(run.procs);
	free(run.waitfds);
	for (i = 0; i < run.npool; i++)
		curl_easy_cleanup(run.pool[i]);
	curl_multi_cleanup(run.multi);
	free(run.pool);
	free(run.waiting);
	free(run.slots);
	wh_netguard_release(&run.guard);
	return error;
}
