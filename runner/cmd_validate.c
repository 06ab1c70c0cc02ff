/*
 * cmd_validate: `whrun validate` checks every definition file and schema at
 * the ref and reports every finding at once (exit 3 when any is an error),
 * for pull-request checks. It reads the committed definitions only, and
 * says so when the work tree holds uncommitted changes to them.
 */
#include <stdio.h>

#include "commands.h"
#include "load.h"
#include "payload.h"
#include "banned.h"

/* Compiles every schemas/<stage>.json of the repository as the main job
 * would (meta-schema included), so a schema that cannot work fails the
 * pull request, not a deploy. Findings go to diags. */
static int check_repo_schemas(const struct wh_config *config, struct wh_diags *diags,
			      struct wh_error *err)
{
	const char *stage;
	json_t *doc;

	json_object_foreach(config->schemas, stage, doc)
	{
		struct wh_schema *schema = NULL;
		struct wh_error serr = WH_ERROR_INIT;
		const char *origin;
		int error = wh_stage_schema(&schema, &origin, config, stage, &serr);

		wh_schema_free(schema);
		if (error == WH_ENOMEM)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		if (error < 0 &&
		    wh_diags_add(diags, WH_SEVERITY_ERROR, "", 0, 0, "%s", serr.message) < 0)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	return 0;
}

int wh_cmd_validate(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_config config;
	struct wh_diags diags;
	struct wh_gitsrc *src = NULL;
	git_oid commit;
	int error, dirty = 0;
	struct wh_error dirty_err = WH_ERROR_INIT;

	wh_config_init(&config);
	config.check_plugins = 1;
	config.report_warnings = 1;
	wh_diags_init(&diags);
	error = wh_load_at_ref(&config, &src, &commit, opts->repo, opts->ref, &diags, err);
	if (error < 0 && error != WH_ECONFIG)
		goto out;
	if (error < 0 && diags.count == 0)
		goto out; /* the repository or the ref, not the definitions */
	if (src)
		wh_gitsrc_dirty(&dirty, src, &dirty_err);
	if ((error = check_repo_schemas(&config, &diags, err)) == WH_ENOMEM)
		goto out;
	if (diags.errors && error == 0)
		error = wh_error_set(err, WH_ECONFIG, "%zu error%s in the definitions at %.12s",
				     diags.errors, diags.errors == 1 ? "" : "s", config.commit);
	wh_diags_sort(&diags);

	if (opts->output == WH_OUTPUT_JSON) {
		json_t *out = json_pack("{s:s, s:s, s:b, s:b, s:I, s:o, s:o}", "ref", opts->ref,
					"commit", config.commit, "valid", diags.errors == 0,
					"dirty", dirty, "hooks", (json_int_t)config.nhooks,
					"errors", wh_diags_to_json(&diags, WH_SEVERITY_ERROR),
					"warnings", wh_diags_to_json(&diags, WH_SEVERITY_WARNING));
		int perr = wh_print_json(out, err);
		if (perr < 0) {
			error = perr;
			goto out;
		}
		if (error < 0)
			wh_error_clear(err); /* the JSON said it all */
		goto out;
	}

	wh_print_diags(&diags);
	if (dirty)
		fprintf(stderr,
			"note: the work tree has uncommitted changes under hooks/ or schemas/; "
			"whrun reads the committed definitions at %s, not those edits\n",
			opts->ref);
	if (diags.errors == 0)
		printf("%zu hook%s valid at %s (%.12s)%s\n", config.nhooks,
		       config.nhooks == 1 ? "" : "s", opts->ref, config.commit,
		       diags.warnings ? ", with warnings" : "");
out:
	wh_gitsrc_free(src);
	wh_diags_release(&diags);
	wh_config_release(&config);
	return error;
}
