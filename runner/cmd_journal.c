/*
 * cmd_journal: `whrun deliveries` (the journal, newest first) and `whrun
 * show ID` (one delivery, or every delivery of a message: the request as
 * sent and every attempt), in text or json, over journal.c.
 *
 * `deliveries` shows the newest DEFAULT_LIMIT (50) rows unless --limit says
 * otherwise, in both outputs. `show --output json` prints one object for a
 * delivery id and an array of them for a message id.
 *
 * Both only read: neither creates the state directory nor the journal. With
 * no journal yet, `deliveries` prints "no deliveries yet" (json: []) and
 * exits 0; `show` reports the id as not found, which exits 3 like the other
 * lookups of something that is not there (SPEC 7 has no code of its own
 * for it, and 2 would wrongly suggest the command line was malformed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "journal.h"
#include "util.h"
#include "banned.h"

#define DEFAULT_LIMIT 50

static json_t *time_json(int64_t ms)
{
	char text[40];

	if (!ms)
		return json_null();
	wh_journal_format_time(text, sizeof(text), ms);
	return json_string(text);
}

static json_t *text_json(const char *text)
{
	return text ? json_string(text) : json_null();
}

/* Bytes as a JSON string, or a placeholder when they are not UTF-8. */
static json_t *bytes_json(const char *bytes, size_t len)
{
	json_t *v;

	if (!bytes)
		return json_null();
	if ((v = json_stringn(bytes, len)))
		return v;
	return json_sprintf("[%zu bytes, not UTF-8]", len);
}

/* A stored JSON object text back as JSON ({} when absent). */
static json_t *headers_value(const char *text)
{
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;
	return v ? v : json_object();
}

static json_t *delivery_json(const struct wh_journal *journal, const struct wh_journal_delivery *d,
			     int64_t now)
{
	json_t *o = json_object();
	char id[40];

	if (!o)
		return NULL;
	snprintf(id, sizeof(id), WH_JOURNAL_ID_PREFIX "%" PRId64, d->id);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "message_id", text_json(d->message_id));
	json_object_set_new(o, "hook", text_json(d->hook));
	json_object_set_new(o, "stage", text_json(d->stage));
	json_object_set_new(o, "kind", text_json(d->kind));
	json_object_set_new(o, "target_index", json_integer((json_int_t)d->target_index));
	json_object_set_new(o, "method", text_json(d->method));
	json_object_set_new(o, "url", text_json(d->url));
	json_object_set_new(o, "status", json_string(wh_journal_status_name(d->status)));
	json_object_set_new(o, "in_flight", json_boolean(wh_journal_lease_held(journal, d, now)));
	json_object_set_new(o, "attempts", json_integer(d->attempts));
	json_object_set_new(o, "http_status",
			    d->http_status ? json_integer(d->http_status) : json_null());
	json_object_set_new(o, "last_error", text_json(d->last_error));
	json_object_set_new(o, "next_attempt_at",
			    d->status == WH_JOURNAL_PENDING ? time_json(d->next_attempt_at)
							    : json_null());
	json_object_set_new(o, "config_commit", text_json(d->config_commit));
	json_object_set_new(o, "created_at", time_json(d->created_at));
	json_object_set_new(o, "updated_at", time_json(d->updated_at));
	return o;
}

static int open_existing(struct wh_journal **out, const struct wh_options *opts,
			 struct wh_error *err)
{
	char *dir = NULL;
	int error;

	if ((error = wh_journal_state_dir(&dir, opts->state_dir, err)) == 0)
		error = wh_journal_open(out, dir, WH_JOURNAL_EXISTING, err);
	free(dir);
	return error;
}

/* Seconds-precision time for the table. */
static void short_time(char *out, size_t size, int64_t ms)
{
	char full[40];
	char *dot;

	wh_journal_format_time(full, sizeof(full), ms);
	if ((dot = strchr(full, '.')))
		memcpy(dot, "Z", 2);
	wh_strlcpy(out, full, size);
}

static void print_table(const struct wh_journal *journal, const struct wh_journal_deliveries *list,
			int64_t now)
{
	enum { ID, TIME, HOOK, STAGE, STATUS, ATTEMPTS, HTTP, URL, NCOLS };
	static const char *const titles[NCOLS] = {"ID",	    "TIME",	"HOOK", "STAGE",
						  "STATUS", "ATTEMPTS", "HTTP", "URL"};
	size_t width[NCOLS];
	char cells[NCOLS][160];

	for (int c = 0; c < NCOLS; c++)
		width[c] = strlen(titles[c]);
	/* Two passes: measure, then print. URL is last and never padded. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (int c = 0; c < NCOLS; c++)
				if (c == URL)
					printf("%s\n", titles[c]);
				else
					printf("%-*s  ", (int)width[c], titles[c]);
		}
		for (size_t i = 0; i < list->count; i++) {
			const struct wh_journal_delivery *d = &list->items[i];

			snprintf(cells[ID], sizeof(cells[ID]), WH_JOURNAL_ID_PREFIX "%" PRId64,
				 d->id);
			short_time(cells[TIME], sizeof(cells[TIME]), d->created_at);
			snprintf(cells[HOOK], sizeof(cells[HOOK]), "%s", d->hook);
			snprintf(cells[STAGE], sizeof(cells[STAGE]), "%s", d->stage);
			snprintf(cells[STATUS], sizeof(cells[STATUS]), "%s%s",
				 wh_journal_status_name(d->status),
				 wh_journal_lease_held(journal, d, now) ? " (in flight)" : "");
			snprintf(cells[ATTEMPTS], sizeof(cells[ATTEMPTS]), "%d", d->attempts);
			if (d->http_status)
				snprintf(cells[HTTP], sizeof(cells[HTTP]), "%d", d->http_status);
			else
				snprintf(cells[HTTP], sizeof(cells[HTTP]), "-");
			for (int c = 0; c < URL; c++) {
				if (pass == 0 && strlen(cells[c]) > width[c])
					width[c] = strlen(cells[c]);
				if (pass == 1)
					printf("%-*s  ", (int)width[c], cells[c]);
			}
			if (pass == 1)
				printf("%s\n", d->url);
		}
	}
}

int wh_cmd_deliveries(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_journal *journal = NULL;
	struct wh_journal_deliveries list = {0};
	struct wh_journal_list_filter filter = {opts->hook, opts->stage, -1, DEFAULT_LIMIT};
	int64_t now = wh_journal_now();
	json_t *array = NULL;
	int error;

	if (opts->status && (filter.status = wh_journal_status_parse(opts->status)) < 0)
		return wh_error_set(err, WH_EUSAGE,
				    "--status expects pending, delivered, failed or gone, not '%s'",
				    opts->status);
	if (opts->limit > 0)
		filter.limit = (size_t)opts->limit;

	error = open_existing(&journal, opts, err);
	if (error == WH_ENOTFOUND) {
		wh_error_clear(err);
		if (opts->output == WH_OUTPUT_JSON)
			return wh_print_json(json_array(), err);
		printf("no deliveries yet\n");
		return 0;
	}
	if (error < 0 || (error = wh_journal_list(&list, journal, &filter, err)) < 0)
		goto out;

	if (opts->output == WH_OUTPUT_JSON) {
		if (!(array = json_array())) {
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < list.count; i++)
			json_array_append_new(array, delivery_json(journal, &list.items[i], now));
		error = wh_print_json(array, err);
	} else if (list.count == 0) {
		printf("no matching deliveries\n");
	} else {
		print_table(journal, &list, now);
	}
out:
	wh_journal_deliveries_release(&list);
	wh_journal_close(journal);
	return error;
}

/* --- show ------------------------------------------------------------------ */

static void print_headers(const char *text, const char *indent)
{
	json_t *headers = headers_value(text);
	const char *name;
	json_t *value;

	json_object_foreach(headers, name, value)
	    printf("%s%s: %s\n", indent, name, json_string_value(value));
	json_decref(headers);
}

/* Prints bytes, indented, line by line. */
static void print_body(const char *body, size_t len, const char *indent)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || body[i] == '\n') {
			if (i == len && start == len)
				break;
			printf("%s", indent);
			fwrite(body + start, 1, i - start, stdout);
			putchar('\n');
			start = i + 1;
		}
	}
}

static void print_delivery_text(const struct wh_journal *journal,
				const struct wh_journal_delivery *d,
				const struct wh_journal_stored_message *m,
				const struct wh_journal_attempts *attempts, int64_t now)
{
	char created[40], next[40], when[40];
	const struct wh_journal_attempt *last =
	    attempts->count ? &attempts->items[attempts->count - 1] : NULL;

	wh_journal_format_time(created, sizeof(created), d->created_at);
	printf("delivery " WH_JOURNAL_ID_PREFIX "%" PRId64 "\n", d->id);
	printf("  message:  %s (%s, kind %s)\n", d->message_id, d->stage, d->kind);
	printf("  hook:     %s, target %zu\n", d->hook, d->target_index + 1);
	printf("  config:   %s\n", d->config_commit);
	printf("  created:  %s\n", created);
	printf("  status:   %s", wh_journal_status_name(d->status));
	if (d->status == WH_JOURNAL_PENDING) {
		wh_journal_format_time(next, sizeof(next), d->next_attempt_at);
		if (wh_journal_lease_held(journal, d, now))
			printf(" (in flight, process %s)", d->lease_owner);
		else
			printf(" (next attempt %s)", next);
	}
	printf(", %d attempt%s", d->attempts, d->attempts == 1 ? "" : "s");
	if (d->last_error)
		printf(", last error: %s", d->last_error);
	if (wh_kind_of(d->kind) == WH_KIND_PLUGIN) {
		/* no headers: the plugin read the envelope below on stdin */
		printf("\n\nrequest:\n  whrun-kind-%s deliver (plugin kind; its stdin request "
		       "holds the envelope below)\n",
		       d->kind);
	} else {
		printf("\n\nrequest:\n  %s %s\n", d->method, d->url);
		if (last)
			print_headers(last->request_headers, "  ");
		else
			printf("  (not sent yet: headers are set per attempt)\n");
	}
	printf("\n");
	print_body(m->body, m->body_len, "  ");

	for (size_t i = 0; i < attempts->count; i++) {
		const struct wh_journal_attempt *a = &attempts->items[i];

		wh_journal_format_time(when, sizeof(when), a->started_at);
		printf("\nattempt %d  %s  %" PRId64 " ms  ", a->number, when, a->duration_ms);
		if (a->http_status)
			printf("HTTP %d  ", a->http_status);
		else
			printf("no response  ");
		printf("%s\n", wh_journal_outcome_name(a->outcome));
		if (a->error)
			printf("  error: %s\n", a->error);
		if (a->response_headers) {
			printf("  response headers:\n");
			print_headers(a->response_headers, "    ");
		}
		if (a->response_body) {
			printf("  response body%s:\n", a->response_truncated ? " (truncated)" : "");
			print_body(a->response_body, a->response_body_len, "    ");
		}
	}
}

static json_t *delivery_detail_json(const struct wh_journal *journal,
				    const struct wh_journal_delivery *d,
				    const struct wh_journal_stored_message *m,
				    const struct wh_journal_attempts *attempts, int64_t now)
{
	json_t *o = delivery_json(journal, d, now), *message, *request, *list;
	const struct wh_journal_attempt *last =
	    attempts->count ? &attempts->items[attempts->count - 1] : NULL;
	json_t *envelope = m->envelope ? json_loads(m->envelope, 0, NULL) : NULL;

	message =
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", text_json(m->id), "type",
		      text_json(m->type), "hook", text_json(m->hook), "kind", text_json(m->kind),
		      "config_commit", text_json(m->config_commit), "created_at",
		      time_json(m->created_at), "envelope", envelope ? envelope : json_null());
	request = json_pack("{s:o, s:o, s:o, s:o}", "method", text_json(d->method), "url",
			    text_json(d->url), "headers",
			    last ? headers_value(last->request_headers) : json_object(), "body",
			    bytes_json(m->body, m->body_len));
	list = json_array();
	for (size_t i = 0; list && i < attempts->count; i++) {
		const struct wh_journal_attempt *a = &attempts->items[i];
		json_array_append_new(
		    list, json_pack("{s:i, s:o, s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:o}",
				    "number", a->number, "started_at", time_json(a->started_at),
				    "duration_ms", (json_int_t)a->duration_ms, "http_status",
				    a->http_status ? json_integer(a->http_status) : json_null(),
				    "outcome", wh_journal_outcome_name(a->outcome), "error",
				    text_json(a->error), "request_headers",
				    headers_value(a->request_headers), "response_headers",
				    headers_value(a->response_headers), "response_body",
				    bytes_json(a->response_body, a->response_body_len),
				    "response_truncated", a->response_truncated, "process",
				    text_json(a->lease_owner)));
	}
	if (!o || !message || !request || !list) {
		json_decref(o);
		json_decref(message);
		json_decref(request);
		json_decref(list);
		return NULL;
	}
	json_object_set_new(o, "message", message);
	json_object_set_new(o, "request", request);
	json_object_set_new(o, "attempts", list);
	return o;
}

int wh_cmd_show(const struct wh_options *opts, struct wh_error *err)
{
	const char *id = opts->args[0];
	struct wh_journal *journal = NULL;
	struct wh_journal_deliveries list = {0};
	int64_t now = wh_journal_now();
	json_t *array = NULL;
	int error;

	error = open_existing(&journal, opts, err);
	if (error == WH_ENOTFOUND) {
		wh_error_clear(err);
		return wh_error_set(err, WH_ENOTFOUND,
				    "no delivery or message '%s': there are no deliveries yet", id);
	}
	if (error < 0 || (error = wh_journal_lookup(&list, journal, id, err)) < 0)
		goto out;
	if (opts->output == WH_OUTPUT_JSON && !(array = json_array())) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < list.count; i++) {
		const struct wh_journal_delivery *d = &list.items[i];
		struct wh_journal_stored_message m = {0};
		struct wh_journal_attempts attempts = {0};

		if ((error = wh_journal_get_message(&m, journal, d->message_id, err)) == 0 &&
		    (error = wh_journal_get_attempts(&attempts, journal, d->id, err)) == 0) {
			if (array) {
				json_t *o = delivery_detail_json(journal, d, &m, &attempts, now);
				if (!o || json_array_append_new(array, o) < 0)
					error = wh_error_set(err, WH_ENOMEM, "out of memory");
			} else {
				if (i)
					printf("\n");
				print_delivery_text(journal, d, &m, &attempts, now);
			}
		}
		wh_journal_attempts_release(&attempts);
		wh_journal_message_release(&m);
		if (error < 0)
			goto out;
	}
	if (array) {
		/* A delivery id shows one object; a message id, an array. */
		json_t *value = strncmp(id, "msg_", 4) == 0 ? json_incref(array)
							    : json_incref(json_array_get(array, 0));
		error = wh_print_json(value, err);
	}
out:
	json_decref(array);
	wh_journal_deliveries_release(&list);
	wh_journal_close(journal);
	return error;
}
