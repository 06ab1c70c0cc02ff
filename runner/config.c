/*
 * config: definitions model, defaults merge and semantic checks (see
 * config.h). Checks never stop at the first finding: `validate` reports
 * every problem of every file at once.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "util.h"
#include "yaml.h"
#include "banned.h"

const char *const wh_builtin_stages[] = {
    "applications_created",    "application_deleted",
    "application_transferred", "cluster_created",
    "cluster_deleted",	       "clusters_builddeployed",
    "clusters_deployed",       "clusters_rollbacked",
    "clusters_freed",	       NULL,
};

const char *const wh_reserved_headers[] = {
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "expect",
    NULL,
};

/* Hook keys the definition format knows; others are schema errors, and
 * reported here too when the schema could not run. */
static const char *const hook_keys[] = {
    "name",    "description", "enabled",	  "events", "kind",
    "filter",  "signature",   "signature_header", "secret", "required",
    "timeout", "retry",	      "targets",	  NULL,
};

static const char *const target_keys[] = {
    "url", "method", "headers", "tls_verify", "ca_file", "basic_auth", NULL,
};

int wh_stage_is_builtin(const char *stage)
{
	for (size_t i = 0; wh_builtin_stages[i]; i++)
		if (strcmp(wh_builtin_stages[i], stage) == 0)
			return 1;
	return 0;
}

static int in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

long wh_duration_parse(const char *text)
{
	long value = 0, unit;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (value > 100000000L)
			return -1;
		value = value * 10 + (*p++ - '0');
	}
	if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * 1000;
	else
		return -1;
	if (value > 24L * 3600 * 1000 / unit)
		return -1;
	return value * unit;
}

int wh_is_secret_reference(const char *text)
{
	size_t len = strlen(text);
	const char *body;

	if (len < 4 || text[0] != '$' || text[1] != '{' || text[len - 1] != '}')
		return 0;
	if (strncmp(text + 2, "env:", 4) == 0)
		body = text + 6;
	else if (strncmp(text + 2, "file:", 5) == 0)
		body = text + 7;
	else
		return 0;
	if (body >= text + len - 1)
		return 0;
	for (const char *p = body; p < text + len - 1; p++)
		if (*p == '}' || *p == '{' || *p == '$')
			return 0;
	return 1;
}

void wh_config_init(struct wh_config *config)
{
	memset(config, 0, sizeof(*config));
	config->schemas = json_object();
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void hook_release(struct wh_hook *hook)
{
	free(hook->name);
	free(hook->description);
	free_strings(hook->events, hook->nevents);
	free(hook->kind_name);
	for (size_t i = 0; i < hook->nfilters; i++) {
		free(hook->filters[i].pointer);
		free_strings(hook->filters[i].globs, hook->filters[i].nglobs);
	}
	free(hook->filters);
	free(hook->signature_header);
	for (size_t i = 0; i < hook->nsecrets; i++)
		free(hook->secrets[i]);
	for (size_t i = 0; i < hook->ntargets; i++) {
		struct wh_target *t = &hook->targets[i];
		free(t->url);
		free(t->method);
		for (size_t h = 0; h < t->nheaders; h++) {
			free(t->headers[h].name);
			free(t->headers[h].value);
		}
		free(t->headers);
		free(t->ca_file);
		free(t->basic_username);
		free(t->basic_password);
		json_decref(t->fields);
	}
	free(hook->targets);
	json_decref(hook->definition);
	free(hook->file);
	memset(hook, 0, sizeof(*hook));
}

void wh_config_truncate(struct wh_config *config, size_t n)
{
	while (config->nhooks > n)
		hook_release(&config->hooks[--config->nhooks]);
}

void wh_config_release(struct wh_config *config)
{
	if (!config)
		return;
	for (size_t i = 0; i < config->nhooks; i++)
		hook_release(&config->hooks[i]);
	free(config->hooks);
	json_decref(config->schemas);
	memset(config, 0, sizeof(*config));
}

/* --- locations --------------------------------------------------------- */

/* What one file's checks share: where findings go and how to locate them. */
struct file_ctx {
	const char *path;
	const json_t *positions;
	struct wh_diags *diags;
	int nomem;
};

/* Where pointer (or its nearest ancestor with a position) was written. */
static void locate(const struct file_ctx *ctx, const char *pointer, int want_key, int *line,
		   int *column)
{
	wh_yaml_position(line, column, ctx->positions, pointer, want_key);
}

static void report(struct file_ctx *ctx, enum wh_severity severity, const char *pointer,
		   int want_key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct file_ctx *ctx, enum wh_severity severity, const char *pointer,
		   int want_key, const char *fmt, ...)
{
	va_list ap;
	char *message;
	int line, column;

	va_start(ap, fmt);
	message = wh_vstrdupf(fmt, ap);
	va_end(ap);
	if (!message) {
		ctx->nomem = 1;
		return;
	}
	locate(ctx, pointer, want_key, &line, &column);
	if (wh_diags_add(ctx->diags, severity, ctx->path, line, column, "%s", message) < 0)
		ctx->nomem = 1;
	free(message);
}

/* Appends "/" + key escaped per RFC 6901 to base (truncated to size). */
static void pointer_join(char *out, size_t size, const char *base, const char *key)
{
	size_t n = 0;

	if (!size)
		return;
	while (*base && n + 1 < size)
		out[n++] = *base++;
	if (n + 1 < size)
		out[n++] = '/';
	for (; *key && n + 1 < size; key++) {
		if ((*key == '~' || *key == '/') && n + 2 < size) {
			out[n++] = '~';
			out[n++] = *key == '~' ? '0' : '1';
		} else if (*key != '~' && *key != '/') {
			out[n++] = *key;
		} else {
			break;
		}
	}
	out[n] = '\0';
}

static void pointer_index(char *out, size_t size, const char *base, size_t index)
{
	char digits[24];
	size_t n = sizeof(digits);

	/* pointer_join(base, "%zu") without snprintf: this runs for every target */
	digits[--n] = '\0';
	do
		digits[--n] = (char)('0' + index % 10);
	while ((index /= 10) != 0);
	pointer_join(out, size, base, digits + n);
}

/* --- hooks ------------------------------------------------------------- */

/* One hook being built: the merged JSON and, for locating each key, the
 * pointer it came from (the hook itself or the file's defaults). */
struct hook_ctx {
	struct file_ctx *file;
	json_t *merged;
	char hook_ptr[64];
	const json_t *own;
	const char *name; /* for messages; "" until known */
};

static void key_pointer(const struct hook_ctx *h, const char *key, char *out, size_t size)
{
	if (json_object_get(h->own, key))
		pointer_join(out, size, h->hook_ptr, key);
	else
		pointer_join(out, size, "/defaults", key);
}

static char *dup_or_flag(struct file_ctx *ctx, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ctx->nomem = 1;
	return d;
}

static const char *hook_label(const struct hook_ctx *h)
{
	return h->name && *h->name ? h->name : "(unnamed hook)";
}

static int check_name(struct hook_ctx *h, struct wh_hook *hook)
{
	char ptr[128];
	const json_t *v = json_object_get(h->merged, "name");
	const char *name;
	size_t len;

	key_pointer(h, "name", ptr, sizeof(ptr));
	if (!json_is_string(v)) {
		report(h->file, WH_SEVERITY_ERROR, h->hook_ptr, 0,
		       "webhook has no 'name' (a string is required)");
		return -1;
	}
	name = json_string_value(v);
	len = strlen(name);
	int ok = len >= 1 && len <= 64 &&
		 (islower((unsigned char)name[0]) || isdigit((unsigned char)name[0]));
	for (size_t i = 0; ok && i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		ok = islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-';
	}
	if (!ok) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "invalid hook name '%s': use 1-64 characters of a-z, 0-9, '.', '_', '-', "
		       "starting with a letter or digit",
		       name);
		return -1;
	}
	hook->name = dup_or_flag(h->file, name);
	h->name = name;
	return 0;
}

static int get_bool(struct hook_ctx *h, const char *key, int fallback)
{
	const json_t *v = json_object_get(h->merged, key);
	char ptr[128];

	if (!v)
		return fallback;
	if (json_is_boolean(v))
		return json_is_true(v);
	key_pointer(h, key, ptr, sizeof(ptr));
	report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: '%s' must be true or false", hook_label(h),
	       key);
	return fallback;
}

/* The duration at obj[key], whose pointer is key_ptr; fallback when absent. */
static long get_duration(struct hook_ctx *h, const json_t *obj, const char *key_ptr,
			 const char *key, long fallback, long max_ms)
{
	const json_t *v = json_object_get(obj, key);
	long ms;

	if (!v)
		return fallback;
	if (!json_is_string(v) || (ms = wh_duration_parse(json_string_value(v))) <= 0) {
		report(h->file, WH_SEVERITY_ERROR, key_ptr, 0,
		       "%s: '%s' must be a duration such as 500ms, 10s, 5m or 1h", hook_label(h),
		       key);
		return fallback;
	}
	if (ms > max_ms) {
		report(h->file, WH_SEVERITY_ERROR, key_ptr, 0,
		       "%s: '%s' is longer than the limit of %lds", hook_label(h), key,
		       max_ms / 1000);
		return fallback;
	}
	return ms;
}

static void check_events(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "events");
	char ptr[128], eptr[160];
	size_t i;
	json_t *e;

	key_pointer(h, "events", ptr, sizeof(ptr));
	if (!json_is_array(v) || json_array_size(v) == 0) {
		report(h->file, WH_SEVERITY_ERROR, v ? ptr : h->hook_ptr, 0,
		       "%s: 'events' must be a non-empty list of stages (or [\"*\"])",
		       hook_label(h));
		return;
	}
	hook->events = calloc(json_array_size(v), sizeof(char *));
	if (!hook->events) {
		h->file->nomem = 1;
		return;
	}
	json_array_foreach(v, i, e)
	{
		pointer_index(eptr, sizeof(eptr), ptr, i);
		if (!json_is_string(e) || !*json_string_value(e)) {
			report(h->file, WH_SEVERITY_ERROR, eptr, 0,
			       "%s: each event must be a stage name", hook_label(h));
			continue;
		}
		for (size_t k = 0; k < hook->nevents; k++)
			if (strcmp(hook->events[k], json_string_value(e)) == 0)
				report(h->file, WH_SEVERITY_WARNING, eptr, 0,
				       "%s: event '%s' is listed twice", hook_label(h),
				       json_string_value(e));
		hook->events[hook->nevents++] = dup_or_flag(h->file, json_string_value(e));
	}
}

enum wh_kind wh_kind_of(const char *name)
{
	if (strcmp(name, "standard") == 0)
		return WH_KIND_STANDARD;
	if (strcmp(name, "raw") == 0)
		return WH_KIND_RAW;
	if (strcmp(name, "slack") == 0)
		return WH_KIND_SLACK;
	return WH_KIND_PLUGIN;
}

static void check_kind(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "kind");
	const char *kind = "standard";
	char ptr[128];

	key_pointer(h, "kind", ptr, sizeof(ptr));
	if (v && !json_is_string(v)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: 'kind' must be a string",
		       hook_label(h));
	} else if (v) {
		kind = json_string_value(v);
	}
	hook->kind = wh_kind_of(kind);
	if (hook->kind == WH_KIND_PLUGIN) {
		int ok = *kind != '\0';
		for (const char *p = kind; *p; p++)
			ok = ok && (islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
				    *p == '-' || *p == '_');
		if (!ok)
			report(h->file, WH_SEVERITY_ERROR, ptr, 0,
			       "%s: kind '%s' is not standard, raw, slack or a plugin name "
			       "([a-z0-9_-]+)",
			       hook_label(h), kind);
		hook->kind = WH_KIND_PLUGIN;
	}
	hook->kind_name = dup_or_flag(h->file, kind);
}

static void check_filter(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "filter");
	char ptr[128], fptr[512];
	const char *key;
	json_t *globs;

	if (!v)
		return;
	key_pointer(h, "filter", ptr, sizeof(ptr));
	if (!json_is_object(v)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: 'filter' must map JSON pointers to glob lists", hook_label(h));
		return;
	}
	hook->filters = calloc(json_object_size(v) + 1, sizeof(*hook->filters));
	if (!hook->filters) {
		h->file->nomem = 1;
		return;
	}
	json_object_foreach((json_t *)v, key, globs)
	{
		struct wh_filter *f;
		size_t i;
		json_t *g;

		pointer_join(fptr, sizeof(fptr), ptr, key);
		if (*key != '\0' && *key != '/') {
			report(h->file, WH_SEVERITY_ERROR, fptr, 1,
			       "%s: filter key '%s' is not a JSON pointer (it starts with '/')",
			       hook_label(h), key);
			continue;
		}
		if (json_is_string(globs)) {
			f = &hook->filters[hook->nfilters++];
			f->pointer = dup_or_flag(h->file, key);
			f->globs = calloc(1, sizeof(char *));
			if (!f->globs) {
				h->file->nomem = 1;
				continue;
			}
			f->globs[f->nglobs++] = dup_or_flag(h->file, json_string_value(globs));
			continue;
		}
		if (!json_is_array(globs) || json_array_size(globs) == 0) {
			report(h->file, WH_SEVERITY_ERROR, fptr, 0,
			       "%s: filter '%s' must be a glob or a non-empty list of globs",
			       hook_label(h), key);
			continue;
		}
		f = &hook->filters[hook->nfilters++];
		f->pointer = dup_or_flag(h->file, key);
		f->globs = calloc(json_array_size(globs), sizeof(char *));
		if (!f->globs) {
			h->file->nomem = 1;
			continue;
		}
		json_array_foreach(globs, i, g)
		{
			char gptr[600];
			pointer_index(gptr, sizeof(gptr), fptr, i);
			if (!json_is_string(g)) {
				report(h->file, WH_SEVERITY_ERROR, gptr, 0,
				       "%s: filter globs must be strings", hook_label(h));
				continue;
			}
			f->globs[f->nglobs++] = dup_or_flag(h->file, json_string_value(g));
		}
	}
}

/* 1 when name (any case) is one of whrun's own headers. */
static int reserved_header(const char *name)
{
	for (size_t i = 0; wh_reserved_headers[i]; i++)
		if (strcasecmp(wh_reserved_headers[i], name) == 0)
			return 1;
	return 0;
}

static int header_name_ok(const char *name)
{
	if (!*name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!(isalnum(*p) || strchr("!#$%&'*+.^_`|~-", *p)))
			return 0;
	return 1;
}

static void check_signature(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "signature");
	const json_t *secret = json_object_get(h->merged, "secret");
	const json_t *header = json_object_get(h->merged, "signature_header");
	const char *sig = "none";
	char ptr[128], sptr[160];

	key_pointer(h, "signature", ptr, sizeof(ptr));
	if (v && !json_is_string(v))
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: 'signature' must be a string",
		       hook_label(h));
	else if (v)
		sig = json_string_value(v);
	else if (secret)
		sig = "standard-webhooks"; /* a secret without a scheme: the standard one */

	if (strcmp(sig, "none") == 0)
		hook->signature = WH_SIGNATURE_NONE;
	else if (strcmp(sig, "standard-webhooks") == 0)
		hook->signature = WH_SIGNATURE_STANDARD_WEBHOOKS;
	else if (strcmp(sig, "github") == 0)
		hook->signature = WH_SIGNATURE_GITHUB;
	else if (strcmp(sig, "stripe") == 0)
		hook->signature = WH_SIGNATURE_STRIPE;
	else if (strcmp(sig, "hmac-hex") == 0)
		hook->signature = WH_SIGNATURE_HMAC_HEX;
	else
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: unknown signature '%s' (standard-webhooks, github, stripe, hmac-hex or "
		       "none)",
		       hook_label(h), sig);

	key_pointer(h, "signature_header", sptr, sizeof(sptr));
	if (header && (!json_is_string(header) || !header_name_ok(json_string_value(header))))
		report(h->file, WH_SEVERITY_ERROR, sptr, 0,
		       "%s: 'signature_header' must be a header name", hook_label(h));
	else if (header && reserved_header(json_string_value(header)))
		report(h->file, WH_SEVERITY_ERROR, sptr, 0,
		       "%s: 'signature_header' cannot be whrun's own header '%s'", hook_label(h),
		       json_string_value(header));
	hook->signature_header =
	    dup_or_flag(h->file, json_is_string(header) ? json_string_value(header)
							: WH_DEFAULT_SIGNATURE_HEADER);

	key_pointer(h, "secret", sptr, sizeof(sptr));
	if (secret) {
		const json_t *list = secret;
		json_t *one = NULL;
		size_t i;

		if (json_is_string(secret)) {
			one = json_array();
			json_array_append(one, (json_t *)secret);
			list = one;
		}
		if (!json_is_array(list) || json_array_size(list) == 0 ||
		    json_array_size(list) > WH_MAX_SECRETS) {
			report(
			    h->file, WH_SEVERITY_ERROR, sptr, 0,
			    "%s: 'secret' must be a reference or a list of one or two (rotation)",
			    hook_label(h));
		} else {
			json_t *s;
			json_array_foreach(list, i, s)
			{
				char iptr[200];
				if (one)
					wh_strlcpy(iptr, sptr, sizeof(iptr));
				else
					pointer_index(iptr, sizeof(iptr), sptr, i);
				if (!json_is_string(s) ||
				    !wh_is_secret_reference(json_string_value(s))) {
					report(h->file, WH_SEVERITY_ERROR, iptr, 0,
					       "%s: 'secret' must be a reference such as "
					       "${env:NAME} or ${file:PATH}, never a literal "
					       "(definitions "
					       "are committed)",
					       hook_label(h));
					continue;
				}
				hook->secrets[hook->nsecrets++] =
				    dup_or_flag(h->file, json_string_value(s));
			}
		}
		json_decref(one);
	}
	if (hook->signature != WH_SIGNATURE_NONE && !secret)
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: signature '%s' needs a 'secret'",
		       hook_label(h), sig);
	if (hook->signature == WH_SIGNATURE_NONE && secret && v)
		report(h->file, WH_SEVERITY_WARNING, sptr, 0,
		       "%s: 'secret' is ignored with signature 'none'", hook_label(h));
}

static void check_retry(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "retry");
	char ptr[128];
	const char *key;
	json_t *val;

	hook->retry_attempts = WH_DEFAULT_RETRY_ATTEMPTS;
	hook->backoff_ms = WH_DEFAULT_BACKOFF_MS;
	hook->max_backoff_ms = WH_DEFAULT_MAX_BACKOFF_MS;
	if (!v)
		return;
	key_pointer(h, "retry", ptr, sizeof(ptr));
	if (!json_is_object(v)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: 'retry' must be {attempts, backoff, max_backoff}", hook_label(h));
		return;
	}
	json_object_foreach((json_t *)v, key, val)
	{
		char kptr[200];
		pointer_join(kptr, sizeof(kptr), ptr, key);
		if (strcmp(key, "attempts") && strcmp(key, "backoff") && strcmp(key, "max_backoff"))
			report(h->file, WH_SEVERITY_ERROR, kptr, 1,
			       "%s: unknown key 'retry.%s' (attempts, backoff, max_backoff)",
			       hook_label(h), key);
	}
	val = json_object_get(v, "attempts");
	if (val) {
		char kptr[200];
		pointer_join(kptr, sizeof(kptr), ptr, "attempts");
		if (!json_is_integer(val) || json_integer_value(val) < 1 ||
		    json_integer_value(val) > 20)
			report(h->file, WH_SEVERITY_ERROR, kptr, 0,
			       "%s: 'retry.attempts' must be a whole number from 1 to 20",
			       hook_label(h));
		else
			hook->retry_attempts = (int)json_integer_value(val);
	}
	char bptr[200];
	pointer_join(bptr, sizeof(bptr), ptr, "backoff");
	hook->backoff_ms = get_duration(h, v, bptr, "backoff", hook->backoff_ms, 3600 * 1000L);
	pointer_join(bptr, sizeof(bptr), ptr, "max_backoff");
	hook->max_backoff_ms =
	    get_duration(h, v, bptr, "max_backoff", hook->max_backoff_ms, 24 * 3600 * 1000L);
	if (hook->max_backoff_ms < hook->backoff_ms)
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: 'retry.max_backoff' is shorter than 'retry.backoff'", hook_label(h));
}

static int looks_like_credential(const char *name)
{
	static const char *const words[] = {"authorization", "token",  "secret", "key",
					    "password",	     "apikey", NULL};
	char lower[128];
	size_t i;

	for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	for (i = 0; words[i]; i++)
		if (strstr(lower, words[i]))
			return 1;
	return 0;
}

/* Checks every ${...} in a header value is a well-formed reference. */
static int references_ok(const char *value, int *has_reference)
{
	const char *p = value;

	*has_reference = 0;
	while ((p = strstr(p, "${"))) {
		const char *end = strchr(p, '}');
		char ref[1024];
		size_t len;

		if (!end)
			return 0;
		len = (size_t)(end - p + 1);
		if (len >= sizeof(ref))
			return 0;
		memcpy(ref, p, len);
		ref[len] = '\0';
		if (!wh_is_secret_reference(ref))
			return 0;
		*has_reference = 1;
		p = end + 1;
	}
	return 1;
}

static void check_headers(struct hook_ctx *h, struct wh_hook *hook, struct wh_target *t,
			  const json_t *headers, const char *ptr)
{
	const char *name;
	json_t *value;

	if (!json_is_object(headers)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: 'headers' must map header names to values", hook_label(h));
		return;
	}
	t->headers = calloc(json_object_size(headers) + 1, sizeof(*t->headers));
	if (!t->headers) {
		h->file->nomem = 1;
		return;
	}
	json_object_foreach((json_t *)headers, name, value)
	{
		char hptr[512];
		char lower[256];
		size_t i;
		int has_ref = 0;

		pointer_join(hptr, sizeof(hptr), ptr, name);
		for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		lower[i] = '\0';
		if (!header_name_ok(name)) {
			report(h->file, WH_SEVERITY_ERROR, hptr, 1,
			       "%s: header name '%s' is not a valid HTTP token", hook_label(h),
			       name);
			continue;
		}
		if (in_list(wh_reserved_headers, lower) ||
		    (hook->signature == WH_SIGNATURE_HMAC_HEX && hook->signature_header &&
		     strcasecmp(name, hook->signature_header) == 0)) {
			report(h->file, WH_SEVERITY_ERROR, hptr, 1,
			       "%s: header '%s' is set by whrun and cannot be overridden",
			       hook_label(h), name);
			continue;
		}
		if (!json_is_string(value)) {
			report(h->file, WH_SEVERITY_ERROR, hptr, 0,
			       "%s: header '%s' must have a string value (quote numbers and "
			       "booleans)",
			       hook_label(h), name);
			continue;
		}
		const char *v = json_string_value(value);
		size_t vlen = json_string_length(value);
		if (strlen(v) != vlen || strpbrk(v, "\r\n")) {
			report(h->file, WH_SEVERITY_ERROR, hptr, 0,
			       "%s: header '%s' contains CR, LF or NUL (header injection)",
			       hook_label(h), name);
			continue;
		}
		if (!references_ok(v, &has_ref)) {
			report(h->file, WH_SEVERITY_ERROR, hptr, 0,
			       "%s: header '%s' has a malformed reference; use ${env:NAME} or "
			       "${file:PATH}",
			       hook_label(h), name);
			continue;
		}
		if (!has_ref && looks_like_credential(name) && *v)
			report(h->file, WH_SEVERITY_WARNING, hptr, 0,
			       "%s: header '%s' holds a literal credential in a committed file; "
			       "prefer ${env:NAME}",
			       hook_label(h), name);
		t->headers[t->nheaders].name = dup_or_flag(h->file, name);
		t->headers[t->nheaders].value = dup_or_flag(h->file, v);
		t->nheaders++;
	}
}

/*
 * Whether url is plainly http(s) with a host: "http://" or "https://", a
 * host that is a dotted-quad IPv4 address or starts with a letter and has
 * only letters, digits, '-' and non-empty '.'-separated labels, an optional
 * port 1-65535, and a path of unreserved characters and '/'. curl_url_set
 * accepts every such URL, with that scheme and that (non-empty) host, so
 * its parse (5,000 instructions, most of a target's load) is needed only
 * for the other URLs, whose messages come from curl.
 */
static int plain_http_url(const char *url)
{
	const char *p = url, *host;
	int ipv4 = 1, octets = 0;

	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else
		return 0;
	host = p;
	if (isdigit((unsigned char)*p)) {
		for (; octets < 4; octets++) { /* 0-255 without leading zeros */
			unsigned v = 0;
			const char *d = p;

			while (isdigit((unsigned char)*p) && p - d < 3)
				v = v * 10 + (unsigned)(*p++ - '0');
			if (p == d || isdigit((unsigned char)*p) || v > 255 ||
			    (*d == '0' && p - d > 1))
				return 0;
			if (octets < 3 && *p++ != '.')
				return 0;
		}
	} else {
		ipv4 = 0;
		if (!isalpha((unsigned char)*p))
			return 0;
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.') {
			if (*p == '.' &&
			    (p[1] == '.' || p[1] == '\0' || !isalnum((unsigned char)p[1])))
				return 0; /* an empty label, or one starting with '-' */
			p++;
		}
	}
	if (p == host || p - host > 253 || (ipv4 && octets != 4))
		return 0;
	if (*p == ':') {
		unsigned port = 0;
		const char *d = ++p;

		while (isdigit((unsigned char)*p) && p - d < 5)
			port = port * 10 + (unsigned)(*p++ - '0');
		if (p == d || *d == '0' || port > 65535)
			return 0;
	}
	if (*p && *p != '/')
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._~/", *p))
			return 0;
	return p - url < 4096;
}

static void check_url(struct hook_ctx *h, struct wh_target *t, const json_t *url, const char *ptr)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	CURLUcode rc;

	if (!json_is_string(url)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: a target needs a 'url' string",
		       hook_label(h));
		return;
	}
	if (strlen(json_string_value(url)) != json_string_length(url) ||
	    strpbrk(json_string_value(url), "\r\n \t")) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: url contains whitespace, CR, LF or NUL", hook_label(h));
		return;
	}
	if (plain_http_url(json_string_value(url))) {
		t->url = dup_or_flag(h->file, json_string_value(url));
		return;
	}
	u = curl_url();
	if (!u) {
		h->file->nomem = 1;
		return;
	}
	rc = curl_url_set(u, CURLUPART_URL, json_string_value(url), 0);
	if (rc != CURLUE_OK) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: url '%s' is not valid: %s",
		       hook_label(h), json_string_value(url), curl_url_strerror(rc));
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https")))
		report(h->file, WH_SEVERITY_ERROR, ptr, 0,
		       "%s: url scheme must be http or https, not '%s'", hook_label(h),
		       scheme ? scheme : "");
	else if (!host || !*host)
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: url '%s' has no host",
		       hook_label(h), json_string_value(url));
	else
		t->url = dup_or_flag(h->file, json_string_value(url));
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
}

static void check_target(struct hook_ctx *h, struct wh_hook *hook, const json_t *target,
			 const char *ptr)
{
	struct wh_target *t = &hook->targets[hook->ntargets++];
	char kptr[256];
	const char *key;
	json_t *v;

	t->tls_verify = 1;
	t->fields = json_incref((json_t *)target);
	locate(h->file, ptr, 0, &t->line, &t->column);
	if (!json_is_object(target)) {
		report(h->file, WH_SEVERITY_ERROR, ptr, 0, "%s: each target must be a mapping",
		       hook_label(h));
		return;
	}
	if (hook->kind == WH_KIND_PLUGIN) {
		/* the plugin's own schema checks its fields; keep what is common */
		v = json_object_get(target, "url");
		if (json_is_string(v))
			t->url = dup_or_flag(h->file, json_string_value(v));
		t->method = dup_or_flag(h->file, "POST");
		return;
	}
	json_object_foreach((json_t *)target, key, v)
	{
		if (!in_list(target_keys, key)) {
			pointer_join(kptr, sizeof(kptr), ptr, key);
			report(h->file, WH_SEVERITY_ERROR, kptr, 1,
			       "%s: unknown target key '%s' (url, method, headers, tls_verify, "
			       "ca_file, basic_auth)",
			       hook_label(h), key);
		}
	}
	pointer_join(kptr, sizeof(kptr), ptr, "url");
	check_url(h, t, json_object_get(target, "url"),
		  json_object_get(target, "url") ? kptr : ptr);

	v = json_object_get(target, "method");
	pointer_join(kptr, sizeof(kptr), ptr, "method");
	if (!v)
		t->method = dup_or_flag(h->file, "POST");
	else if (json_is_string(v) && (strcmp(json_string_value(v), "POST") == 0 ||
				       strcmp(json_string_value(v), "PUT") == 0 ||
				       strcmp(json_string_value(v), "PATCH") == 0))
		t->method = dup_or_flag(h->file, json_string_value(v));
	else
		report(h->file, WH_SEVERITY_ERROR, kptr, 0, "%s: method must be POST, PUT or PATCH",
		       hook_label(h));

	v = json_object_get(target, "headers");
	if (v) {
		pointer_join(kptr, sizeof(kptr), ptr, "headers");
		check_headers(h, hook, t, v, kptr);
	}

	v = json_object_get(target, "tls_verify");
	if (v) {
		pointer_join(kptr, sizeof(kptr), ptr, "tls_verify");
		if (!json_is_boolean(v))
			report(h->file, WH_SEVERITY_ERROR, kptr, 0,
			       "%s: 'tls_verify' must be true or false", hook_label(h));
		else if (!(t->tls_verify = json_is_true(v)))
			report(h->file, WH_SEVERITY_WARNING, kptr, 0,
			       "%s: TLS verification is off for this target", hook_label(h));
	}

	v = json_object_get(target, "ca_file");
	if (v) {
		pointer_join(kptr, sizeof(kptr), ptr, "ca_file");
		if (!json_is_string(v) || !*json_string_value(v))
			report(h->file, WH_SEVERITY_ERROR, kptr, 0, "%s: 'ca_file' must be a path",
			       hook_label(h));
		else
			t->ca_file = dup_or_flag(h->file, json_string_value(v));
	}

	v = json_object_get(target, "basic_auth");
	if (v) {
		const json_t *user = json_object_get(v, "username");
		const json_t *pass = json_object_get(v, "password");

		pointer_join(kptr, sizeof(kptr), ptr, "basic_auth");
		if (!json_is_object(v) || !json_is_string(user) || !json_is_string(pass) ||
		    json_object_size(v) != 2) {
			report(h->file, WH_SEVERITY_ERROR, kptr, 0,
			       "%s: 'basic_auth' must be {username, password}", hook_label(h));
		} else if (!wh_is_secret_reference(json_string_value(pass))) {
			char pptr[300];
			pointer_join(pptr, sizeof(pptr), kptr, "password");
			report(h->file, WH_SEVERITY_ERROR, pptr, 0,
			       "%s: 'password' must be a reference such as ${env:NAME} or "
			       "${file:PATH}, never a literal (definitions are committed)",
			       hook_label(h));
		} else if (strchr(json_string_value(user), ':') ||
			   strpbrk(json_string_value(user), "\r\n")) {
			report(h->file, WH_SEVERITY_ERROR, kptr, 0,
			       "%s: basic_auth username cannot contain ':', CR or LF",
			       hook_label(h));
		} else {
			t->basic_username = dup_or_flag(h->file, json_string_value(user));
			t->basic_password = dup_or_flag(h->file, json_string_value(pass));
		}
	}
}

static void check_targets(struct hook_ctx *h, struct wh_hook *hook)
{
	const json_t *v = json_object_get(h->merged, "targets");
	char ptr[128], tptr[160];
	size_t i;
	json_t *t;

	key_pointer(h, "targets", ptr, sizeof(ptr));
	if (!json_is_array(v) || json_array_size(v) == 0) {
		report(h->file, WH_SEVERITY_ERROR, v ? ptr : h->hook_ptr, 0,
		       "%s: 'targets' must be a non-empty list", hook_label(h));
		return;
	}
	hook->targets = calloc(json_array_size(v), sizeof(*hook->targets));
	if (!hook->targets) {
		h->file->nomem = 1;
		return;
	}
	json_array_foreach(v, i, t)
	{
		pointer_index(tptr, sizeof(tptr), ptr, i);
		check_target(h, hook, t, tptr);
	}
}

json_t *wh_config_merge_defaults(const json_t *defaults, const json_t *hook)
{
	/* Shallow: the result shares unchanged values with its inputs, which
	 * nobody modifies afterwards; only a merged `retry` is a new object. */
	json_t *merged = json_copy((json_t *)hook);
	const char *key;
	json_t *value;

	if (!merged || !json_is_object(defaults))
		return merged;
	json_object_foreach((json_t *)defaults, key, value)
	{
		json_t *own = json_object_get(merged, key);
		if (!own) {
			if (json_object_set(merged, key, value))
				goto fail;
		} else if (strcmp(key, "retry") == 0 && json_is_object(own) &&
			   json_is_object(value)) {
			json_t *retry = json_copy(own);
			const char *k;
			json_t *v;

			if (!retry || json_object_set_new(merged, key, retry))
				goto fail;
			json_object_foreach(value, k,
					    v) if (!json_object_get(retry, k) &&
						   json_object_set(retry, k, v)) goto fail;
		}
	}
	return merged;
fail:
	json_decref(merged);
	return NULL;
}

static int config_push(struct wh_config *config, struct wh_hook *hook)
{
	if (config->nhooks == config->alloc) {
		size_t alloc = config->alloc ? config->alloc * 2 : 16;
		struct wh_hook *hooks = realloc(config->hooks, alloc * sizeof(*hooks));
		if (!hooks)
			return WH_ENOMEM;
		config->hooks = hooks;
		config->alloc = alloc;
	}
	config->hooks[config->nhooks++] = *hook;
	return 0;
}

static void add_hook(struct wh_config *config, struct file_ctx *ctx, const json_t *defaults,
		     const json_t *own, size_t index)
{
	struct hook_ctx h = {ctx, NULL, {0}, own, ""};
	struct wh_hook hook;
	size_t before = ctx->diags->errors;
	const char *key;
	json_t *v;

	memset(&hook, 0, sizeof(hook));
	snprintf(h.hook_ptr, sizeof(h.hook_ptr), "/webhooks/%zu", index);
	if (!json_is_object(own)) {
		report(ctx, WH_SEVERITY_ERROR, h.hook_ptr, 0, "each webhook must be a mapping");
		return;
	}
	h.merged = wh_config_merge_defaults(defaults, own);
	if (!h.merged) {
		ctx->nomem = 1;
		return;
	}
	if (check_name(&h, &hook) < 0)
		goto drop;
	json_object_foreach(h.merged, key, v)
	{
		if (!in_list(hook_keys, key)) {
			char ptr[256];
			key_pointer(&h, key, ptr, sizeof(ptr));
			report(ctx, WH_SEVERITY_ERROR, ptr, 1, "%s: unknown key '%s'",
			       hook_label(&h), key);
		}
	}
	v = json_object_get(h.merged, "description");
	if (v && !json_is_string(v)) {
		char ptr[128];
		key_pointer(&h, "description", ptr, sizeof(ptr));
		report(ctx, WH_SEVERITY_ERROR, ptr, 0, "%s: 'description' must be a string",
		       hook_label(&h));
	}
	hook.description = dup_or_flag(ctx, json_is_string(v) ? json_string_value(v) : "");
	hook.enabled = get_bool(&h, "enabled", 1);
	hook.required = get_bool(&h, "required", 1);
	check_events(&h, &hook);
	check_kind(&h, &hook);
	check_filter(&h, &hook);
	check_signature(&h, &hook);
	char timeout_ptr[128];
	key_pointer(&h, "timeout", timeout_ptr, sizeof(timeout_ptr));
	hook.timeout_ms = get_duration(&h, h.merged, timeout_ptr, "timeout", WH_DEFAULT_TIMEOUT_MS,
				       10 * 60 * 1000L);
	check_retry(&h, &hook);
	check_targets(&h, &hook);

	hook.file = dup_or_flag(ctx, ctx->path);
	locate(ctx, h.hook_ptr, 0, &hook.line, &hook.column);
	hook.definition = h.merged;
	h.merged = NULL;
	if (ctx->diags->errors == before && !ctx->nomem) {
		if (config_push(config, &hook) < 0)
			ctx->nomem = 1;
		else
			return;
	}
drop:
	hook_release(&hook);
	json_decref(h.merged);
}

int wh_config_add_file(struct wh_config *config, const char *path, json_t *doc,
		       const json_t *positions, struct wh_diags *diags)
{
	struct file_ctx ctx = {path, positions, diags, 0};
	const json_t *version, *defaults, *webhooks;
	size_t i;
	json_t *hook;

	if (json_is_null(doc))
		return 0; /* an empty file defines nothing */
	if (!json_is_object(doc)) {
		report(&ctx, WH_SEVERITY_ERROR, "", 0,
		       "a definition file must be a mapping with 'webhooks'");
		return ctx.nomem ? WH_ENOMEM : 0;
	}
	version = json_object_get(doc, "version");
	if (version && !(json_is_integer(version) && json_integer_value(version) == 1))
		report(&ctx, WH_SEVERITY_ERROR, "/version", 0,
		       "unsupported version (this whrun reads version 1)");
	defaults = json_object_get(doc, "defaults");
	if (defaults && !json_is_object(defaults)) {
		report(&ctx, WH_SEVERITY_ERROR, "/defaults", 0, "'defaults' must be a mapping");
		defaults = NULL;
	}
	if (defaults && json_object_get(defaults, "name"))
		report(&ctx, WH_SEVERITY_ERROR, "/defaults/name", 1,
		       "'defaults' cannot set a hook's 'name'");
	webhooks = json_object_get(doc, "webhooks");
	if (!webhooks) {
		return ctx.nomem ? WH_ENOMEM : 0;
	}
	if (!json_is_array(webhooks)) {
		report(&ctx, WH_SEVERITY_ERROR, "/webhooks", 0, "'webhooks' must be a list");
		return ctx.nomem ? WH_ENOMEM : 0;
	}
	json_array_foreach(webhooks, i, hook) add_hook(config, &ctx, defaults, hook, i);
	return ctx.nomem ? WH_ENOMEM : 0;
}

static int hook_compare(const void *a, const void *b)
{
	const struct wh_hook *x = a, *y = b;
	return strcmp(x->name, y->name);
}

int wh_config_finish(struct wh_config *config, struct wh_diags *diags)
{
	int error = 0;

	if (config->nhooks > 1)
		qsort(config->hooks, config->nhooks, sizeof(*config->hooks), hook_compare);
	for (size_t i = 0; i < config->nhooks && !error; i++) {
		const struct wh_hook *hook = &config->hooks[i];

		if (i > 0 && strcmp(hook->name, config->hooks[i - 1].name) == 0) {
			const struct wh_hook *first = &config->hooks[i - 1];
			error = wh_diags_add(
			    diags, WH_SEVERITY_ERROR, hook->file, hook->line, hook->column,
			    "hook name '%s' is already used at %s:%d:%d (names are "
			    "unique across the repository)",
			    hook->name, first->file, first->line, first->column);
		}
		for (size_t e = 0; e < hook->nevents && !error; e++) {
			const char *stage = hook->events[e];
			if (strcmp(stage, "*") == 0 || wh_stage_is_builtin(stage) ||
			    json_object_get(config->schemas, stage))
				continue;
			if (strcmp(stage, "ping") == 0)
				error = wh_diags_add(
				    diags, WH_SEVERITY_ERROR, hook->file, hook->line, hook->column,
				    "%s: 'ping' is reserved for `whrun ping`", hook->name);
			else
				error = wh_diags_add(
				    diags, WH_SEVERITY_ERROR, hook->file, hook->line, hook->column,
				    "%s: unknown stage '%s' (not built in, and the repository has "
				    "no schemas/%s.json)",
				    hook->name, stage, stage);
		}
	}
	return error;
}

const struct wh_hook *wh_config_find(const struct wh_config *config, const char *name)
{
	struct wh_hook key;

	memset(&key, 0, sizeof(key));
	key.name = (char *)name;
	if (!config->nhooks)
		return NULL;
	return bsearch(&key, config->hooks, config->nhooks, sizeof(*config->hooks), hook_compare);
}

int wh_hook_has_event(const struct wh_hook *hook, const char *stage)
{
	for (size_t i = 0; i < hook->nevents; i++)
		if (strcmp(hook->events[i], "*") == 0 || strcmp(hook->events[i], stage) == 0)
			return 1;
	return 0;
}
