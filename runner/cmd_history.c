/*
 * cmd_history: `whrun diff A..B` (markdown for a pull-request comment, or
 * json) and `whrun log [--hook H] [-n N]` (text or json), over history.c.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "history.h"
#include "banned.h"

static void print_fields(FILE *out, const json_t *fields, const char *quote)
{
	size_t i;
	json_t *f;

	json_array_foreach(fields, i, f)
	    fprintf(out, "%s%s%s%s", i ? ", " : "", quote, json_string_value(f), quote);
}

int wh_cmd_diff(const struct wh_options *opts, struct wh_error *err)
{
	const char *range = opts->args[0], *dots = strstr(range, "..");
	char from[512];
	const char *to;
	struct wh_gitsrc *src = NULL;
	git_oid a, b;
	json_t *before = NULL, *after = NULL, *changes = NULL;
	int error;

	if (!dots || dots == range || dots[2] == '.' || strstr(dots + 2, "..") ||
	    (size_t)(dots - range) >= sizeof(from))
		return wh_error_set(err, WH_EUSAGE,
				    "usage: whrun diff A..B (two refs, e.g. main..HEAD)");
	memcpy(from, range, (size_t)(dots - range));
	from[dots - range] = '\0';
	to = dots[2] ? dots + 2 : "HEAD";

	if ((error = wh_gitsrc_open(&src, opts->repo, err)) < 0 ||
	    (error = wh_gitsrc_resolve(&a, src, from, err)) < 0 ||
	    (error = wh_gitsrc_resolve(&b, src, to, err)) < 0 ||
	    (error = wh_history_snapshot(&before, src, &a, err)) < 0 ||
	    (error = wh_history_snapshot(&after, src, &b, err)) < 0)
		goto out;
	if (!(changes = wh_history_compare(before, after))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if (json_array_size(json_object_get(after, "broken")))
		fprintf(stderr,
			"whrun: warning: some definition files at %s do not parse; run "
			"'whrun validate --ref %s'\n",
			to, to);

	if (opts->output == WH_OUTPUT_JSON) {
		json_object_set_new(changes, "from", json_string(from));
		json_object_set_new(changes, "to", json_string(to));
		json_object_set(changes, "from_commit", json_object_get(before, "commit"));
		json_object_set(changes, "to_commit", json_object_get(after, "commit"));
		error = wh_print_json(changes, err);
		changes = NULL;
		goto out;
	}

	const json_t *hooks = json_object_get(changes, "hooks");
	const json_t *schemas = json_object_get(changes, "schemas");
	size_t i;
	json_t *c;

	printf("### Webhook changes `%s`..`%s` (%.7s..%.7s)\n\n", from, to,
	       json_string_value(json_object_get(before, "commit")),
	       json_string_value(json_object_get(after, "commit")));
	if (!json_array_size(hooks) && !json_array_size(schemas)) {
		printf("No webhook definitions or schemas changed.\n");
		goto out;
	}
	if (json_array_size(hooks)) {
		printf("| hook | change | fields |\n|---|---|---|\n");
		json_array_foreach(hooks, i, c)
		{
			printf("| `%s` | %s | ", json_string_value(json_object_get(c, "hook")),
			       json_string_value(json_object_get(c, "change")));
			print_fields(stdout, json_object_get(c, "fields"), "`");
			printf(" |\n");
		}
	}
	if (json_array_size(schemas)) {
		printf("%s| schema | change |\n|---|---|\n", json_array_size(hooks) ? "\n" : "");
		json_array_foreach(schemas, i, c) printf(
		    "| `schemas/%s.json` | %s |\n", json_string_value(json_object_get(c, "schema")),
		    json_string_value(json_object_get(c, "change")));
	}
out:
	json_decref(before);
	json_decref(after);
	json_decref(changes);
	wh_gitsrc_free(src);
	return error;
}

int wh_cmd_log(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_gitsrc *src = NULL;
	git_oid start;
	json_t *entries = NULL;
	size_t i, k;
	json_t *e, *c;
	int error;

	if ((error = wh_gitsrc_open(&src, opts->repo, err)) < 0 ||
	    (error = wh_gitsrc_resolve(&start, src, opts->ref, err)) < 0 ||
	    (error = wh_history_log(&entries, src, &start, opts->hook, opts->count, err)) < 0)
		goto out;
	if (opts->output == WH_OUTPUT_JSON) {
		error = wh_print_json(entries, err);
		entries = NULL;
		goto out;
	}
	json_array_foreach(entries, i, e)
	{
		const json_t *author = json_object_get(e, "author");

		printf("%scommit %s\nAuthor: %s <%s>\nDate:   %s\n\n    %s\n\n", i ? "\n" : "",
		       json_string_value(json_object_get(e, "commit")),
		       json_string_value(json_object_get(author, "name")),
		       json_string_value(json_object_get(author, "email")),
		       json_string_value(json_object_get(e, "date")),
		       json_string_value(json_object_get(e, "subject")));
		json_array_foreach(json_object_get(e, "hooks"), k, c)
		{
			const json_t *fields = json_object_get(c, "fields");
			printf("    %-8s %s", json_string_value(json_object_get(c, "change")),
			       json_string_value(json_object_get(c, "hook")));
			if (json_array_size(fields)) {
				printf(" (");
				print_fields(stdout, fields, "");
				printf(")");
			}
			printf("\n");
		}
		json_array_foreach(json_object_get(e, "schemas"), k, c) printf(
		    "    %-8s schemas/%s.json\n", json_string_value(json_object_get(c, "change")),
		    json_string_value(json_object_get(c, "schema")));
	}
	if (json_array_size(entries) == 0)
		printf("no commits changed the definitions%s%s\n", opts->hook ? " of " : "",
		       opts->hook ? opts->hook : "");
out:
	json_decref(entries);
	wh_gitsrc_free(src);
	return error;
}
