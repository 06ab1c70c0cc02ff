/* payload: reading, stage schema and hook selection (see payload.h). */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "payload.h"
#include "util.h"
#include "banned.h"

int wh_payload_read(struct wh_payload *out, const char *path, const char *data,
		    struct wh_error *err)
{
	char *text = NULL;
	size_t len = 0, start = 0;
	int error;

	memset(out, 0, sizeof(*out));
	if ((path && data) || (!path && !data))
		return wh_error_set(err, WH_EUSAGE,
				    "give the payload with exactly one of --payload FILE, "
				    "--payload - or --data JSON");
	if (data) {
		len = strlen(data);
		if (len > WH_PAYLOAD_MAX_BYTES)
			return wh_error_set(err, WH_EPAYLOAD, "--data is larger than %u bytes",
					    WH_PAYLOAD_MAX_BYTES);
		if (!(text = strdup(data)))
			return wh_error_set(err, WH_ENOMEM, "out of memory");
	} else if ((error = wh_read_file(&text, &len, path, WH_PAYLOAD_MAX_BYTES, err)) < 0) {
		err->code = error == WH_ENOMEM ? WH_ENOMEM : WH_EPAYLOAD;
		return wh_error_prefix(err, "payload");
	}
	while (start < len && isspace((unsigned char)text[start]))
		start++;
	while (len > start && isspace((unsigned char)text[len - 1]))
		len--;
	memmove(text, text + start, len - start);
	len -= start;
	text[len] = '\0';
	error = wh_schema_parse(&out->json, text, len,
				data			 ? "--data"
				: strcmp(path, "-") == 0 ? "stdin"
							 : path,
				err);
	if (error < 0) {
		free(text);
		return error;
	}
	out->text = text;
	out->len = len;
	return 0;
}

void wh_payload_release(struct wh_payload *payload)
{
	if (!payload)
		return;
	free(payload->text);
	json_decref(payload->json);
	memset(payload, 0, sizeof(*payload));
}

int wh_stage_schema(struct wh_schema **out, const char **origin, const struct wh_config *config,
		    const char *stage, struct wh_error *err)
{
	struct wh_schema_config cfg;
	json_t *doc = json_object_get(config->schemas, stage), *owned = NULL;
	char name[256];
	int error;

	*out = NULL;
	memset(&cfg, 0, sizeof(cfg));
	/* A repository's schema is checked against its meta-schema; the
	 * built-in ones are checked once by the tests (test_builtin_schemas),
	 * not on every run (that was a third of a run's own work). */
	cfg.check_metaschema = doc != NULL;
	if (doc) {
		*origin = "repository";
	} else {
		const struct wh_embedded_file *file;

		snprintf(name, sizeof(name), "schemas/%s.json", stage);
		if (strchr(stage, '/') || !(file = wh_embedded_find(name)) ||
		    strcmp(stage, "hook.schema") == 0)
			return wh_error_set(err, WH_ECONFIG,
					    "unknown stage '%s': not built in, and the repository "
					    "has no schemas/%s.json at %.12s",
					    stage, stage, config->commit);
		if ((error = wh_schema_parse_trusted(&owned, (const char *)file->data, file->size,
						     name, err)) < 0)
			return error == WH_ENOMEM ? error : (err->code = WH_EINTERNAL);
		doc = owned;
		*origin = "built-in";
	}
	error = wh_schema_compile(out, doc, &cfg, NULL, err);
	if (error < 0)
		wh_error_prefix(err, "schemas/%s.json (%s)", stage, *origin);
	json_decref(owned);
	return error == WH_ENOMEM ? error : error < 0 ? WH_ECONFIG : 0;
}

static int value_matches(const json_t *value, char *const *globs, size_t nglobs, int depth)
{
	char text[64];
	const char *s = NULL;

	if (json_is_array(value) && depth == 0) {
		size_t i;
		json_t *item;
		json_array_foreach(value, i,
				   item) if (value_matches(item, globs, nglobs, 1)) return 1;
		return 0;
	}
	if (json_is_string(value))
		s = json_string_value(value);
	else if (json_is_integer(value))
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value)),
		    s = text;
	else if (json_is_real(value))
		snprintf(text, sizeof(text), "%.17g", json_real_value(value)), s = text;
	else if (json_is_boolean(value))
		s = json_is_true(value) ? "true" : "false";
	if (!s)
		return 0;
	for (size_t i = 0; i < nglobs; i++)
		if (fnmatch(globs[i], s, 0) == 0)
			return 1;
	return 0;
}

int wh_hook_filters_match(const struct wh_hook *hook, const json_t *payload)
{
	for (size_t i = 0; i < hook->nfilters; i++) {
		const struct wh_filter *f = &hook->filters[i];
		const json_t *value = wh_json_pointer_get((json_t *)payload, f->pointer);

		if (!value || !value_matches(value, f->globs, f->nglobs, 0))
			return 0;
	}
	return 1;
}

int wh_hook_selected(const struct wh_hook *hook, const char *stage, const json_t *payload)
{
	return hook->enabled && wh_hook_has_event(hook, stage) &&
	       wh_hook_filters_match(hook, payload);
}
