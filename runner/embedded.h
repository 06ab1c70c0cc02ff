/*
 * embedded: the files compiled into the binary (shipped payload schemas,
 * hook.schema.json and the official JSON Schema meta-schemas), so that whrun
 * resolves them offline wherever it is installed. The table is generated at
 * build time by ci/embed.cmake from schemas/ and runner/metaschemas/.
 */
#ifndef WH_EMBEDDED_H
#define WH_EMBEDDED_H

#include <stddef.h>

struct wh_embedded_file {
	const char *name;	   /* path relative to the source tree, e.g. "schemas/ping.json" */
	const unsigned char *data; /* NUL-terminated, size bytes before the NUL */
	size_t size;
};

extern const struct wh_embedded_file wh_embedded_files[];
extern const size_t wh_embedded_count;

/* The embedded file of that relative name, or NULL. Borrowed, static. */
const struct wh_embedded_file *wh_embedded_find(const char *name);

#endif
