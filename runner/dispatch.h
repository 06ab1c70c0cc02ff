/*
 * dispatch: turns messages into signed HTTP deliveries, one per target, and
 * journals every attempt. The main job, `retry`, `resend` and `ping` all
 * deliver through it, so a request is built the same way whoever sends it.
 *
 * A message is one envelope for one hook (its body fixed once built, kept
 * byte for byte in the journal); a delivery is that message to one of the
 * hook's targets. Secrets (signature secrets, ${...} references in header
 * values, basic-auth passwords) are resolved when a message or delivery is
 * added, before anything is sent, and wiped when the dispatch is released;
 * the journal and any printed request only ever see them masked.
 *
 * Each attempt's headers are built just before it starts: Content-Type,
 * User-Agent, webhook-id (the message id, the same on every retry and
 * resend), webhook-timestamp (this attempt's unix time), the signature
 * headers over that timestamp, then the target's own headers.
 *
 * Plugin kinds (plugin.h) go through the same path: the plugin is found
 * (and the target's fields checked against its describe schema) when the
 * message and delivery are added, references inside the target's fields
 * are resolved then, and each attempt's stdin request is built just
 * before it starts, with that attempt's number and deadline. The plugin
 * runs with the environment minus every variable the run's hooks name in
 * a ${env:...} reference.
 *
 * What it does not do: choose hooks (payload.c), decide exit codes (the
 * commands), or talk HTTP itself (deliver.c).
 */
#ifndef WH_DISPATCH_H
#define WH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "deliver.h"
#include "envelope.h"
#include "error.h"
#include "journal.h"
#include "plugin.h"

struct wh_dispatch_message {
	char id[WH_MESSAGE_ID_SIZE];
	char *type;		    /* the stage, or "ping" */
	const struct wh_hook *hook; /* borrowed from a config the caller keeps */
	char commit[41];
	char *body; /* the exact bytes sent (owned) */
	size_t body_len;
	char *secrets[WH_MAX_SECRETS]; /* resolved (owned, wiped) */
	size_t nsecrets;
	int is_new; /* 1: not in the journal yet (wh_dispatch_insert writes it) */
	/* The signature headers of the last attempt and their timestamp:
	 * targets of one message sent in the same second share them (owned,
	 * wh_sign_headers_free) instead of signing the body once each. */
	struct wh_header *sig;
	size_t nsig;
	int64_t sig_stamp;
	const struct wh_plugin *plugin; /* plugin kinds: borrowed from plugin.h's cache */
};

struct wh_dispatch_delivery {
	size_t message; /* index into messages */
	size_t target_index;
	int64_t delivery_id;   /* the journal's; 0 until inserted */
	char **header_values;  /* resolved values of target->headers (owned, wiped) */
	char **header_masked;  /* the same with references shown as *** (owned) */
	char *basic_password;  /* resolved (owned, wiped) */
	json_t *plugin_target; /* plugin kinds: the target's fields, resolved (owned, wiped) */
	struct wh_request request;
	char **attempt_headers; /* masked "Name: value" of the attempt in flight */
	size_t nattempt_headers;

	/* results */
	int attempts;
	enum wh_outcome outcome;
	long http_status;
	long duration_ms; /* of the last attempt */
	char error[256];
	int pending;	     /* still in the outbox after this run */
	int held;	     /* our lease is held: the last attempt was not final */
	int lease_lost;	     /* another process took it over */
	int not_sent;	     /* the attempt being reported was refused (lease) */
	int64_t lease_until; /* when our journal lease ends at the latest (ms) */
	int journal_missing; /* an attempt could not be journaled */
	int64_t gone_before; /* an earlier delivery of this hook to this URL got a 410 */
	int deferrals;	     /* outbox deferrals so far (the claimer sets it; 0 when new) */
};

struct wh_dispatch {
	struct wh_dispatch_message *messages;
	size_t nmessages, amessages;
	struct wh_dispatch_delivery *deliveries;
	size_t ndeliveries, adeliveries;
	struct wh_journal *journal; /* borrowed, set by wh_dispatch_run */
	struct wh_error journal_error;
	/* Tries per delivery in this run; 0: the hook's retry.attempts.
	 * `retry` makes one try per due time (the outbox schedule is the
	 * retry policy there). */
	int max_attempts;
};

void wh_dispatch_init(struct wh_dispatch *d);
/* Wipes every resolved secret and frees everything. */
void wh_dispatch_release(struct wh_dispatch *d);

/*
 * Adds a message for hook and resolves the hook's signature secrets. With
 * stored_body NULL, builds the body for the hook's kind from data (the
 * payload's text) under a new message id; otherwise (retry, resend) takes
 * id and stored_body as they are in the journal. *index receives the
 * message's index. A secret that cannot be resolved is WH_ECONFIG naming
 * the hook and the variable or file.
 */
int wh_dispatch_add_message(struct wh_dispatch *d, size_t *index, const struct wh_hook *hook,
			    const char *commit, const char *type, const char *data, size_t data_len,
			    const char *id, const char *stored_body, size_t stored_len,
			    struct wh_error *err);

/* Adds the delivery of message to target_index, resolving that target's
 * header references and basic-auth password. delivery_id is the journal's
 * for an existing delivery, 0 for a new one. */
int wh_dispatch_add_delivery(struct wh_dispatch *d, size_t message, size_t target_index,
			     int64_t delivery_id, struct wh_error *err);

/* The outbox write: every new message and its deliveries, pending, in one
 * transaction, before the first byte is sent. Existing messages that got
 * new deliveries (resend) gain delivery rows. */
int wh_dispatch_insert(struct wh_dispatch *d, struct wh_journal *journal, struct wh_error *err);

/* Prints each request as it would be sent (secrets masked) and sends
 * nothing. */
void wh_dispatch_print_requests(const struct wh_dispatch *d, FILE *out);

/* Delivers every delivery concurrently and journals each attempt. Returns
 * 0 (outcomes are in the deliveries), or a negative code when the engine
 * could not run at all. A journal failure mid-run is kept in
 * d->journal_error and the run goes on (the outbox rows already exist).
 * Before sending, looks up in the journal whether each target answered 410
 * to an earlier delivery (gone_before; it is attempted all the same). When
 * the run ends early (opts->stop, the deadline), deliveries whose next
 * try never started stay pending and their leases are given back, so
 * another process may take them at once. An attempt that could outlive
 * its journal lease renews it first; when the lease cannot be renewed
 * (another process has taken the delivery over, or the journal fails) the
 * attempt is not made, not counted and not journaled, and the delivery is
 * reported pending (not_sent, lease_lost). */
int wh_dispatch_run(struct wh_dispatch *d, struct wh_journal *journal,
		    const struct wh_deliver_options *opts, struct wh_error *err);

/* Prints one summary line per delivery (and a warning for a target that
 * is or was gone); returns the number of required deliveries that were
 * not delivered. */
size_t wh_dispatch_summary(const struct wh_dispatch *d, FILE *out);

/* The same as a JSON array (new reference). */
json_t *wh_dispatch_summary_json(const struct wh_dispatch *d);

#endif
