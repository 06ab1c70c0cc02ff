/*
 * dispatch: messages -> signed deliveries -> journaled attempts (see
 * dispatch.h).
 *
 * Invariant: a delivery is in the journal (pending) before its first byte
 * is sent; an attempt's outcome is journaled after it, so a crash in
 * between leaves a pending delivery that `whrun retry` sends again
 * (at-least-once, never at-most-once).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "secret.h"
#include "sign.h"
#include "util.h"
#include "banned.h"

void wh_dispatch_init(struct wh_dispatch *d)
{
	memset(d, 0, sizeof(*d));
}

static void free_list(char **list, size_t n, int secret)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		if (secret)
			wh_free_secret(list[i]);
		else
			free(list[i]);
	}
	free(list);
}

static const struct wh_target *target_of(const struct wh_dispatch *d,
					 const struct wh_dispatch_delivery *dl)
{
	return &d->messages[dl->message].hook->targets[dl->target_index];
}

void wh_dispatch_release(struct wh_dispatch *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ndeliveries; i++) {
		struct wh_dispatch_delivery *dl = &d->deliveries[i];
		size_t nheaders = target_of(d, dl)->nheaders;

		free_list(dl->header_values, nheaders, 1);
		free_list(dl->header_masked, nheaders, 0);
		wh_free_secret(dl->basic_password);
		wh_plugin_json_free_secret(dl->plugin_target);
		free_list(dl->attempt_headers, dl->nattempt_headers, 0);
	}
	for (size_t i = 0; i < d->nmessages; i++) {
		struct wh_dispatch_message *m = &d->messages[i];
		free(m->type);
		free(m->body);
		for (size_t k = 0; k < m->nsecrets; k++)
			wh_free_secret(m->secrets[k]);
		wh_sign_headers_free(m->sig, m->nsig);
	}
	free(d->messages);
	free(d->deliveries);
	wh_dispatch_init(d);
}

static int grow(void **items, size_t *alloc, size_t count, size_t size)
{
	void *p;
	size_t n;

	if (count < *alloc)
		return 0;
	n = *alloc ? *alloc * 2 : 8;
	if (!(p = realloc(*items, n * size)))
		return WH_ENOMEM;
	memset((char *)p + *alloc * size, 0, (n - *alloc) * size);
	*items = p;
	*alloc = n;
	return 0;
}

int wh_dispatch_add_message(struct wh_dispatch *d, size_t *index, const struct wh_hook *hook,
			    const char *commit, const char *type, const char *data, size_t data_len,
			    const char *id, const char *stored_body, size_t stored_len,
			    struct wh_error *err)
{
	struct wh_dispatch_message *m;
	int error;

	if (grow((void **)&d->messages, &d->amessages, d->nmessages, sizeof(*d->messages)) < 0)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	m = &d->messages[d->nmessages];
	memset(m, 0, sizeof(*m));
	m->hook = hook;
	wh_strlcpy(m->commit, commit, sizeof(m->commit));
	if (!(m->type = strdup(type)))
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	if (hook->kind == WH_KIND_PLUGIN &&
	    (error = wh_plugin_find(&m->plugin, hook->kind_name, err)) < 0) {
		wh_error_prefix(err, "hook %s (%s:%d)", hook->name, hook->file, hook->line);
		goto fail;
	}

	for (size_t i = 0; i < hook->nsecrets; i++) {
		unsigned char *key = NULL;
		size_t key_len = 0;

		if ((error = wh_secret_resolve(&m->secrets[i], hook->secrets[i], err)) < 0) {
			wh_error_prefix(err, "hook %s (%s:%d)", hook->name, hook->file, hook->line);
			goto fail;
		}
		m->nsecrets++;
		/* a secret the scheme cannot use (a whsec_ that is not base64) is a
		 * config error now, before anything is journaled or sent */
		if (hook->signature != WH_SIGNATURE_NONE && hook->kind != WH_KIND_PLUGIN &&
		    (error = wh_sign_key(&key, &key_len, hook->signature, m->secrets[i], err)) <
			0) {
			err->code = WH_ECONFIG;
			wh_error_prefix(err, "hook %s (%s:%d), %s", hook->name, hook->file,
					hook->line, hook->secrets[i]);
			goto fail;
		}
		wh_sign_key_free(key, key_len);
	}

	if (stored_body) {
		wh_strlcpy(m->id, id, sizeof(m->id));
		if (!(m->body = malloc(stored_len + 1))) {
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
			goto fail;
		}
		memcpy(m->body, stored_body, stored_len);
		m->body[stored_len] = '\0';
		m->body_len = stored_len;
	} else {
		struct wh_envelope env;

		if ((error = wh_envelope_new_id(m->id, err)) < 0)
			goto fail;
		memset(&env, 0, sizeof(env));
		env.id = m->id;
		env.type = type;
		env.created = time(NULL);
		env.hook = hook->name;
		env.commit = commit;
		env.data = data;
		env.data_len = data_len;
		if ((error = wh_envelope_body(&m->body, &m->body_len, hook->kind, &env, err)) < 0)
			goto fail;
		m->is_new = 1;
	}
	*index = d->nmessages++;
	return 0;
fail:
	free(m->type);
	free(m->body);
	for (size_t k = 0; k < m->nsecrets; k++)
		wh_free_secret(m->secrets[k]);
	memset(m, 0, sizeof(*m));
	return error;
}

int wh_dispatch_add_delivery(struct wh_dispatch *d, size_t message, size_t target_index,
			     int64_t delivery_id, struct wh_error *err)
{
	const struct wh_hook *hook = d->messages[message].hook;
	const struct wh_target *t;
	struct wh_dispatch_delivery *dl;
	int error = 0;

	if (target_index >= hook->ntargets)
		return wh_error_set(err, WH_ECONFIG,
				    "hook %s has no target %zu at %.12s (the definition changed?)",
				    hook->name, target_index + 1, d->messages[message].commit);
	t = &hook->targets[target_index];
	if (grow((void **)&d->deliveries, &d->adeliveries, d->ndeliveries, sizeof(*d->deliveries)) <
	    0)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	dl = &d->deliveries[d->ndeliveries];
	memset(dl, 0, sizeof(*dl));
	dl->message = message;
	dl->target_index = target_index;
	dl->delivery_id = delivery_id;
	dl->outcome = WH_OUTCOME_RETRY;
	if (t->nheaders) {
		dl->header_values = calloc(t->nheaders, sizeof(char *));
		dl->header_masked = calloc(t->nheaders, sizeof(char *));
		if (!dl->header_values || !dl->header_masked) {
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < t->nheaders; i++) {
		if ((error = wh_secret_expand(&dl->header_values[i], &dl->header_masked[i],
					      t->headers[i].value, err)) < 0) {
			wh_error_prefix(err, "hook %s, header %s", hook->name, t->headers[i].name);
			goto fail;
		}
	}
	if (t->basic_password &&
	    (error = wh_secret_resolve(&dl->basic_password, t->basic_password, err)) < 0) {
		wh_error_prefix(err, "hook %s, basic_auth password", hook->name);
		goto fail;
	}
	if (d->messages[message].plugin &&
	    ((error = wh_plugin_check_target(d->messages[message].plugin, hook, target_index,
					     err)) < 0 ||
	     (error = wh_plugin_resolve_fields(&dl->plugin_target, t->fields, err)) < 0)) {
		if (error != WH_ECONFIG || !err->path[0])
			wh_error_prefix(err, "hook %s, target %zu", hook->name, target_index + 1);
		goto fail;
	}
	d->ndeliveries++;
	return 0;
fail:
	free_list(dl->header_values, t->nheaders, 1);
	free_list(dl->header_masked, t->nheaders, 0);
	wh_free_secret(dl->basic_password);
	wh_plugin_json_free_secret(dl->plugin_target);
	memset(dl, 0, sizeof(*dl));
	return error;
}

int wh_dispatch_insert(struct wh_dispatch *d, struct wh_journal *journal, struct wh_error *err)
{
	struct wh_journal_message *rows = calloc(d->nmessages + 1, sizeof(*rows));
	struct wh_journal_target *targets = calloc(d->ndeliveries + 1, sizeof(*targets));
	size_t *slot = calloc(d->ndeliveries + 1, sizeof(*slot));
	size_t nrows = 0, ntargets = 0;
	int error = 0;

	if (!rows || !targets || !slot) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	/* new messages with their new deliveries, in one transaction */
	for (size_t m = 0; m < d->nmessages; m++) {
		const struct wh_dispatch_message *msg = &d->messages[m];
		struct wh_journal_message *row;

		if (!msg->is_new)
			continue;
		row = &rows[nrows++];
		row->id = msg->id;
		row->type = msg->type;
		row->hook = msg->hook->name;
		row->kind = msg->hook->kind_name;
		row->config_commit = msg->commit;
		row->body = msg->body;
		row->body_len = msg->body_len;
		row->targets = &targets[ntargets];
		for (size_t i = 0; i < d->ndeliveries; i++) {
			const struct wh_dispatch_delivery *dl = &d->deliveries[i];
			const struct wh_target *t = target_of(d, dl);

			if (dl->message != m || dl->delivery_id)
				continue;
			targets[ntargets].index = dl->target_index;
			targets[ntargets].url = t->url ? t->url : "";
			targets[ntargets].method = t->method;
			slot[ntargets++] = i;
			row->ntargets++;
		}
	}
	if (nrows && (error = wh_journal_insert(journal, rows, nrows, 10 * 60 * 1000, err)) < 0)
		goto out;
	for (size_t k = 0; k < ntargets; k++)
		d->deliveries[slot[k]].delivery_id = targets[k].id;

	/* new deliveries of messages already journaled (resend) */
	for (size_t i = 0; i < d->ndeliveries && !error; i++) {
		struct wh_dispatch_delivery *dl = &d->deliveries[i];
		const struct wh_target *t = target_of(d, dl);
		struct wh_journal_target one;

		if (dl->delivery_id)
			continue;
		memset(&one, 0, sizeof(one));
		one.index = dl->target_index;
		one.url = t->url ? t->url : "";
		one.method = t->method;
		error = wh_journal_add_deliveries(journal, d->messages[dl->message].id, &one, 1,
						  10 * 60 * 1000, err);
		dl->delivery_id = one.id;
	}
out:
	free(rows);
	free(targets);
	free(slot);
	return error;
}

/* --- building an attempt's headers ------------------------------------ */

struct header_set {
	struct curl_slist *sent;
	char **masked;
	size_t nmasked;
	int nomem;
};

/* "name: value" in a new string, or NULL when out of memory. */
static char *header_line(const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);
	char *line = malloc(n + v + 3);

	if (line) {
		memcpy(line, name, n);
		memcpy(line + n, ": ", 2);
		memcpy(line + n + 2, value, v + 1);
	}
	return line;
}

static void header_add(struct header_set *hs, const char *name, const char *value,
		       const char *shown)
{
	char *line = header_line(name, value);
	char *masked = !line ? NULL : shown ? header_line(name, shown) : strdup(line);
	struct curl_slist *next;
	char **list;

	if (!line || !masked || !(next = curl_slist_append(hs->sent, line)) ||
	    !(list = realloc(hs->masked, (hs->nmasked + 1) * sizeof(*list)))) {
		hs->nomem = 1;
		if (line)
			wh_wipe(line, strlen(line));
		free(line);
		free(masked);
		return;
	}
	hs->sent = next;
	hs->masked = list;
	hs->masked[hs->nmasked++] = masked;
	wh_wipe(line, strlen(line));
	free(line);
}

/* The headers of one attempt at now; *hs is the caller's to release.
 * With cache (the delivery's message), the signature headers are kept
 * there and reused by the message's other targets signed at the same
 * second (the same id, timestamp, body and secrets: the same bytes). */
static int build_headers(struct header_set *hs, const struct wh_dispatch *d,
			 const struct wh_dispatch_delivery *dl, int64_t now,
			 struct wh_dispatch_message *cache, struct wh_error *err)
{
	const struct wh_dispatch_message *m = &d->messages[dl->message];
	const struct wh_hook *hook = m->hook;
	const struct wh_target *t = target_of(d, dl);
	struct wh_sign_request req;
	struct wh_header *sig = NULL;
	size_t nsig = 0;
	char stamp[32];
	int error;

	memset(hs, 0, sizeof(*hs));
	snprintf(stamp, sizeof(stamp), "%" PRId64, now);
	header_add(hs, "Content-Type", "application/json", NULL);
	header_add(hs, "User-Agent", "whrun/" WHRUN_VERSION, NULL);
	header_add(hs, "webhook-id", m->id, NULL);
	header_add(hs, "webhook-timestamp", stamp, NULL);
	if (hook->signature != WH_SIGNATURE_NONE) {
		memset(&req, 0, sizeof(req));
		req.scheme = hook->signature;
		req.secrets = (const char *const *)m->secrets;
		req.nsecrets = m->nsecrets;
		req.message_id = m->id;
		req.timestamp = now;
		req.body = m->body;
		req.body_len = m->body_len;
		req.header_name = hook->signature_header;
		if (cache && cache->sig && cache->sig_stamp == now) {
			sig = cache->sig;
			nsig = cache->nsig;
		} else if ((error = wh_sign_headers(&sig, &nsig, &req, err)) < 0) {
			return error;
		}
		for (size_t i = 0; i < nsig; i++)
			header_add(hs, sig[i].name, sig[i].value, NULL);
		if (cache && sig != cache->sig) {
			wh_sign_headers_free(cache->sig, cache->nsig);
			cache->sig = sig;
			cache->nsig = nsig;
			cache->sig_stamp = now;
		} else if (!cache) {
			wh_sign_headers_free(sig, nsig);
		}
	}
	for (size_t i = 0; i < t->nheaders; i++)
		header_add(hs, t->headers[i].name, dl->header_values[i], dl->header_masked[i]);
	if (hs->nomem)
		return wh_error_set(err, WH_ENOMEM, "out of memory building headers");
	return 0;
}

static void header_set_release(struct header_set *hs)
{
	curl_slist_free_all(hs->sent);
	free_list(hs->masked, hs->nmasked, 0);
	memset(hs, 0, sizeof(*hs));
}

/* --- journaling attempts ----------------------------------------------- */

/* Splits "HTTP/1.1 200 OK\nName: value\n..." into name/value pairs that
 * point into buf (modified in place). Returns the number of pairs. */
static size_t parse_response_headers(struct wh_journal_header *out, size_t max, char *buf)
{
	size_t n = 0;
	char *line = buf, *next;

	for (; line && *line && n < max; line = next) {
		char *colon, *value, *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' '))
			*--end = '\0';
		colon = strchr(line, ':');
		if (!colon || strncmp(line, "HTTP/", 5) == 0)
			continue;
		*colon = '\0';
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		out[n].name = line;
		out[n].value = value;
		n++;
	}
	return n;
}

static enum wh_journal_outcome journal_outcome(enum wh_outcome outcome)
{
	switch (outcome) {
	case WH_OUTCOME_DELIVERED:
		return WH_JOURNAL_OUTCOME_DELIVERED;
	case WH_OUTCOME_FAILED:
		return WH_JOURNAL_OUTCOME_FAILED;
	case WH_OUTCOME_GONE:
		return WH_JOURNAL_OUTCOME_GONE;
	case WH_OUTCOME_RETRY:
		break;
	}
	return WH_JOURNAL_OUTCOME_RETRY;
}

#define MAX_RESPONSE_HEADERS 64

static int prepare_plugin(struct wh_request *req, int attempt, struct wh_error *err,
			  struct wh_dispatch *d);

/* The lease the journal gave (at insert or claim, just before the run) is
 * 10 minutes; a run can last longer (long timeouts, many retries, a queue
 * behind --concurrency). Before an attempt that could outlive the lease,
 * extend it. If it is no longer ours, another process has the delivery;
 * if the journal cannot extend it, another process may take it when it
 * expires: either way this attempt is not made (on_attempted then leaves
 * the delivery pending, uncounted and unjournaled). */
#define LEASE_ASSUMED_MS (9 * 60 * 1000)
#define LEASE_RENEW_MS	 (10 * 60 * 1000)

static int keep_lease(struct wh_dispatch *d, struct wh_dispatch_delivery *dl, long timeout_ms,
		      struct wh_error *err)
{
	int64_t now = wh_journal_now();
	int error;

	if (dl->lease_lost)
		error = WH_ENOTFOUND;
	else if (!d->journal || dl->lease_until - now > (int64_t)timeout_ms + 60 * 1000)
		return 0;
	else
		error =
		    wh_journal_renew(d->journal, dl->delivery_id, timeout_ms + LEASE_RENEW_MS, err);
	if (error == 0) {
		dl->lease_until = now + timeout_ms + LEASE_RENEW_MS;
		return 0;
	}
	/* Not sent, and not a failure: the delivery stays in the outbox,
	 * its new owner's, or ours again once the journal answers. */
	dl->not_sent = 1;
	if (error != WH_ENOTFOUND) {
		wh_error_prefix(err, "not sent: renewing its lease");
		return error;
	}
	dl->lease_lost = 1;
	return wh_error_set(err, WH_ENOTFOUND,
			    "not sent: another process has taken this delivery over");
}

static int on_prepare(struct wh_request *req, int attempt, struct curl_slist **headers,
		      struct wh_error *err, void *ctx)
{
	struct wh_dispatch *d = ctx;
	struct wh_dispatch_delivery *dl = req->userdata;
	struct header_set hs;
	int error;

	(void)attempt;
	if ((error = keep_lease(d, dl, req->timeout_ms, err)) < 0)
		return error;
	if (req->plugin_path)
		return prepare_plugin(req, attempt, err, d);
	if ((error = build_headers(&hs, d, dl, (int64_t)time(NULL), &d->messages[dl->message],
				   err)) < 0) {
		header_set_release(&hs);
		return error;
	}
	free_list(dl->attempt_headers, dl->nattempt_headers, 0);
	dl->attempt_headers = hs.masked;
	dl->nattempt_headers = hs.nmasked;
	*headers = hs.sent;
	return 0;
}

static void on_attempted(struct wh_request *req, const struct wh_attempt *at, int final,
			 long next_delay_ms, void *ctx)
{
	struct wh_dispatch *d = ctx;
	struct wh_dispatch_delivery *dl = req->userdata;
	struct wh_journal_header request_headers[128], response_headers[MAX_RESPONSE_HEADERS];
	struct wh_journal_result result;
	char *response = NULL;
	size_t nrequest = 0;
	int lease_lost = 0;
	struct wh_error err = WH_ERROR_INIT;

	(void)next_delay_ms;
	if (dl->not_sent) {
		/* keep_lease refused this attempt: nothing was sent, so there is
		 * nothing to journal (the row is another process's now, or ours
		 * to try again once the journal answers). It stays pending. */
		dl->not_sent = 0;
		dl->held = 0;
		dl->pending = 1;
		dl->outcome = WH_OUTCOME_RETRY; /* http_status: the last attempt made */
		wh_strlcpy(dl->error, at->error ? at->error : "", sizeof(dl->error));
		return;
	}
	dl->attempts++;
	dl->outcome = at->outcome;
	dl->http_status = at->http_status;
	dl->duration_ms = at->duration_ms;
	wh_strlcpy(dl->error, at->error ? at->error : "", sizeof(dl->error));
	dl->error[strcspn(dl->error, "\n")] = '\0'; /* a plugin's stderr follows: journal only */
	/* a final retry goes back to the outbox, unless its schedule is
	 * exhausted: then the journal marks it failed */
	dl->pending = final && at->outcome == WH_OUTCOME_RETRY &&
		      wh_journal_next_attempt(0, dl->deferrals) >= 0;
	if (dl->pending)
		dl->deferrals++;
	dl->held = !final && at->outcome == WH_OUTCOME_RETRY;

	if (!d->journal)
		return;
	for (size_t i = 0; i < dl->nattempt_headers && nrequest < WH_ARRAY_SIZE(request_headers);
	     i++) {
		/* "Name: value" -> name, value (the masked copy is ours to cut) */
		char *line = dl->attempt_headers[i];
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		request_headers[nrequest].name = line;
		request_headers[nrequest].value = colon[1] == ' ' ? colon + 2 : colon + 1;
		nrequest++;
	}
	memset(&result, 0, sizeof(result));
	result.outcome = journal_outcome(at->outcome);
	result.final = final;
	result.started_at = (int64_t)(at->started_at * 1000.0);
	result.duration_ms = at->duration_ms;
	result.http_status = (int)at->http_status;
	result.retry_after_ms = at->retry_after_ms > 0 ? at->retry_after_ms : 0;
	result.error = at->error && *at->error ? at->error : NULL;
	result.request_headers = request_headers;
	result.nrequest_headers = nrequest;
	if (at->response_headers && *at->response_headers &&
	    (response = strdup(at->response_headers))) {
		result.response_headers = response_headers;
		result.nresponse_headers =
		    parse_response_headers(response_headers, MAX_RESPONSE_HEADERS, response);
	}
	result.response_body = at->response_body;
	result.response_body_len = at->response_body_len;
	result.response_truncated = at->body_truncated;
	if (wh_journal_record(d->journal, dl->delivery_id, &result, &lease_lost, &err) < 0) {
		dl->journal_missing = 1;
		if (!d->journal_error.code)
			d->journal_error = err;
	}
	dl->lease_lost |= lease_lost;
	free(response);
	/* the masked lines were cut at ':' above; they are rebuilt per attempt */
	free_list(dl->attempt_headers, dl->nattempt_headers, 0);
	dl->attempt_headers = NULL;
	dl->nattempt_headers = 0;
}

/* Attempts that end together are journaled in one transaction. A batch
 * that cannot start or commit is noted like a failed record: the
 * deliveries stay pending in the outbox, never lost. */
static void on_batch(int begin, void *ctx)
{
	struct wh_dispatch *d = ctx;
	struct wh_error err = WH_ERROR_INIT;

	if (!d->journal)
		return;
	if ((begin ? wh_journal_batch_begin(d->journal, &err)
		   : wh_journal_batch_end(d->journal, &err)) < 0 &&
	    !d->journal_error.code)
		d->journal_error = err;
}

/* The message's part of a plugin request: pr's target, secrets, attempt,
 * max_attempts and deadline are the caller's to set. */
static void plugin_request_init(struct wh_plugin_request *pr, const struct wh_dispatch *d,
				const struct wh_dispatch_delivery *dl)
{
	const struct wh_dispatch_message *m = &d->messages[dl->message];

	memset(pr, 0, sizeof(*pr));
	pr->hook = m->hook;
	pr->message_id = m->id;
	pr->type = m->type;
	pr->commit = m->commit;
	pr->body = m->body;
	pr->body_len = m->body_len;
	pr->target_index = dl->target_index;
}

/* A plugin attempt's stdin request (attempt number and deadline change). */
static int prepare_plugin(struct wh_request *req, int attempt, struct wh_error *err,
			  struct wh_dispatch *d)
{
	struct wh_dispatch_delivery *dl = req->userdata;
	const struct wh_dispatch_message *m = &d->messages[dl->message];
	struct wh_plugin_request pr;

	plugin_request_init(&pr, d, dl);
	pr.target = dl->plugin_target;
	pr.secrets = (const char *const *)m->secrets;
	pr.nsecrets = m->nsecrets;
	pr.attempt = attempt;
	pr.max_attempts = req->max_attempts;
	pr.deadline = req->plugin_deadline;
	return wh_plugin_request_build(&req->plugin_input, &req->plugin_input_len, &pr, err);
}

/* The environment of this run's plugins: every variable that one of its
 * hooks references is left out (NULL when none runs a plugin). */
static char **plugin_env(const struct wh_dispatch *d, int *nomem)
{
	const struct wh_hook **hooks;
	size_t n = 0;
	int any = 0;
	char **env;

	*nomem = 0;
	for (size_t i = 0; i < d->nmessages; i++)
		any |= d->messages[i].plugin != NULL;
	if (!any)
		return NULL;
	if (!(hooks = calloc(d->nmessages, sizeof(*hooks)))) {
		*nomem = 1;
		return NULL;
	}
	for (size_t i = 0; i < d->nmessages; i++)
		hooks[n++] = d->messages[i].hook;
	env = wh_plugin_child_env(hooks, n);
	*nomem = !env;
	free(hooks);
	return env;
}

int wh_dispatch_run(struct wh_dispatch *d, struct wh_journal *journal,
		    const struct wh_deliver_options *opts, struct wh_error *err)
{
	struct wh_request *reqs;
	struct wh_deliver_callbacks cb = {on_prepare, on_attempted, on_batch};
	char **env;
	int error, nomem;

	if (!d->ndeliveries)
		return 0;
	env = plugin_env(d, &nomem);
	if (nomem || !(reqs = calloc(d->ndeliveries, sizeof(*reqs)))) {
		wh_plugin_env_free(env);
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	d->journal = journal;
	for (size_t i = 0; i < d->ndeliveries; i++) {
		struct wh_dispatch_delivery *dl = &d->deliveries[i];
		const struct wh_dispatch_message *m = &d->messages[dl->message];
		const struct wh_target *t = target_of(d, dl);
		struct wh_request *r = &reqs[i];

		dl->lease_until = wh_journal_now() + LEASE_ASSUMED_MS;
		/* a warning only: a failed lookup leaves it unset */
		if (journal && t->url)
			wh_journal_gone_before(&dl->gone_before, journal, m->hook->name, t->url,
					       dl->delivery_id, NULL);

		r->url = t->url;
		r->method = t->method;
		r->body = m->body;
		r->body_len = m->body_len;
		r->timeout_ms = m->hook->timeout_ms;
		r->tls_verify = t->tls_verify;
		r->ca_file = t->ca_file;
		r->basic_username = t->basic_username;
		r->basic_password = dl->basic_password;
		r->max_attempts = d->max_attempts > 0 ? d->max_attempts : m->hook->retry_attempts;
		r->backoff_ms = m->hook->backoff_ms;
		r->max_backoff_ms = m->hook->max_backoff_ms;
		r->userdata = dl;
		if (m->plugin) {
			r->plugin_path = m->plugin->path;
			r->plugin_env = env;
		}
	}
	error = wh_deliver_run(reqs, d->ndeliveries, opts, &cb, d, err);
	for (size_t i = 0; i < d->ndeliveries; i++) {
		struct wh_dispatch_delivery *dl = &d->deliveries[i];
		if (dl->attempts == 0 || dl->held) {
			/* its next try never started (deadline, stop): it stays
			 * pending in the outbox, free for the next claimer */
			dl->pending = 1;
			dl->held = 0;
			if (journal)
				wh_journal_release(journal, dl->delivery_id, NULL);
		}
	}
	free(reqs);
	wh_plugin_env_free(env);
	d->journal = NULL;
	return error;
}

/* --- output ------------------------------------------------------------ */

static const char *status_word(const struct wh_dispatch_delivery *dl)
{
	if (dl->pending)
		return "pending";
	switch (dl->outcome) {
	case WH_OUTCOME_DELIVERED:
		return "delivered";
	case WH_OUTCOME_GONE:
		return "gone";
	case WH_OUTCOME_FAILED:
	case WH_OUTCOME_RETRY:
		break;
	}
	return "failed";
}

/* A plugin target's dry run: the command and the request it would read on
 * stdin, first attempt, with the secrets masked and the target's fields as
 * written (references unresolved, as their values may be secrets). */
static void print_plugin_request(const struct wh_dispatch *d, const struct wh_dispatch_delivery *dl,
				 FILE *out)
{
	const struct wh_dispatch_message *m = &d->messages[dl->message];
	const struct wh_target *t = target_of(d, dl);
	const char **masked = calloc(m->nsecrets ? m->nsecrets : 1, sizeof(*masked));
	struct wh_error err = WH_ERROR_INIT;
	struct wh_plugin_request pr;
	char *text = NULL;
	size_t len = 0;

	for (size_t i = 0; masked && i < m->nsecrets; i++)
		masked[i] = "***";
	plugin_request_init(&pr, d, dl);
	pr.target = t->fields;
	pr.secrets = masked;
	pr.nsecrets = masked ? m->nsecrets : 0;
	pr.attempt = 1;
	pr.max_attempts = d->max_attempts > 0 ? d->max_attempts : m->hook->retry_attempts;
	pr.deadline = (double)time(NULL) + (double)m->hook->timeout_ms / 1000.0;
	fprintf(out, "%s deliver < request\n", m->plugin->path);
	if (!masked)
		fprintf(out, "(request: out of memory)\n");
	else if (wh_plugin_request_build(&text, &len, &pr, &err) < 0)
		fprintf(out, "(request: %s)\n", err.message);
	else
		fprintf(out, "\n%.*s\n", (int)len, text);
	free(text);
	free(masked);
}

void wh_dispatch_print_requests(const struct wh_dispatch *d, FILE *out)
{
	for (size_t i = 0; i < d->ndeliveries; i++) {
		const struct wh_dispatch_delivery *dl = &d->deliveries[i];
		const struct wh_dispatch_message *m = &d->messages[dl->message];
		const struct wh_target *t = target_of(d, dl);
		struct header_set hs;
		struct wh_error err = WH_ERROR_INIT;

		if (m->plugin) {
			fprintf(out, "%s# hook %s, target %zu (kind %s)\n", i ? "\n" : "",
				m->hook->name, dl->target_index + 1, m->hook->kind_name);
			print_plugin_request(d, dl, out);
			continue;
		}
		fprintf(out, "%s# hook %s, target %zu\n%s %s\n", i ? "\n" : "", m->hook->name,
			dl->target_index + 1, t->method, t->url ? t->url : "(plugin)");
		if (build_headers(&hs, d, dl, (int64_t)time(NULL), NULL, &err) == 0) {
			for (size_t h = 0; h < hs.nmasked; h++) {
				/* signatures are derived from secrets: show them masked too */
				const char *line = hs.masked[h];
				if (wh_journal_header_is_secret(line) ||
				    strncasecmp(line, "webhook-signature:", 18) == 0 ||
				    strncasecmp(line, "x-hub-signature-256:", 20) == 0 ||
				    strncasecmp(line, "stripe-signature:", 17) == 0 ||
				    (m->hook->signature == WH_SIGNATURE_HMAC_HEX &&
				     strncasecmp(line, m->hook->signature_header,
						 strlen(m->hook->signature_header)) == 0)) {
					const char *colon = strchr(line, ':');
					fprintf(out, "%.*s: ***\n", (int)(colon - line), line);
				} else {
					fprintf(out, "%s\n", line);
				}
			}
		} else {
			fprintf(out, "(headers: %s)\n", err.message);
		}
		header_set_release(&hs);
		if (t->basic_username)
			fprintf(out, "Authorization: Basic *** (user %s)\n", t->basic_username);
		fprintf(out, "\n%.*s\n", (int)m->body_len, m->body);
	}
}

size_t wh_dispatch_summary(const struct wh_dispatch *d, FILE *out)
{
	size_t missing = 0;

	for (size_t i = 0; i < d->ndeliveries; i++) {
		const struct wh_dispatch_delivery *dl = &d->deliveries[i];
		const struct wh_dispatch_message *m = &d->messages[dl->message];
		const struct wh_target *t = target_of(d, dl);
		const char *word = status_word(dl);
		char code[32];

		if (dl->http_status)
			snprintf(code, sizeof(code), "HTTP %ld", dl->http_status);
		else
			wh_strlcpy(code, "no response", sizeof(code));
		fprintf(out, "%-9s %s -> %s %s  %s  %ld ms  %d attempt%s  dlv_%" PRId64 "%s%s%s\n",
			word, m->hook->name, m->plugin ? m->hook->kind_name : t->method,
			t->url ? t->url : "(plugin)", code, dl->duration_ms, dl->attempts,
			dl->attempts == 1 ? "" : "s", dl->delivery_id, dl->error[0] ? "  (" : "",
			dl->error, dl->error[0] ? ")" : "");
		if (dl->outcome == WH_OUTCOME_GONE && dl->gone_before)
			fprintf(
			    out,
			    "warning: %s says %s is gone (410), as it did to " WH_JOURNAL_ID_PREFIX
			    "%" PRId64 "; remove or fix the target\n",
			    m->hook->name, t->url ? t->url : "(plugin)", dl->gone_before);
		else if (dl->outcome == WH_OUTCOME_GONE)
			fprintf(out,
				"warning: %s says %s is gone (410); remove or fix the target\n",
				m->hook->name, t->url ? t->url : "(plugin)");
		else if (dl->gone_before)
			fprintf(out,
				"warning: %s: %s answered 410 Gone to " WH_JOURNAL_ID_PREFIX
				"%" PRId64 "; attempted anyway (%s); remove or fix the target\n",
				m->hook->name, t->url ? t->url : "(plugin)", dl->gone_before,
				dl->outcome == WH_OUTCOME_DELIVERED && !dl->pending
				    ? "it accepted this one"
				    : "still not delivered");
		if (dl->outcome != WH_OUTCOME_DELIVERED && m->hook->required)
			missing++;
	}
	return missing;
}

json_t *wh_dispatch_summary_json(const struct wh_dispatch *d)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < d->ndeliveries; i++) {
		const struct wh_dispatch_delivery *dl = &d->deliveries[i];
		const struct wh_dispatch_message *m = &d->messages[dl->message];
		const struct wh_target *t = target_of(d, dl);
		char id[32], gone[32];

		snprintf(id, sizeof(id), "dlv_%" PRId64, dl->delivery_id);
		snprintf(gone, sizeof(gone), "dlv_%" PRId64, dl->gone_before);
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:i, s:i, s:I, s:s?, s:b, s:s?}",
			      "id", id, "message_id", m->id, "hook", m->hook->name, "url", t->url,
			      "method", t->method, "status", status_word(dl), "http_status",
			      (int)dl->http_status, "attempts", dl->attempts, "duration_ms",
			      (json_int_t)dl->duration_ms, "error", dl->error[0] ? dl->error : NULL,
			      "required", m->hook->required, "gone_before",
			      dl->gone_before ? gone : NULL));
	}
	return list;
}
