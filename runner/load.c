/* load: Git blobs -> YAML -> hook.schema.json -> config (see load.h). */
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "hookschema.h"
#include "plugin.h"
#include "util.h"
#include "yaml.h"
#include "banned.h"

/* schemas/NAME.json -> NAME (malloc'ed); NULL for other names and for
 * hook.schema.json, which is not a stage. */
static char *stage_of_schema_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".json") != 0)
		return NULL;
	if (strcmp(base, "hook.schema.json") == 0)
		return NULL;
	return strndup(base, len - 5);
}

static int load_schemas(struct wh_config *config, const struct wh_config_files *files,
			struct wh_diags *diags)
{
	for (size_t i = 0; i < files->nschemas; i++) {
		const struct wh_config_file *f = &files->schemas[i];
		json_error_t jerr;
		json_t *doc;
		char *stage;
		int error;

		doc = json_loadb(f->data, f->size, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc) {
			error = wh_diags_add(diags, WH_SEVERITY_ERROR, f->path, jerr.line,
					     jerr.column, "invalid JSON: %s", jerr.text);
			if (error < 0)
				return error;
			continue;
		}
		if (!json_is_object(doc) && !json_is_boolean(doc)) {
			json_decref(doc);
			if ((error = wh_diags_add(diags, WH_SEVERITY_ERROR, f->path, 1, 1,
						  "a schema must be a JSON object or boolean")) < 0)
				return error;
			continue;
		}
		stage = stage_of_schema_path(f->path);
		if (!stage) {
			json_decref(doc);
			continue;
		}
		if (strcmp(stage, "ping") == 0) {
			json_decref(doc);
			free(stage);
			if ((error = wh_diags_add(diags, WH_SEVERITY_ERROR, f->path, 1, 1,
						  "'ping' is reserved for `whrun ping`; a "
						  "repository cannot define its schema")) < 0)
				return error;
			continue;
		}
		error = json_object_set_new(config->schemas, stage, doc) ? WH_ENOMEM : 0;
		free(stage);
		if (error < 0)
			return error;
	}
	return 0;
}

static int has_finding_on_line(const struct wh_diags *diags, int line)
{
	for (size_t i = 0; i < diags->count; i++)
		if (diags->items[i].line == line)
			return 1;
	return 0;
}

/*
 * Checks one parsed file against hook.schema.json and the semantic rules;
 * the findings go to diags. Both always run: the semantic checks word
 * most problems better (and cover what a schema cannot), so a schema
 * error on a line where a semantic check already reported is left out.
 */
static int check_file(struct wh_config *config, struct wh_schema *hook_schema,
		      const struct wh_config_file *f, json_t *doc, const json_t *positions,
		      struct wh_diags *diags)
{
	struct wh_diags by_schema, by_rules;
	size_t first = config->nhooks;
	int error;

	wh_diags_init(&by_schema);
	wh_diags_init(&by_rules);
	if ((error = wh_hookschema_check(hook_schema, doc, positions, f->path, &by_schema)) < 0 ||
	    (error = wh_config_add_file(config, f->path, doc, positions, &by_rules)) < 0)
		goto out;
	if (config->check_plugins &&
	    (error = wh_plugin_check_file(config, first, doc, positions, f->path, &by_rules)) < 0)
		goto out;
	for (size_t i = 0; i < by_rules.count && !error; i++) {
		const struct wh_diag *d = &by_rules.items[i];
		error =
		    wh_diags_add(diags, d->severity, d->path, d->line, d->column, "%s", d->message);
	}
	for (size_t i = 0; i < by_schema.count && !error; i++) {
		const struct wh_diag *d = &by_schema.items[i];
		if (d->line > 0 && has_finding_on_line(&by_rules, d->line))
			continue;
		error =
		    wh_diags_add(diags, d->severity, d->path, d->line, d->column, "%s", d->message);
	}
out:
	wh_diags_release(&by_schema);
	wh_diags_release(&by_rules);
	return error;
}

/*
 * Loads one definition file. The full position table costs more than the
 * parse itself, and only findings need it: so the file is first checked
 * with a table of the top two levels only (each hook's place), and only
 * when that finds something is it parsed again with every position
 * (parsing is deterministic) and checked again for located findings.
 */
static int load_file(struct wh_config *config, struct wh_schema *hook_schema,
		     const struct wh_config_file *f, const struct wh_yaml_limits *limits,
		     struct wh_diags *diags)
{
	struct wh_error file_err = WH_ERROR_INIT;
	struct wh_diags scratch;
	json_t *doc = NULL, *positions = NULL;
	size_t nhooks = config->nhooks;
	int error;

	struct wh_yaml_limits light = *limits;

	/* the cheap table still locates each hook (for list and cross-file findings) */
	light.position_depth = 2;
	if (wh_yaml_load(&doc, &positions, f->data, f->size, f->path, &light, &file_err) < 0)
		return file_err.code == WH_ENOMEM ? WH_ENOMEM
						  : wh_diags_add_error(diags, &file_err);
	wh_diags_init(&scratch);
	error = check_file(config, hook_schema, f, doc, positions, &scratch);
	json_decref(doc);
	json_decref(positions);
	doc = positions = NULL;
	if (error < 0 || scratch.errors + (config->report_warnings ? scratch.warnings : 0) == 0)
		goto out;

	wh_config_truncate(config, nhooks);
	if ((error = wh_yaml_load(&doc, &positions, f->data, f->size, f->path, limits, &file_err)) <
	    0)
		goto out;
	error = check_file(config, hook_schema, f, doc, positions, diags);
out:
	wh_diags_release(&scratch);
	json_decref(doc);
	json_decref(positions);
	return error;
}

int wh_load_config(struct wh_config *config, struct wh_gitsrc *src, const git_oid *commit,
		   struct wh_diags *diags, struct wh_error *err)
{
	struct wh_config_files files;
	struct wh_yaml_limits limits;
	struct wh_schema *hook_schema = NULL;
	int error;

	memset(&files, 0, sizeof(files));
	if ((error = wh_hookschema_compile(&hook_schema, err)) < 0)
		return error;
	wh_yaml_limits_default(&limits);
	if ((error = wh_gitsrc_read(&files, src, commit, WH_GITSRC_MAX_FILE_BYTES,
				    WH_GITSRC_MAX_FILES, err)) < 0)
		goto out;
	wh_strlcpy(config->commit, files.commit_hex, sizeof(config->commit));

	for (size_t i = 0; i < files.nskipped; i++)
		if ((error = wh_diags_add(diags, WH_SEVERITY_WARNING, files.skipped[i].path, 0, 0,
					  "%s skipped (not followed)", files.skipped[i].kind)) < 0)
			goto nomem;
	if ((error = load_schemas(config, &files, diags)) < 0)
		goto nomem;

	for (size_t i = 0; i < files.nhooks; i++)
		if ((error = load_file(config, hook_schema, &files.hooks[i], &limits, diags)) < 0)
			goto nomem;
	if ((error = wh_config_finish(config, diags)) < 0)
		goto nomem;
	if (diags->errors)
		error = wh_error_set(err, WH_ECONFIG, "%zu error%s in the definitions at %.12s",
				     diags->errors, diags->errors == 1 ? "" : "s", config->commit);
	goto out;
nomem:
	error = wh_error_set(err, WH_ENOMEM, "out of memory loading definitions");
out:
	wh_config_files_release(&files);
	wh_schema_free(hook_schema);
	return error;
}

int wh_load_at_ref(struct wh_config *config, struct wh_gitsrc **src, git_oid *commit,
		   const char *repo, const char *ref, struct wh_diags *diags, struct wh_error *err)
{
	int error;

	*src = NULL;
	if ((error = wh_gitsrc_open(src, repo, err)) < 0)
		return error;
	if ((error = wh_gitsrc_resolve(commit, *src, ref, err)) < 0)
		return error;
	return wh_load_config(config, *src, commit, diags, err);
}
