/*
 * envelope: message ids and the bodies a target receives (SPEC sections 3
 * and 4).
 *
 * Message ids are "msg_" followed by a ULID: 48 bits of milliseconds since
 * the epoch and 80 random bits (OpenSSL RAND_bytes) in Crockford base32,
 * 26 characters, so ids sort by creation time as plain strings. Ids are
 * monotonic within a process: an id made in the same millisecond as the
 * previous one (or while the clock stepped back) reuses that millisecond and
 * increments the random part, so ids always sort in generation order. That
 * "previous id" is the one piece of process state this module keeps (behind
 * a mutex); wh_envelope_new_id_at() takes the state explicitly for tests.
 *
 * Bodies:
 * - standard: {"id","type","timestamp","hook","config":{"commit"},"data"}.
 *   `data` is the controller's payload text spliced in as is (trimmed of
 *   surrounding whitespace), never re-serialised, so a receiver sees the
 *   payload byte for byte (number spellings such as 1.0 or 2^64, key order
 *   and \u escapes survive). Every other field is escaped by jansson.
 * - raw: the payload text itself (trimmed).
 * - slack: {"text": "..."}: a few readable lines naming the stage, the hook,
 *   the key fields found in the payload (application, cluster(s),
 *   environment, version, actor, reason; whichever exist) and the short
 *   config commit, with Slack's &, <, > escaped.
 *
 * What it does not do: validate the payload (the caller has parsed and
 * validated it against the stage's schema), sign (sign.c), or build HTTP
 * headers (the delivery code).
 */
#ifndef WH_ENVELOPE_H
#define WH_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"

/* "msg_" + 26 ULID characters. */
#define WH_MESSAGE_ID_LEN  30
#define WH_MESSAGE_ID_SIZE (WH_MESSAGE_ID_LEN + 1)

/* "2026-11-22T10:00:00Z" and its NUL. */
#define WH_TIMESTAMP_SIZE 21

/* The state of a monotonic ULID generator: the last id's parts. */
struct wh_ulid_state {
	uint64_t last_ms;	/* 0 before the first id */
	unsigned char last[10]; /* the last id's 80 random bits, big-endian */
};

/*
 * Writes a new message id ("msg_" + ULID, NUL-terminated) into out, using
 * the process-wide generator (thread-safe). Fails only when the clock or
 * RAND_bytes fails (WH_EINTERNAL).
 */
int wh_envelope_new_id(char out[WH_MESSAGE_ID_SIZE], struct wh_error *err);

/*
 * The same with an explicit generator state and clock reading (milliseconds
 * since the epoch), for tests. When now_ms is not later than the state's
 * last millisecond, the id keeps that millisecond and the random part is
 * the previous one plus one (should the 80 bits overflow, the millisecond
 * advances by one and the random part is drawn afresh). now_ms must fit
 * in 48 bits (until the year 10889).
 */
int wh_envelope_new_id_at(char out[WH_MESSAGE_ID_SIZE], struct wh_ulid_state *state,
			  uint64_t now_ms, struct wh_error *err);

/* 1 when text is a well-formed message id ("msg_" + 26 Crockford base32
 * characters, the first at most '7'). */
int wh_envelope_id_valid(const char *text);

/* The creation time in milliseconds encoded in a valid id. */
uint64_t wh_envelope_id_time_ms(const char *id);

/* Formats t as RFC 3339 UTC with seconds ("2026-11-22T10:00:00Z"). Returns
 * 0, or WH_EINTERNAL for a time gmtime_r cannot represent. */
int wh_envelope_format_time(char out[WH_TIMESTAMP_SIZE], time_t t, struct wh_error *err);

/* One message: everything borrowed from the caller. */
struct wh_envelope {
	const char *id;	    /* "msg_..." */
	const char *type;   /* the stage, or "ping" */
	time_t created;	    /* creation time of the message (not of an attempt) */
	const char *hook;   /* the hook's name */
	const char *commit; /* hex sha of the definitions' commit */
	const char *data;   /* the payload: JSON text already parsed and validated */
	size_t data_len;
};

/*
 * Builds the body that kind sends for msg into *out (malloc'ed,
 * NUL-terminated, caller frees) and its length into *out_len (the body
 * excludes the NUL). WH_KIND_PLUGIN gets the standard envelope (plugins
 * receive it inside their request). Fails with WH_EPAYLOAD when the data is
 * empty, WH_EINTERNAL when a field is not valid UTF-8, WH_ENOMEM.
 */
int wh_envelope_body(char **out, size_t *out_len, enum wh_kind kind, const struct wh_envelope *msg,
		     struct wh_error *err);

/* The three kinds one by one; same contract as wh_envelope_body. */
int wh_envelope_standard(char **out, size_t *out_len, const struct wh_envelope *msg,
			 struct wh_error *err);
int wh_envelope_raw(char **out, size_t *out_len, const struct wh_envelope *msg,
		    struct wh_error *err);
int wh_envelope_slack(char **out, size_t *out_len, const struct wh_envelope *msg,
		      struct wh_error *err);

/*
 * The data of a `ping` message (SPEC section 3) into *out (malloc'ed,
 * caller frees), for use as wh_envelope.data with type "ping":
 * {"hook":NAME,"commit":SHA,"message":"ping from whrun"}.
 */
int wh_envelope_ping_data(char **out, size_t *out_len, const char *hook, const char *commit,
			  struct wh_error *err);

#endif
