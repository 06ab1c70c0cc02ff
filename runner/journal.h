/*
 * journal: the durable outbox and delivery log, one SQLite database at
 * <state>/journal.db shared by every whrun process of a user (SPEC 5, 8).
 *
 * Three tables. A message is what one stage invocation sends to one hook:
 * its envelope and the exact body bytes. A delivery is that message bound
 * for one target of the hook; its status is pending, delivered, failed or
 * gone. An attempt is one HTTP request of a delivery, with its (masked)
 * request headers and the response.
 *
 * Invariants:
 * - Outbox: wh_journal_insert commits a message and all its deliveries
 *   (pending, due now) in one transaction before the caller sends a byte,
 *   and that one commit is made with synchronous=FULL, so it survives a
 *   power loss as well as a kill -9. Other writes use WAL with
 *   synchronous=NORMAL: a kill -9 loses nothing committed, a power loss may
 *   lose the last attempt records, which at worst makes a delivery pending
 *   again and sends it twice (at-least-once, never at-most-once).
 * - Leases: a delivery is sent only by the process holding its lease
 *   (lease_owner, lease_until). Insert and claim take the lease in the
 *   same IMMEDIATE transaction that makes the row visible as theirs, so two
 *   processes never hold one delivery at once. Only the lease holder
 *   changes a delivery's status.
 * - A lease ends when it expires or when its owner is known to be dead,
 *   whichever comes first. lease_owner is
 *   "<pid>-<16 hex random>@<host tag>:<start time>": the host tag hashes
 *   the kernel's boot id with our pid namespace, the start time is the
 *   process's (/proc/PID/stat). A claimer with the same host tag treats
 *   the lease as ended when that pid is gone (kill(pid, 0) fails with
 *   ESRCH), is a zombie, or now belongs to a process started at another
 *   time. That is sound because the journal is a local file that only
 *   processes of one host share (SQLite's WAL needs shared memory, so not
 *   across machines); the pid namespace in the tag keeps containers that
 *   share a state directory from judging each other's pids. When the
 *   check cannot say (another tag, an owner without one, no /proc), only
 *   expiry ends the lease.
 *   Why this rather than short leases renewed while working: a whrun
 *   killed with SIGKILL (or by the OOM killer, or a CI runner tearing the
 *   job down) leaves its rows leased; with the owner check an immediate
 *   `whrun retry` picks them up, with no renewal traffic on the journal
 *   during a typical run and no risk that a process paused in a long
 *   transfer (or stopped with SIGSTOP) loses a lease it still uses. Leases
 *   stay long (10 minutes, a bound on one run's in-run retries) as the
 *   fallback; only an attempt that could outlive its lease renews it first
 *   (wh_journal_renew, dispatch.c), and one whose delivery another process
 *   has taken over is not made.
 * - Every write is one short BEGIN IMMEDIATE transaction; no transaction
 *   is held across network I/O. A busy timeout (10 s) absorbs contention,
 *   so parallel processes wait instead of failing with "database is locked".
 * - The directory is created 0700 when missing, the database (and with it,
 *   as SQLite copies the mode, its -wal and -shm files) 0600. The -wal and
 *   -shm files stay between runs (no whrun process deletes them); they are
 *   part of the journal (copy or back up the three files together).
 * - Secrets are never stored. The caller masks secret header values before
 *   handing them over; the journal masks again any header whose name looks
 *   like a credential or a signature (Authorization, *-Signature*, Cookie,
 *   *token*, *secret*, *api-key*, *password*), and response bodies are
 *   capped at WH_JOURNAL_BODY_CAP bytes.
 * - Times are milliseconds since the Unix epoch (UTC).
 *
 * Not done here: HTTP, signing, building envelopes, deciding whether a
 * response is retryable (the caller says so with an outcome), printing.
 * A struct wh_journal is not thread-safe: one per thread.
 */
#ifndef WH_JOURNAL_H
#define WH_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define WH_JOURNAL_FILE		  "journal.db"
#define WH_JOURNAL_BODY_CAP	  (64 * 1024)
#define WH_JOURNAL_BUSY_MS	  10000
#define WH_JOURNAL_SCHEMA	  1
#define WH_JOURNAL_MASK		  "[redacted]"
#define WH_JOURNAL_ID_PREFIX	  "dlv_"
#define WH_JOURNAL_MESSAGE_ID_LEN 30 /* "msg_" and 26 Crockford base32 characters */

/* The outbox schedule (SPEC 5): waits after a run's tries are exhausted. */
extern const int64_t wh_journal_schedule_ms[];
extern const size_t wh_journal_schedule_len;

enum wh_journal_status {
	WH_JOURNAL_PENDING,
	WH_JOURNAL_DELIVERED,
	WH_JOURNAL_FAILED,
	WH_JOURNAL_GONE,
};

/* What the caller concluded from one attempt. */
enum wh_journal_outcome {
	WH_JOURNAL_OUTCOME_DELIVERED, /* 2xx */
	WH_JOURNAL_OUTCOME_RETRY,     /* retryable: network error, timeout, 408, 429, 5xx */
	WH_JOURNAL_OUTCOME_FAILED,    /* not retryable: other 4xx, 3xx, a local error */
	WH_JOURNAL_OUTCOME_GONE,      /* 410 */
};

/* "pending", ... and back; -1 for an unknown name. */
const char *wh_journal_status_name(enum wh_journal_status status);
int wh_journal_status_parse(const char *name);
const char *wh_journal_outcome_name(enum wh_journal_outcome outcome);

struct wh_journal;

enum wh_journal_open_mode {
	/* Create the directory and the database when missing (writers). */
	WH_JOURNAL_CREATE,
	/* Open only what exists: WH_ENOTFOUND, with err set, when there is no
	 * journal yet (readers: `deliveries`, `show`). Falls back to read-only
	 * when the file cannot be written. */
	WH_JOURNAL_EXISTING,
};

/*
 * The state directory: state_dir when not NULL or empty (--state or
 * $WHRUN_STATE_DIR, which the CLI already folded in), else
 * $XDG_STATE_HOME/whrun, else $HOME/.local/state/whrun. *out is malloc'ed,
 * the caller frees it. WH_ECONFIG when none of these can be found.
 */
int wh_journal_state_dir(char **out, const char *state_dir, struct wh_error *err);

/*
 * Opens (and in WH_JOURNAL_CREATE mode creates, schema included, in one
 * transaction) <dir>/journal.db. Fails with WH_EIO when the directory or
 * the database cannot be created or opened for writing (read-only file
 * system, no permission) or the file system is nearly full, WH_ECONFIG
 * when the file is not a whrun journal or was written by a newer whrun.
 * Opening an up-to-date journal writes nothing: a writer's first write
 * (wh_journal_insert, wh_journal_add_deliveries, wh_journal_claim_due),
 * which always comes before anything is sent, is what fails when the
 * journal cannot take writes after all (disk full at that moment). *out
 * is the caller's; free it with wh_journal_close, which may copy a long
 * write-ahead log back into the database (see journal.c).
 */
int wh_journal_open(struct wh_journal **out, const char *dir, enum wh_journal_open_mode mode,
		    struct wh_error *err);
void wh_journal_close(struct wh_journal *journal);

/* This handle's lease owner, "<pid>-<16 hex>@<host tag>:<start time>"
 * (borrowed; see the top of this file). */
const char *wh_journal_owner(const struct wh_journal *journal);

/* The database path (borrowed). */
const char *wh_journal_path(const struct wh_journal *journal);

/* A fresh message id "msg_<26>" (48-bit millisecond time, then 80 random
 * bits, Crockford base32: sortable by creation time). out holds at least
 * WH_JOURNAL_MESSAGE_ID_LEN + 1 bytes. */
int wh_journal_new_message_id(char *out, size_t size, struct wh_error *err);

/* One target of a message, as handed to wh_journal_insert. */
struct wh_journal_target {
	size_t index;	    /* position in the hook's targets */
	const char *url;    /* as configured: it must not embed credentials */
	const char *method; /* POST, PUT, PATCH */
	int64_t id;	    /* out: the delivery id */
};

struct wh_journal_message {
	const char *id;		   /* "msg_..." (wh_journal_new_message_id) */
	const char *type;	   /* the stage, or "ping" */
	const char *hook;	   /* hook name */
	const char *kind;	   /* standard, raw, slack, or a plugin's name */
	const char *config_commit; /* 40 hex */
	const char *envelope;	   /* the standard envelope as JSON text, may be NULL */
	const void *body;	   /* the exact bytes sent */
	size_t body_len;
	int64_t created_at; /* 0: now */
	struct wh_journal_target *targets;
	size_t ntargets;
};

/*
 * The outbox write: inserts every message and all its deliveries in one
 * transaction (synchronous=FULL), each delivery pending, due now, attempts
 * 0 and already leased to this handle for lease_ms, so that a concurrent
 * `whrun retry` leaves it to us. Fills targets[].id. A message id that
 * exists already is WH_ECONFIG (nothing is inserted).
 */
int wh_journal_insert(struct wh_journal *journal, struct wh_journal_message *messages,
		      size_t nmessages, int64_t lease_ms, struct wh_error *err);

/* For `resend`: new pending deliveries of an existing message (leased to
 * this handle, as above). WH_ENOTFOUND when the message does not exist. */
int wh_journal_add_deliveries(struct wh_journal *journal, const char *message_id,
			      struct wh_journal_target *targets, size_t ntargets, int64_t lease_ms,
			      struct wh_error *err);

/* A delivery as stored; every string is owned by the struct. */
struct wh_journal_delivery {
	int64_t id;
	char *message_id;
	char *hook;
	char *stage;
	char *kind;
	char *config_commit;
	size_t target_index;
	char *url;
	char *method;
	enum wh_journal_status status;
	int attempts;		 /* requests made, over every run */
	int deferrals;		 /* times it went back to the outbox schedule */
	int64_t next_attempt_at; /* 0 once delivered, failed or gone */
	int http_status;	 /* of the last attempt; 0 when none */
	char *last_error;	 /* NULL when none */
	char *lease_owner;	 /* NULL when not leased */
	int64_t lease_until;
	int64_t created_at, updated_at;
};

/* 1 when d is pending and its lease is held: not expired at now, and its
 * owner not known to be dead (a killed process's leases end with it, see
 * above), so another process is sending it right now. */
int wh_journal_lease_held(const struct wh_journal *journal, const struct wh_journal_delivery *d,
			  int64_t now);

struct wh_journal_deliveries {
	struct wh_journal_delivery *items;
	size_t count;
};

void wh_journal_deliveries_release(struct wh_journal_deliveries *list);

struct wh_journal_claim_filter {
	const char *hook; /* NULL: every hook */
	int all;	  /* 1: pending ones not yet due as well (`retry --all`) */
	size_t limit;	  /* 0: no limit */
};

/*
 * `whrun retry`: in one IMMEDIATE transaction, takes up to limit pending
 * deliveries that are due (or all pending with filter->all) and not leased
 * by a live lease (one that has not expired and whose owner is not known
 * to be dead), oldest due first, and leases them to this handle for
 * lease_ms. *out (the caller releases it) holds what was claimed; it may be
 * empty.
 */
int wh_journal_claim_due(struct wh_journal_deliveries *out, struct wh_journal *journal,
			 const struct wh_journal_claim_filter *filter, int64_t lease_ms,
			 struct wh_error *err);

/* Extends this handle's lease on a delivery (long runs); WH_ENOTFOUND when
 * the lease is not ours any more. */
int wh_journal_renew(struct wh_journal *journal, int64_t delivery_id, int64_t lease_ms,
		     struct wh_error *err);

/* Gives a lease back without an attempt (e.g. --max-time hit before the
 * first try): the delivery stays pending, due when it was. */
int wh_journal_release(struct wh_journal *journal, int64_t delivery_id, struct wh_error *err);

struct wh_journal_header {
	const char *name;
	const char *value;
};

/* One attempt's result, as handed to wh_journal_record. */
struct wh_journal_result {
	enum wh_journal_outcome outcome;
	/* 1 when the caller will not try again in this run (its tries are
	 * exhausted, or --max-time is near). With WH_JOURNAL_OUTCOME_RETRY the
	 * delivery then goes back to the outbox schedule (or fails when the
	 * schedule is exhausted) and the lease is released. With 0 the
	 * caller keeps the lease and retries in this run. Ignored for the
	 * other outcomes, which are always final. */
	int final;
	int64_t started_at; /* 0: now */
	int64_t duration_ms;
	int http_status;	/* 0: no response */
	int64_t retry_after_ms; /* from a Retry-After header; 0: none */
	const char *error;	/* NULL: none; e.g. "connect: connection refused" */
	const struct wh_journal_header *request_headers; /* masked by the caller */
	size_t nrequest_headers;
	const struct wh_journal_header *response_headers;
	size_t nresponse_headers;
	const void *response_body; /* the journal keeps WH_JOURNAL_BODY_CAP bytes */
	size_t response_body_len;
	int response_truncated; /* 1 when the caller already cut the body */
};

/*
 * Records one attempt of a delivery this handle leased: adds the attempt
 * row (number = attempts + 1), updates attempts, http_status, last_error,
 * the status (delivered, failed, gone, or pending) and next_attempt_at:
 * for a final retry, now + the next outbox schedule step (or the server's
 * Retry-After when later); `failed` when the schedule is exhausted. A
 * final result releases the lease.
 *
 * When the lease is no longer ours (it expired and another process took
 * the delivery over), the attempt is still recorded, as it happened, but
 * the delivery is left to its new owner and *lease_lost (when not NULL) is
 * set to 1. WH_ENOTFOUND for an unknown delivery.
 */
int wh_journal_record(struct wh_journal *journal, int64_t delivery_id,
		      const struct wh_journal_result *result, int *lease_lost,
		      struct wh_error *err);

/*
 * Groups the wh_journal_record calls made until wh_journal_batch_end into
 * one write transaction (each record stays atomic on its own: a failed
 * one is undone alone), so that many attempts ending together cost one
 * commit. Hold a batch only while recording, never across network waits:
 * it holds the journal's write lock. Nests (only the outermost pair
 * counts). When begin fails (the journal is busy), records fall back to a
 * transaction each. wh_journal_batch_end commits; an error there loses
 * the batch's records (their deliveries stay pending: at-least-once).
 */
int wh_journal_batch_begin(struct wh_journal *journal, struct wh_error *err);
int wh_journal_batch_end(struct wh_journal *journal, struct wh_error *err);

/* When a final retry recorded after `deferrals` earlier deferrals is due
 * again: now + schedule[deferrals], or -1 when the schedule is exhausted. */
int64_t wh_journal_next_attempt(int64_t now, int deferrals);

struct wh_journal_list_filter {
	const char *hook;  /* NULL: any */
	const char *stage; /* NULL: any */
	int status;	   /* an enum wh_journal_status, or -1: any */
	size_t limit;	   /* 0: no limit */
};

/* Deliveries, newest first. *out is the caller's to release. */
int wh_journal_list(struct wh_journal_deliveries *out, struct wh_journal *journal,
		    const struct wh_journal_list_filter *filter, struct wh_error *err);

/*
 * Looks an id up as `show` takes it: "dlv_N" or "N" names one delivery,
 * "msg_..." every delivery of that message (in target order). WH_ENOTFOUND
 * with a clear message when nothing matches.
 */
int wh_journal_lookup(struct wh_journal_deliveries *out, struct wh_journal *journal, const char *id,
		      struct wh_error *err);

/* A message as stored; owned by the struct. body is NUL-terminated too. */
struct wh_journal_stored_message {
	char *id;
	char *type;
	char *hook;
	char *kind;
	char *config_commit;
	char *envelope; /* NULL when none was given */
	char *body;
	size_t body_len;
	int64_t created_at;
};

void wh_journal_message_release(struct wh_journal_stored_message *message);

/* The message of that id into *out (release it); WH_ENOTFOUND when absent. */
int wh_journal_get_message(struct wh_journal_stored_message *out, struct wh_journal *journal,
			   const char *message_id, struct wh_error *err);

struct wh_journal_attempt {
	int number; /* 1-based, per delivery */
	int64_t started_at;
	int64_t duration_ms;
	int http_status;
	enum wh_journal_outcome outcome;
	char *error;		/* NULL when none */
	char *request_headers;	/* JSON object text, masked */
	char *response_headers; /* JSON object text */
	char *response_body;	/* NUL-terminated; NULL when none */
	size_t response_body_len;
	int response_truncated;
	char *lease_owner; /* the process that made it */
};

struct wh_journal_attempts {
	struct wh_journal_attempt *items;
	size_t count;
};

void wh_journal_attempts_release(struct wh_journal_attempts *list);

/* Every attempt of a delivery, oldest first, into *out (release it). */
int wh_journal_get_attempts(struct wh_journal_attempts *out, struct wh_journal *journal,
			    int64_t delivery_id, struct wh_error *err);

/* 1 when a header of that name must never be stored in clear. */
int wh_journal_header_is_secret(const char *name);

/* The newest delivery of hook to url, older than before_id (0: any), that
 * ended `gone` (a 410), into *out; 0 when there is none. */
int wh_journal_gone_before(int64_t *out, struct wh_journal *journal, const char *hook,
			   const char *url, int64_t before_id, struct wh_error *err);

/* When the next pending delivery (of hook, or any when NULL) may be
 * claimed (ms since the epoch: its next attempt time, or the end of a live
 * lease held on it), into *out; 0 when nothing is pending. For `retry
 * --watch`, which sleeps until then. */
int wh_journal_next_due(int64_t *out, struct wh_journal *journal, const char *hook,
			struct wh_error *err);

/* Milliseconds since the epoch, and RFC 3339 UTC with milliseconds
 * ("2026-11-22T10:00:00.123Z") into out (at least 32 bytes). */
int64_t wh_journal_now(void);
void wh_journal_format_time(char *out, size_t size, int64_t ms);

#endif
