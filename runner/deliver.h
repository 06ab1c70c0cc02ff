/*
 * deliver: the delivery engine. Sends caller-prepared HTTP(S) requests
 * concurrently through one libcurl multi handle, retries them within the
 * run, and classifies every attempt (SPEC section 5).
 *
 * How a run goes:
 * - Every request is a delivery of one message to one target. At most
 *   `concurrency` attempts are in flight; the others wait their turn in
 *   order. One multi handle (so one connection cache and one DNS cache) and
 *   a pool of at most `concurrency` easy handles serve the whole run, so a
 *   retry or a later request to the same host reuses a kept-alive
 *   connection.
 * - Before each attempt the `prepare` callback returns that attempt's
 *   headers (the caller signs there, with a fresh webhook-timestamp); after
 *   each attempt the `attempted` callback receives its result (the caller
 *   journals it). The engine knows nothing of the journal, of signing or of
 *   secrets.
 * - Classification: 2xx DELIVERED; 410 GONE; 408, 429, 5xx and transport
 *   errors (DNS, connect, TLS, timeouts, resets) RETRY; other statuses
 *   (3xx, other 4xx) FAILED. Redirects are never followed: a 301 is FAILED
 *   with its Location in the response headers. A URL that is not http(s),
 *   a malformed URL, an unreadable ca_file and an address refused by the
 *   guard are FAILED too (retrying cannot fix them).
 * - In-run retries: a RETRY attempt is tried again, up to max_attempts
 *   tries (the first included), after
 *       d = min(max_backoff, backoff * 2^(n-1))   (n = attempts made so far)
 *   with "equal jitter": the wait is d/2 plus a uniform random part of d/2,
 *   so retries of many targets spread out yet never come back sooner than
 *   half the nominal delay. A Retry-After header (delta-seconds or an
 *   HTTP-date) on a 429 or 503 replaces that computed delay (no jitter: the
 *   receiver named the time), capped by max_backoff. Waits are timers of
 *   the multi loop: the engine never sleeps while transfers run.
 * - The run deadline (max_time_s): no attempt starts after it, nor in its
 *   last WH_DELIVER_MIN_WINDOW_MS (too short to get an answer: it would
 *   only send a request whose outcome nobody sees), each attempt's timeout
 *   is capped to the time left, and a retry whose wait would end past that
 *   point is not scheduled (that attempt is reported final), so a run ends
 *   within max_time plus a few milliseconds. Requests whose first attempt
 *   never started are left with attempts == 0 and outcome RETRY: still
 *   pending for the caller.
 * - Address guard: every connect is checked by netguard.h on the address
 *   being connected; a refused address fails the attempt (FAILED, not
 *   retried) with "address A refused (link-local/metadata); --allow-net
 *   CIDR lifts it", and no byte is sent to it.
 *
 * Bounds: response bodies are kept up to WH_DELIVER_BODY_MAX bytes (then
 * body_truncated is set); the engine goes on reading and discarding up to
 * WH_DELIVER_DISCARD_MAX more bytes, so that a slightly oversized answer
 * still leaves its connection reusable, and aborts the transfer past that
 * (the attempt is classified by its status all the same). Response headers
 * are kept up to WH_DELIVER_HEADERS_MAX bytes (the rest is dropped).
 *
 * Other choices: only http and https (also for redirects, which are not
 * followed anyway); no proxy (proxy environment variables are ignored: a
 * proxy would connect on our behalf, out of the guard's sight); `Expect:
 * 100-continue` is disabled; CURLOPT_NOSIGNAL is set. curl_global_init()
 * and ignoring SIGPIPE (OpenSSL may write to a socket the peer closed) are
 * the caller's (main's) business. libcurl may itself send a request again
 * when a reused keep-alive connection turns out dead before any response
 * byte; receivers dedupe on webhook-id, as at-least-once delivery needs.
 *
 * Plugin requests (plugin_path set, SPEC section 9): each attempt runs
 * `plugin_path deliver` (plugin.h) with the bytes that the prepare_plugin
 * callback builds on stdin, instead of an HTTP transfer. It takes a
 * concurrency slot like a transfer; its stdout/stderr pipes and pidfd are
 * polled in the same curl_multi_poll as the transfers, so the loop never
 * blocks on a plugin; its timeout (capped by the run deadline) kills its
 * process group. Its attempt has http_status 0, the plugin's stdout as
 * response_body, and the outcome the plugin printed (a non-zero exit, no
 * or malformed output or a timeout: RETRY), with the error summary and
 * the plugin's capped stderr in `error`. In-run retries, backoff and the
 * deadline apply as to HTTP.
 *
 * What it does not do: build bodies or headers, sign, resolve secrets,
 * journal, or schedule retries beyond the run (the caller's outbox).
 */
#ifndef WH_DELIVER_H
#define WH_DELIVER_H

#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "error.h"

#define WH_DELIVER_BODY_MAX	   (64 * 1024)
#define WH_DELIVER_DISCARD_MAX	   (1024 * 1024)
#define WH_DELIVER_HEADERS_MAX	   (16 * 1024)
#define WH_DELIVER_CONCURRENCY	   64
#define WH_DELIVER_CONCURRENCY_MAX 1024
#define WH_DELIVER_MIN_WINDOW_MS   100

enum wh_outcome {
	WH_OUTCOME_DELIVERED, /* 2xx */
	WH_OUTCOME_RETRY,     /* worth trying again (in this run or from the outbox) */
	WH_OUTCOME_FAILED,    /* permanent: trying again cannot help */
	WH_OUTCOME_GONE,      /* 410: the receiver says the endpoint is gone */
};

/* "delivered", "retry", "failed", "gone". */
const char *wh_outcome_name(enum wh_outcome outcome);

/* One delivery of one message to one target. The caller fills the input
 * fields; every pointer is borrowed and must stay valid for the whole
 * wh_deliver_run call. The engine fills the result fields. */
struct wh_request {
	const char *url;    /* http:// or https:// */
	const char *method; /* "POST" when NULL; PUT, PATCH, ... as a custom method */
	const char *body;
	size_t body_len;
	long timeout_ms; /* per attempt; <= 0 means WH_DEFAULT_TIMEOUT_MS (10 s) */
	int tls_verify;	 /* 0 turns off peer and host verification */
	const char *ca_file;
	const char *basic_username, *basic_password; /* resolved values, or NULL */
	int max_attempts;			     /* tries in this run, first included; >= 1 */
	long backoff_ms, max_backoff_ms;
	void *userdata; /* the caller's */

	/* plugin kinds: the executable that delivers (NULL: HTTP), and the
	 * environment it runs in (NULL-terminated). Before each attempt the
	 * engine sets plugin_deadline (unix seconds the attempt must end by)
	 * and calls prepare, which sets plugin_input to what the plugin reads
	 * on stdin (malloc'ed; the engine wipes and frees it); the headers
	 * prepare returns are ignored. */
	const char *plugin_path;
	char *const *plugin_env;
	double plugin_deadline;
	char *plugin_input;
	size_t plugin_input_len;

	/* results */
	int attempts;		 /* attempts made (0: never started, or prepare failed first) */
	enum wh_outcome outcome; /* of the last attempt; RETRY when none was made */
	long http_status;	 /* of the last attempt; 0 when it got no response */
};

/* What one attempt gave. Passed to `attempted`; every pointer is owned by
 * the engine and valid only during that call (copy what you keep). */
struct wh_attempt {
	int number;	   /* 1-based */
	double started_at; /* wall clock, unix seconds */
	long duration_ms;
	long http_status;	      /* 0 when no response came */
	const char *remote_ip;	      /* the address connected to; "" when none */
	const char *response_headers; /* "HTTP/1.1 200 OK\nName: value\n..."; "" when none */
	const char *response_body;    /* NUL-terminated; may hold NULs before response_body_len */
	size_t response_body_len;
	int body_truncated;
	const char *error; /* why the attempt failed without a response; "" on a response */
	enum wh_outcome outcome;
	long retry_after_ms; /* from Retry-After; -1 when absent or unparsable */
};

struct wh_deliver_callbacks {
	/*
	 * Called before each attempt (attempt is 1-based). Sets *headers to the
	 * attempt's request headers ("Name: value" items; NULL for none), which
	 * the engine frees with curl_slist_free_all whatever happens. Returns 0,
	 * or a negative code with err filled: the delivery then ends with a
	 * FAILED attempt carrying err's message, and nothing is sent. May be
	 * NULL (no headers).
	 */
	int (*prepare)(struct wh_request *req, int attempt, struct curl_slist **headers,
		       struct wh_error *err, void *ctx);
	/*
	 * Called after each attempt. `final` is 1 when no more attempts of this
	 * request follow in this run; otherwise the next one is due in
	 * next_delay_ms (-1 when final), before the deadline. (It starts when
	 * due if a concurrency slot is free; in the rare case that every slot
	 * stays busy until the deadline it never starts, and the request's
	 * result fields say so: they, not `final`, are authoritative once the
	 * run returns.) May be NULL.
	 */
	void (*attempted)(struct wh_request *req, const struct wh_attempt *attempt, int final,
			  long next_delay_ms, void *ctx);
	/*
	 * Called with begin = 1 before the engine reports the attempts that
	 * ended together (one turn of the loop), and with begin = 0 after
	 * them, so that the caller can record them in one go (one journal
	 * transaction). Nothing waits on the network in between. May be NULL.
	 */
	void (*batch)(int begin, void *ctx);
};

struct wh_deliver_options {
	int concurrency;	      /* attempts in flight; <= 0 means WH_DELIVER_CONCURRENCY */
	double max_time_s;	      /* run deadline from the call; 0 = none */
	const char *const *allow_net; /* CIDRs lifting the address guard */
	size_t nallow_net;
	const char *user_agent; /* NULL: no User-Agent header unless prepare adds one */
	/* When not NULL and set (e.g. by a SIGTERM handler), the run stops as at
	 * its deadline: no attempt starts any more, no retry is scheduled (the
	 * attempt that ends is reported final), and transfers in flight finish
	 * within their timeout and are reported. */
	const volatile sig_atomic_t *stop;
};

/*
 * Delivers reqs[0..n) (see the top of this file) and returns when every
 * request has ended or the deadline has passed. opts may be NULL
 * (defaults). Returns 0 whatever the deliveries' outcomes (read them in
 * the result fields or the callbacks), WH_EUSAGE for a bad allow_net CIDR
 * (before anything is sent), WH_ENOMEM, or WH_EINTERNAL when libcurl's
 * multi interface itself fails.
 */
int wh_deliver_run(struct wh_request *reqs, size_t n, const struct wh_deliver_options *opts,
		   const struct wh_deliver_callbacks *cb, void *ctx, struct wh_error *err);

/*
 * The in-run classification, exposed for the outbox and for tests.
 * wh_deliver_classify_status: outcome of an HTTP status.
 * wh_deliver_retry_after: parses a Retry-After value (delta-seconds or an
 * HTTP-date, relative to now_unix) into milliseconds; -1 when unparsable.
 * wh_deliver_backoff_ms: the nominal (unjittered) delay after attempt n.
 */
enum wh_outcome wh_deliver_classify_status(long status);
long wh_deliver_retry_after(const char *value, double now_unix);
long wh_deliver_backoff_ms(long backoff_ms, long max_backoff_ms, int attempt);

#endif
