/* hookschema: hook.schema.json applied to definition files (see hookschema.h). */
#include <stdio.h>
#include <string.h>

#include "embedded.h"
#include "hookschema.h"
#include "util.h"
#include "yaml.h"
#include "banned.h"

int wh_hookschema_compile(struct wh_schema **out, struct wh_error *err)
{
	const struct wh_embedded_file *file = wh_embedded_find("schemas/hook.schema.json");
	struct wh_schema_config cfg;
	json_t *doc;
	int error;

	*out = NULL;
	if (!file)
		return wh_error_set(err, WH_EINTERNAL, "hook.schema.json is not embedded");
	if ((error = wh_schema_parse_trusted(&doc, (const char *)file->data, file->size,
					     "embedded hook.schema.json", err)) < 0)
		return error == WH_ENOMEM ? error : (err->code = WH_EINTERNAL);
	memset(&cfg, 0, sizeof(cfg));
	error = wh_schema_compile(out, doc, &cfg, NULL, err);
	json_decref(doc);
	if (error < 0 && error != WH_ENOMEM)
		error = wh_error_prefix(err, "embedded hook.schema.json") ? WH_EINTERNAL : 0;
	return error;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int wh_hookschema_locate(int *line, int *column, const struct wh_schema_issue *is,
			 const char *prefix, const json_t *positions)
{
	char pointer[1024];
	const char *extra;
	int want_key = 0;

	if (ends_with(is->keyword_location, "/if"))
		return 0; /* 'must match "then" schema': the branch's own errors tell */
	snprintf(pointer, sizeof(pointer), "%s%s", prefix, is->instance_location);
	extra = strstr(is->message, "additional property '");
	if (extra) {
		/* point at the offending key itself */
		const char *name = extra + strlen("additional property '");
		const char *end = strrchr(name, '\'');
		size_t len = strlen(pointer);
		if (end && len + 1 + (size_t)(end - name) < sizeof(pointer)) {
			pointer[len] = '/';
			memcpy(pointer + len + 1, name, (size_t)(end - name));
			pointer[len + 1 + (end - name)] = '\0';
			want_key = 1;
		}
	}
	if (positions)
		wh_yaml_position(line, column, positions, pointer, want_key);
	return 1;
}

int wh_hookschema_check(struct wh_schema *schema, const json_t *doc, const json_t *positions,
			const char *path, struct wh_diags *diags)
{
	struct wh_schema_issues issues;
	int error;

	wh_schema_issues_init(&issues);
	error = wh_schema_validate(schema, doc, &issues);
	if (error == WH_EPAYLOAD)
		error = 0;
	for (size_t i = 0; i < issues.count && error == 0; i++) {
		const struct wh_schema_issue *is = &issues.items[i];
		int line = 0, column = 0;

		if (!wh_hookschema_locate(&line, &column, is, "", positions))
			continue;
		error = wh_diags_add(diags, WH_SEVERITY_ERROR, path, line, column, "%s: %s",
				     is->instance_location[0] ? is->instance_location : "/",
				     is->message);
	}
	wh_schema_issues_release(&issues);
	return error;
}
