/*
 * hookschema: checks one definition file's JSON against the shipped
 * schemas/hook.schema.json (compiled once per process from the embedded
 * copy), and maps each schema error's instance location back to the
 * file's line:column through the YAML position table.
 */
#ifndef WH_HOOKSCHEMA_H
#define WH_HOOKSCHEMA_H

#include <jansson.h>

#include "error.h"

/* Adds one finding per schema error to diags. Returns 0, or a negative
 * code when the check could not run (out of memory, embedded schema
 * broken: a bug). doc and positions are borrowed. */
int wh_hookschema_check(const json_t *doc, const json_t *positions, const char *path,
			struct wh_diags *diags);

#endif
