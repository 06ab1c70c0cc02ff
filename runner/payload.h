/*
 * payload: the controller's payload for one stage invocation: reading it
 * (--payload FILE, --payload - for stdin, or --data JSON), validating it
 * against the stage's schema (the repository's schemas/<stage>.json at the
 * same ref first, else the shipped one), and choosing the hooks it goes to
 * (enabled, listening to the stage or "*", every filter matching).
 *
 * The payload's text is kept as given (trimmed of surrounding white space)
 * so that the envelope's `data` is the payload byte for byte; the parsed
 * value is used only to validate and to match filters.
 */
#ifndef WH_PAYLOAD_H
#define WH_PAYLOAD_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "schema.h"

#define WH_PAYLOAD_MAX_BYTES (16u << 20)

struct wh_payload {
	char *text; /* trimmed JSON text (owned) */
	size_t len;
	json_t *json; /* parsed (owned) */
};

/* Reads exactly one of path ("-" = stdin) or data. Bad JSON is
 * WH_EPAYLOAD with the location; neither or both given is WH_EUSAGE. */
int wh_payload_read(struct wh_payload *out, const char *path, const char *data,
		    struct wh_error *err);
void wh_payload_release(struct wh_payload *payload);

/*
 * Compiles the schema for stage: config->schemas[stage] (the repo's) or
 * the embedded schemas/<stage>.json. No schema at all is WH_ECONFIG
 * ("unknown stage"); a repo schema that does not compile is WH_ECONFIG
 * naming schemas/<stage>.json. *out is the caller's (wh_schema_free).
 * *origin tells which one was used: "repository" or "built-in" (static).
 */
int wh_stage_schema(struct wh_schema **out, const char **origin, const struct wh_config *config,
		    const char *stage, struct wh_error *err);

/* 1 when every filter of hook matches payload: the value at the filter's
 * pointer is a string matching one of its globs (fnmatch), a number or
 * boolean whose JSON text matches, or an array one element of which does. */
int wh_hook_filters_match(const struct wh_hook *hook, const json_t *payload);

/* enabled && listens to stage && filters match. */
int wh_hook_selected(const struct wh_hook *hook, const char *stage, const json_t *payload);

#endif
