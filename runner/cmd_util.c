/* cmd_util: output helpers the commands share (see commands.h). */
#include <stdio.h>

#include "commands.h"
#include "banned.h"

void wh_print_diags(const struct wh_diags *diags)
{
	for (size_t i = 0; i < diags->count; i++) {
		const struct wh_diag *d = &diags->items[i];
		const char *sev = d->severity == WH_SEVERITY_ERROR ? "error" : "warning";

		if (d->path[0] && d->line > 0)
			fprintf(stderr, "%s:%d:%d: %s: %s\n", d->path, d->line,
				d->column > 0 ? d->column : 1, sev, d->message);
		else if (d->path[0])
			fprintf(stderr, "%s: %s: %s\n", d->path, sev, d->message);
		else
			fprintf(stderr, "%s: %s\n", sev, d->message);
	}
}

json_t *wh_diags_to_json(const struct wh_diags *diags, int severity)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < diags->count; i++) {
		const struct wh_diag *d = &diags->items[i];
		if ((int)d->severity != severity)
			continue;
		if (json_array_append_new(
			list, json_pack("{s:s, s:s, s:i, s:i, s:s}", "severity",
					d->severity == WH_SEVERITY_ERROR ? "error" : "warning",
					"path", d->path, "line", d->line, "column", d->column,
					"message", d->message))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

int wh_print_json(json_t *value, struct wh_error *err)
{
	int rc;

	if (!value)
		return wh_error_set(err, WH_ENOMEM, "out of memory building JSON output");
	rc = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(value);
	if (rc < 0 || fputc('\n', stdout) == EOF)
		return wh_error_set(err, WH_EIO, "error writing to standard output");
	return 0;
}
