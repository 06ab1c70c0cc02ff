/*
 * cmd_schema: `whrun schema validate --schema FILE (--instance FILE |
 * --ndjson FILE) [--remote PREFIX=DIR]... [--output text|json]`, the JSON
 * Schema validator on its own (SPEC section 6).
 *
 * The schema is checked against its meta-schema and compiled once; then each
 * instance (one file, or one per non-blank ndjson line) gets one result: in
 * text a line "valid" or "invalid" with the errors indented below it, in
 * json one line {"valid": ..., "errors": [...]} in the specification's
 * "basic" output shape. An instance that is not JSON is invalid. Returns 0
 * when all are valid, WH_EPAYLOAD (exit 4) when any is not, WH_ECONFIG
 * (exit 3) when the schema is unreadable or not a valid schema.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "schema.h"
#include "util.h"
#include "banned.h"

#define MAX_SCHEMA_FILE	  (64u << 20)
#define MAX_INSTANCE_FILE (1024u << 20)

/* Text output shortens very long locations (deep recursion) in the middle;
 * json output always has them whole. */
static void print_location(FILE *out, const char *loc, const char *root)
{
	size_t len = strlen(loc);

	if (!*loc)
		fputs(root, out);
	else if (len <= 160)
		fputs(loc, out);
	else
		fprintf(out, "%.60s/...(%zu bytes)...%s", loc, len - 140, loc + len - 80);
}

static void print_issues_text(FILE *out, const struct wh_schema_issues *issues)
{
	for (size_t i = 0; i < issues->count; i++) {
		const struct wh_schema_issue *it = &issues->items[i];

		fputs("  ", out);
		if (*it->keyword_location || *it->instance_location) {
			print_location(out, it->instance_location, "/");
			fputs(": ", out);
		}
		fputs(it->message, out);
		if (*it->keyword_location) {
			fputs(" (", out);
			print_location(out, it->keyword_location, "#");
			fputs(")", out);
		}
		fputc('\n', out);
	}
}

static json_t *issues_json(const struct wh_schema_issues *issues)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < issues->count; i++) {
		const struct wh_schema_issue *it = &issues->items[i];

		if (json_array_append_new(list,
					  json_pack("{s:s, s:s, s:s, s:s}", "instanceLocation",
						    it->instance_location, "keywordLocation",
						    it->keyword_location, "absoluteKeywordLocation",
						    it->absolute_location, "error", it->message))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* Prints one instance's result; returns 0 or WH_ENOMEM. */
static int print_result(const struct wh_options *opts, int valid,
			const struct wh_schema_issues *issues, const char *parse_error)
{
	if (opts->output == WH_OUTPUT_JSON) {
		json_t *errors = issues_json(issues), *obj;
		char *text;

		if (errors && parse_error)
			json_array_append_new(
			    errors, json_pack("{s:s, s:s, s:s}", "instanceLocation", "",
					      "keywordLocation", "", "error", parse_error));
		obj = errors ? json_pack("{s:b, s:o}", "valid", valid, "errors", errors) : NULL;
		text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
		json_decref(obj);
		if (!text)
			return WH_ENOMEM;
		fputs(text, stdout);
		fputc('\n', stdout);
		free(text);
		return 0;
	}
	if (valid) {
		fputs("valid\n", stdout);
		return 0;
	}
	fputs("invalid\n", stdout);
	if (parse_error)
		printf("  %s\n", parse_error);
	print_issues_text(stdout, issues);
	return 0;
}

/* Validates one JSON text; *invalid is incremented when it is invalid. */
static int check_text(const struct wh_options *opts, struct wh_schema *schema, const char *text,
		      size_t len, const char *what, size_t *invalid, struct wh_error *err)
{
	struct wh_schema_issues issues = WH_SCHEMA_ISSUES_INIT;
	int error = wh_schema_validate_text(schema, text, len, what, &issues);

	if (error == WH_EPAYLOAD) {
		(*invalid)++;
		error = print_result(opts, 0, &issues, NULL);
	} else if (error == 0) {
		error = print_result(opts, 1, &issues, NULL);
	}
	if (error)
		wh_error_set(err, WH_ENOMEM, "out of memory");
	wh_schema_issues_release(&issues);
	return error;
}

static int check_ndjson(const struct wh_options *opts, struct wh_schema *schema, size_t *count,
			size_t *invalid, struct wh_error *err)
{
	FILE *in = strcmp(opts->ndjson, "-") == 0 ? stdin : fopen(opts->ndjson, "r");
	char *line = NULL, what[WH_ERROR_PATH_MAX];
	size_t alloc = 0, lineno = 0;
	ssize_t len;
	int error = 0;

	if (!in)
		return wh_error_set(err, WH_EIO, "%s: %s", opts->ndjson, strerror(errno));
	while (!error && (len = getline(&line, &alloc, in)) >= 0) {
		size_t n = (size_t)len;

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
			     line[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		snprintf(what, sizeof(what), "%s:%zu", opts->ndjson, lineno);
		(*count)++;
		error = check_text(opts, schema, line, n, what, invalid, err);
	}
	if (!error && ferror(in))
		error = wh_error_set(err, WH_EIO, "%s: read error", opts->ndjson);
	free(line);
	if (in != stdin)
		fclose(in);
	return error;
}

static int load_schema(struct wh_schema **out, const struct wh_options *opts, struct wh_error *err)
{
	struct wh_schema_issues issues = WH_SCHEMA_ISSUES_INIT;
	struct wh_schema_config cfg;
	char *text = NULL, *base = NULL, real[PATH_MAX];
	size_t len;
	json_t *doc = NULL;
	int error;

	error = wh_read_file(&text, &len, opts->schema, MAX_SCHEMA_FILE, err);
	if (error) {
		err->code = error = WH_ECONFIG;
		goto out;
	}
	error = wh_schema_parse(&doc, text, len, opts->schema, err);
	if (error) {
		err->code = error = WH_ECONFIG;
		wh_error_prefix(err, "schema");
		goto out;
	}
	if (strcmp(opts->schema, "-") != 0 && realpath(opts->schema, real))
		base = wh_strdupf("file://%s", real);
	memset(&cfg, 0, sizeof(cfg));
	cfg.base_uri = base;
	cfg.remotes = opts->remote;
	cfg.nremotes = opts->nremote;
	cfg.check_metaschema = 1;
	error = wh_schema_compile(out, doc, &cfg, &issues, err);
	if (error && issues.count) {
		if (opts->output == WH_OUTPUT_JSON) {
			json_t *list = issues_json(&issues);
			json_t *obj =
			    list ? json_pack("{s:b, s:o}", "schema_valid", 0, "errors", list)
				 : NULL;
			char *dump = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

			if (dump)
				printf("%s\n", dump);
			free(dump);
			json_decref(obj);
		} else {
			fprintf(stderr, "whrun: %s: the schema is not valid:\n", opts->schema);
			print_issues_text(stderr, &issues);
		}
	}
out:
	wh_schema_issues_release(&issues);
	json_decref(doc);
	free(text);
	free(base);
	return error;
}

int wh_cmd_schema(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_schema *schema = NULL;
	size_t count = 0, invalid = 0;
	int error = 0;

	if (strcmp(opts->args[0], "validate") != 0)
		return wh_error_set(err, WH_EUSAGE,
				    "unknown schema subcommand '%s' (want: validate)",
				    opts->args[0]);
	if (!opts->schema)
		return wh_error_set(err, WH_EUSAGE, "schema validate needs --schema FILE");
	if (!opts->instance == !opts->ndjson)
		return wh_error_set(err, WH_EUSAGE,
				    "schema validate needs exactly one of --instance FILE and "
				    "--ndjson FILE");
	error = load_schema(&schema, opts, err);
	if (error)
		goto out;
	if (opts->instance) {
		char *text = NULL;
		size_t len;

		error = wh_read_file(&text, &len, opts->instance, MAX_INSTANCE_FILE, err);
		if (!error) {
			count = 1;
			error = check_text(opts, schema, text, len, opts->instance, &invalid, err);
		}
		free(text);
	} else {
		error = check_ndjson(opts, schema, &count, &invalid, err);
	}
	if (!error && invalid)
		error = wh_error_set(err, WH_EPAYLOAD, "%zu of %zu instance%s invalid", invalid,
				     count, count == 1 ? " is" : "s are");
out:
	wh_schema_free(schema);
	return error;
}
