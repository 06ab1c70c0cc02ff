/*
 * hookschema: checks definition files against the shipped
 * schemas/hook.schema.json (the embedded copy, compiled once per load),
 * and maps each schema error's instance location back to the file's
 * line:column through the YAML position table.
 *
 * Summary errors that only say a branch failed ('must match "then"
 * schema') are dropped: the errors inside the branch say what is wrong.
 */
#ifndef WH_HOOKSCHEMA_H
#define WH_HOOKSCHEMA_H

#include <jansson.h>

#include "error.h"
#include "schema.h"

/* Compiles the embedded hook.schema.json into *out (caller frees with
 * wh_schema_free). A failure is a bug in the build (WH_EINTERNAL). */
int wh_hookschema_compile(struct wh_schema **out, struct wh_error *err);

/* Adds one finding per schema error of doc (borrowed) to diags, located
 * with positions (borrowed, may be NULL). Returns 0 or WH_ENOMEM. */
int wh_hookschema_check(struct wh_schema *schema, const json_t *doc, const json_t *positions,
			const char *path, struct wh_diags *diags);

/*
 * Where a schema issue points in a YAML file: prefix (the JSON pointer of
 * the validated value in the file, "" for the whole file) plus the issue's
 * instance location, narrowed to the offending key for "additional
 * property" errors, looked up in positions (which may be NULL: *line and
 * *column are then left as they are). Returns 0 for summary issues that
 * are better left out ('must match "then" schema'), 1 otherwise.
 */
int wh_hookschema_locate(int *line, int *column, const struct wh_schema_issue *is,
			 const char *prefix, const json_t *positions);

#endif
