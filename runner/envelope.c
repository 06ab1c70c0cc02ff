/* envelope: message ids and message bodies (see envelope.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sys/random.h>

#include "envelope.h"
#include "util.h"
#include "banned.h"

/* Bodies may be as large as payloads; the payload reader caps those. */
#define BODY_CAP ((size_t)1 << 30)
/* A Slack summary shows at most this many bytes of one value ... */
#define SLACK_VALUE_MAX 120
/* ... and names at most this many clusters. */
#define SLACK_CLUSTERS_MAX 10

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_ulid_state process_state;

/* Bit k (0 = most significant) of the 128-bit big-endian id, zero before it. */
static int id_bit(const unsigned char bytes[16], int k)
{
	if (k < 0)
		return 0;
	return (bytes[k / 8] >> (7 - k % 8)) & 1;
}

/* Crockford base32 of 128 bits as 26 characters (two leading zero bits). */
static void encode_ulid(char out[27], const unsigned char bytes[16])
{
	for (int j = 0; j < 26; j++) {
		int value = 0;
		for (int b = 0; b < 5; b++)
			value = value << 1 | id_bit(bytes, j * 5 - 2 + b);
		out[j] = crockford[value];
	}
	out[26] = '\0';
}

/* Adds one to the 80-bit big-endian number; returns 1 when it wrapped. */
static int increment_random(unsigned char random[10])
{
	for (int i = 9; i >= 0; i--)
		if (++random[i] != 0)
			return 0;
	return 1;
}

int wh_envelope_new_id_at(char out[WH_MESSAGE_ID_SIZE], struct wh_ulid_state *state,
			  uint64_t now_ms, struct wh_error *err)
{
	unsigned char bytes[16], random[10];
	uint64_t ms = now_ms;
	int fresh = 1;

	if (now_ms >> 48)
		return wh_error_set(err, WH_EINTERNAL, "clock out of the ULID range");
	memcpy(random, state->last, sizeof(random));
	if (state->last_ms && ms <= state->last_ms) {
		ms = state->last_ms;
		fresh = increment_random(random);
		if (fresh)
			ms++;
	}
	/* The state changes only once the new id is certain. */
	/* The kernel's generator, not OpenSSL's: RAND_bytes first sets up a
	 * DRBG (config, providers, a cipher fetch), 6% of a one-target run. */
	if (fresh && getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
		return wh_error_set(err, WH_EINTERNAL, "getrandom failed");
	state->last_ms = ms;
	memcpy(state->last, random, sizeof(random));

	for (int i = 0; i < 6; i++)
		bytes[i] = (unsigned char)(ms >> (40 - 8 * i));
	memcpy(bytes + 6, random, 10);
	memcpy(out, "msg_", 4);
	encode_ulid(out + 4, bytes);
	return 0;
}

int wh_envelope_new_id(char out[WH_MESSAGE_ID_SIZE], struct wh_error *err)
{
	struct timespec now;
	int error;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec < 0)
		return wh_error_set(err, WH_EINTERNAL, "cannot read the clock");
	pthread_mutex_lock(&process_lock);
	error = wh_envelope_new_id_at(out, &process_state,
				      (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000,
				      err);
	pthread_mutex_unlock(&process_lock);
	return error;
}

static int crockford_value(char c)
{
	const char *p = c ? strchr(crockford, c) : NULL;
	return p ? (int)(p - crockford) : -1;
}

int wh_envelope_id_valid(const char *text)
{
	if (strncmp(text, "msg_", 4) != 0 || strlen(text) != WH_MESSAGE_ID_LEN)
		return 0;
	for (int i = 4; i < WH_MESSAGE_ID_LEN; i++)
		if (crockford_value(text[i]) < 0)
			return 0;
	return crockford_value(text[4]) <= 7;
}

uint64_t wh_envelope_id_time_ms(const char *id)
{
	uint64_t ms = 0;

	for (int i = 4; i < 14; i++)
		ms = ms << 5 | (uint64_t)crockford_value(id[i]);
	return ms;
}

int wh_envelope_format_time(char out[WH_TIMESTAMP_SIZE], time_t t, struct wh_error *err)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 ||
	    strftime(out, WH_TIMESTAMP_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) != WH_TIMESTAMP_SIZE - 1)
		return wh_error_set(err, WH_EINTERNAL, "cannot format time %lld", (long long)t);
	return 0;
}

/* The payload text without the JSON whitespace around it. */
static int trimmed_data(const char **start, size_t *len, const struct wh_envelope *msg,
			struct wh_error *err)
{
	const char *p = msg->data ? msg->data : "";
	size_t n = msg->data ? msg->data_len : 0;

	while (n && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (!n)
		return wh_error_set(err, WH_EPAYLOAD, "the payload is empty");
	*start = p;
	*len = n;
	return 0;
}

static int set_string(json_t *object, const char *key, const char *value, struct wh_error *err)
{
	json_t *string = json_string(value ? value : "");

	if (!string)
		return wh_error_set(err, WH_EINTERNAL, "message field '%s' is not valid UTF-8",
				    key);
	if (json_object_set_new(object, key, string) != 0)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	return 0;
}

int wh_envelope_standard(char **out, size_t *out_len, const struct wh_envelope *msg,
			 struct wh_error *err)
{
	json_t *head = json_object(), *config = json_object();
	struct wh_buf body = WH_BUF_INIT(BODY_CAP);
	char created[WH_TIMESTAMP_SIZE];
	char *head_text = NULL;
	const char *data;
	size_t data_len, head_len;
	int error = 0;

	*out = NULL;
	*out_len = 0;
	if ((error = trimmed_data(&data, &data_len, msg, err)) < 0 ||
	    (error = wh_envelope_format_time(created, msg->created, err)) < 0)
		goto out;
	if (!head || !config) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = set_string(head, "id", msg->id, err)) < 0 ||
	    (error = set_string(head, "type", msg->type, err)) < 0 ||
	    (error = set_string(head, "timestamp", created, err)) < 0 ||
	    (error = set_string(head, "hook", msg->hook, err)) < 0 ||
	    (error = set_string(config, "commit", msg->commit, err)) < 0)
		goto out;
	if (json_object_set(head, "config", config) != 0 ||
	    !(head_text = json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	/* head_text ends with '}': reopen the object to splice the data in. */
	head_len = strlen(head_text);
	if (wh_buf_add(&body, head_text, head_len - 1) < 0 ||
	    wh_buf_adds(&body, ",\"data\":") < 0 || wh_buf_add(&body, data, data_len) < 0 ||
	    wh_buf_adds(&body, "}") < 0) {
		error = wh_error_set(err, WH_ENOMEM, "message body too large or out of memory");
		goto out;
	}
	*out_len = body.len;
	*out = wh_buf_detach(&body);
out:
	wh_buf_release(&body);
	free(head_text);
	json_decref(config);
	json_decref(head);
	return error;
}

int wh_envelope_raw(char **out, size_t *out_len, const struct wh_envelope *msg,
		    struct wh_error *err)
{
	const char *data;
	size_t data_len;
	int error;

	*out = NULL;
	*out_len = 0;
	if ((error = trimmed_data(&data, &data_len, msg, err)) < 0)
		return error;
	if (!(*out = malloc(data_len + 1)))
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	memcpy(*out, data, data_len);
	(*out)[data_len] = '\0';
	*out_len = data_len;
	return 0;
}

/* The value at a '/'-separated path of object keys, or NULL. */
static const json_t *lookup(const json_t *root, const char *path)
{
	const json_t *node = root;
	char key[64];

	while (node && *path == '/') {
		size_t n = strcspn(path + 1, "/");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path + 1, n);
		key[n] = '\0';
		node = json_object_get(node, key);
		path += 1 + n;
	}
	return node;
}

/* Appends text with Slack's control characters escaped, at most max bytes
 * of it (cut on a UTF-8 boundary, marked with an ellipsis). */
static int add_slack_text(struct wh_buf *buf, const char *text, size_t max)
{
	size_t len = strlen(text), n = len;
	int error = 0;

	if (n > max) {
		n = max;
		while (n && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && !error; i++) {
		switch (text[i]) {
		case '&':
			error = wh_buf_adds(buf, "&amp;");
			break;
		case '<':
			error = wh_buf_adds(buf, "&lt;");
			break;
		case '>':
			error = wh_buf_adds(buf, "&gt;");
			break;
		case '\n':
		case '\r':
		case '\t':
			error = wh_buf_adds(buf, " ");
			break;
		default:
			error = wh_buf_add(buf, text + i, 1);
		}
	}
	if (!error && n < len)
		error = wh_buf_adds(buf, "\xE2\x80\xA6");
	return error;
}

/* A string or number as text into out; 0 when the value is neither. */
static int scalar_text(char *out, size_t size, const json_t *value)
{
	if (json_is_string(value))
		wh_strlcpy(out, json_string_value(value), size);
	else if (json_is_integer(value))
		snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
	else if (json_is_real(value))
		snprintf(out, size, "%.17g", json_real_value(value));
	else
		return 0;
	return out[0] != '\0';
}

/* Appends " · label value" (or "label value" first on the line). */
static int add_field(struct wh_buf *buf, int *first, const char *label, const json_t *value)
{
	char text[SLACK_VALUE_MAX * 4];
	int error = 0;

	if (!scalar_text(text, sizeof(text), value))
		return 0;
	if (!*first)
		error = wh_buf_adds(buf, " \xC2\xB7 ");
	*first = 0;
	if (!error && label[0])
		error = wh_buf_addf(buf, "%s ", label);
	if (!error)
		error = add_slack_text(buf, text, SLACK_VALUE_MAX);
	return error;
}

/* " (environment)" after a cluster's name, when it has one. */
static int add_environment(struct wh_buf *buf, const json_t *environment)
{
	char text[SLACK_VALUE_MAX * 4];
	int error;

	if (!scalar_text(text, sizeof(text), environment))
		return 0;
	if ((error = wh_buf_adds(buf, " (")) < 0 ||
	    (error = add_slack_text(buf, text, SLACK_VALUE_MAX)) < 0)
		return error;
	return wh_buf_adds(buf, ")");
}

static int add_clusters(struct wh_buf *buf, int *first, const json_t *payload)
{
	const json_t *cluster = lookup(payload, "/cluster"),
		     *clusters = lookup(payload, "/clusters");
	const json_t *name = lookup(cluster, "/name");
	size_t shown = 0, count = json_array_size(clusters);
	int error = 0;

	if (json_is_string(name)) {
		if ((error = add_field(buf, first, "cluster", name)) < 0)
			return error;
		return add_environment(buf, lookup(cluster, "/environment"));
	}
	for (size_t i = 0; i < count && !error; i++) {
		const json_t *item = json_array_get(clusters, i);
		name = lookup(item, "/name");
		if (!json_is_string(name))
			continue;
		if (shown == SLACK_CLUSTERS_MAX) {
			error = wh_buf_addf(buf, " and %zu more", count - i);
			break;
		}
		if (shown)
			error = wh_buf_adds(buf, ", ");
		if (!error)
			error = shown
				    ? add_slack_text(buf, json_string_value(name), SLACK_VALUE_MAX)
				    : add_field(buf, first, "clusters", name);
		if (!error)
			error = add_environment(buf, lookup(item, "/environment"));
		shown++;
	}
	if (!error && !shown)
		error = add_field(buf, first, "environment", lookup(payload, "/environment"));
	return error;
}

static const json_t *first_of(const json_t *payload, const char *const *paths)
{
	for (; *paths; paths++) {
		const json_t *value = lookup(payload, *paths);
		if (json_is_string(value) || json_is_number(value))
			return value;
	}
	return NULL;
}

/* Appends " · label from → to" when both are strings. */
static int add_change(struct wh_buf *buf, int *first, const char *label, const json_t *from,
		      const json_t *to)
{
	int error;

	if (!json_is_string(from) || !json_is_string(to))
		return 0;
	if ((error = add_field(buf, first, label, from)) < 0 ||
	    (error = wh_buf_adds(buf, " \xE2\x86\x92 ")) < 0)
		return error;
	return add_slack_text(buf, json_string_value(to), SLACK_VALUE_MAX);
}

static const char *const version_paths[] = {"/deploy/version", "/version", "/release/version",
					    "/build/version", NULL};
static const char *const actor_paths[] = {
    "/actor/name", "/user/name", "/actor/login", "/user/login", "/actor", "/user", NULL};
static const char *const reason_paths[] = {"/reason", "/rollback/reason", NULL};

/* The payload's key fields, one line; nothing when none exist. */
static int add_payload_summary(struct wh_buf *buf, const json_t *payload)
{
	const json_t *from = lookup(payload, "/rollback/from_version");
	const json_t *to = lookup(payload, "/rollback/to_version");
	const json_t *reason = first_of(payload, reason_paths);
	size_t line_start;
	int first = 1, error = 0;

	if ((error = wh_buf_adds(buf, "\n")) < 0)
		return error;
	line_start = buf->len;
	if ((error = add_field(buf, &first, "application", lookup(payload, "/application/name"))) <
		0 ||
	    (error = add_clusters(buf, &first, payload)) < 0)
		return error;
	if (json_is_string(from) && json_is_string(to))
		error = add_change(buf, &first, "version", from, to);
	else
		error = add_field(buf, &first, "version", first_of(payload, version_paths));
	if (error < 0 ||
	    (error = add_change(buf, &first, "owner", lookup(payload, "/transfer/from/name"),
				lookup(payload, "/transfer/to/name"))) < 0)
		return error;
	if ((error = add_field(buf, &first, "by", first_of(payload, actor_paths))) < 0)
		return error;
	if (buf->len == line_start) /* nothing found: drop the empty line */
		buf->len--, buf->ptr[buf->len] = '\0';
	if (json_is_string(reason)) {
		first = 1;
		if ((error = wh_buf_adds(buf, "\n")) < 0 ||
		    (error = add_field(buf, &first, "reason:", reason)) < 0)
			return error;
	}
	return 0;
}

static json_t *parse_payload(const char *data, size_t len)
{
	json_t *payload = json_loadb(data, len, JSON_DECODE_ANY, NULL);

	/* jansson refuses integers beyond 64 bits; reals are enough to read a
	 * summary from. */
	if (!payload)
		payload = json_loadb(data, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
	return payload;
}

int wh_envelope_slack(char **out, size_t *out_len, const struct wh_envelope *msg,
		      struct wh_error *err)
{
	struct wh_buf text = WH_BUF_INIT(1 << 16);
	json_t *payload = NULL, *body = NULL;
	const json_t *message;
	char short_commit[8];
	const char *data;
	size_t data_len;
	int error = 0;

	*out = NULL;
	*out_len = 0;
	if ((error = trimmed_data(&data, &data_len, msg, err)) < 0)
		goto out;
	payload = parse_payload(data, data_len);
	wh_strlcpy(short_commit, msg->commit ? msg->commit : "", sizeof(short_commit));

	if ((error = wh_buf_adds(&text, "whrun: *")) < 0 ||
	    (error = add_slack_text(&text, msg->type ? msg->type : "", SLACK_VALUE_MAX)) < 0 ||
	    (error = wh_buf_adds(&text, "* (hook ")) < 0 ||
	    (error = add_slack_text(&text, msg->hook ? msg->hook : "", SLACK_VALUE_MAX)) < 0 ||
	    (error = wh_buf_adds(&text, ")")) < 0)
		goto nomem;
	if (payload && (error = add_payload_summary(&text, payload)) < 0)
		goto nomem;
	message = lookup(payload, "/message");
	if (msg->type && strcmp(msg->type, "ping") == 0 && json_is_string(message) &&
	    ((error = wh_buf_adds(&text, "\n")) < 0 ||
	     (error = add_slack_text(&text, json_string_value(message), SLACK_VALUE_MAX)) < 0))
		goto nomem;
	if (short_commit[0] && (error = wh_buf_addf(&text, "\nconfig %s", short_commit)) < 0)
		goto nomem;

	if (!(body = json_object()) || (error = set_string(body, "text", text.ptr, err)) < 0) {
		if (!error)
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if (!(*out = json_dumps(body, JSON_COMPACT))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	*out_len = strlen(*out);
	goto out;
nomem:
	error = wh_error_set(err, WH_ENOMEM, "slack message too large or out of memory");
out:
	json_decref(body);
	json_decref(payload);
	wh_buf_release(&text);
	return error;
}

int wh_envelope_body(char **out, size_t *out_len, enum wh_kind kind, const struct wh_envelope *msg,
		     struct wh_error *err)
{
	switch (kind) {
	case WH_KIND_RAW:
		return wh_envelope_raw(out, out_len, msg, err);
	case WH_KIND_SLACK:
		return wh_envelope_slack(out, out_len, msg, err);
	case WH_KIND_STANDARD:
	case WH_KIND_PLUGIN:
		break;
	}
	return wh_envelope_standard(out, out_len, msg, err);
}

int wh_envelope_ping_data(char **out, size_t *out_len, const char *hook, const char *commit,
			  struct wh_error *err)
{
	json_t *data = json_object();
	int error = 0;

	*out = NULL;
	*out_len = 0;
	if (!data) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = set_string(data, "hook", hook, err)) < 0 ||
	    (error = set_string(data, "commit", commit, err)) < 0 ||
	    (error = set_string(data, "message", "ping from whrun", err)) < 0)
		goto out;
	if (!(*out = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	*out_len = strlen(*out);
out:
	json_decref(data);
	return error;
}
