/*
 * cmd_list: `whrun list [--stage S]` shows the hooks at the ref, with their
 * events, kind, signature and targets; with --stage, only the hooks that
 * listen to that stage (disabled ones are shown and marked).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "load.h"
#include "banned.h"

static const char *signature_name(enum wh_signature s)
{
	switch (s) {
	case WH_SIGNATURE_STANDARD_WEBHOOKS:
		return "standard-webhooks";
	case WH_SIGNATURE_GITHUB:
		return "github";
	case WH_SIGNATURE_STRIPE:
		return "stripe";
	case WH_SIGNATURE_HMAC_HEX:
		return "hmac-hex";
	case WH_SIGNATURE_NONE:
		break;
	}
	return "none";
}

static json_t *hook_to_json(const struct wh_hook *hook)
{
	json_t *events = json_array(), *targets = json_array();

	for (size_t i = 0; i < hook->nevents; i++)
		json_array_append_new(events, json_string(hook->events[i]));
	for (size_t i = 0; i < hook->ntargets; i++) {
		const struct wh_target *t = &hook->targets[i];
		json_array_append_new(
		    targets, json_pack("{s:s?, s:s?}", "url", t->url, "method", t->method));
	}
	return json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:b, s:I, s:i, s:s, s:i, s:o, s:O}",
			 "name", hook->name, "description", hook->description, "enabled",
			 hook->enabled, "kind", hook->kind_name, "events", events, "signature",
			 signature_name(hook->signature), "required", hook->required, "timeout_ms",
			 (json_int_t)hook->timeout_ms, "retry_attempts", hook->retry_attempts,
			 "file", hook->file, "line", hook->line, "targets", targets, "definition",
			 hook->definition);
}

int wh_cmd_list(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_config config;
	struct wh_diags diags;
	struct wh_gitsrc *src = NULL;
	git_oid commit;
	json_t *list = NULL;
	size_t shown = 0;
	int error;

	wh_config_init(&config);
	wh_diags_init(&diags);
	error = wh_load_at_ref(&config, &src, &commit, opts->repo, opts->ref, &diags, err);
	if (error < 0) {
		wh_diags_sort(&diags);
		wh_print_diags(&diags);
		goto out;
	}
	if (opts->output == WH_OUTPUT_JSON && !(list = json_array())) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < config.nhooks; i++) {
		const struct wh_hook *hook = &config.hooks[i];

		if (opts->stage && !wh_hook_has_event(hook, opts->stage))
			continue;
		shown++;
		if (list) {
			json_array_append_new(list, hook_to_json(hook));
			continue;
		}
		printf("%s%s\n", hook->name, hook->enabled ? "" : " (disabled)");
		if (*hook->description)
			printf("  %s\n", hook->description);
		printf("  events: ");
		for (size_t e = 0; e < hook->nevents; e++)
			printf("%s%s", e ? ", " : "", hook->events[e]);
		printf("\n  kind: %s, signature: %s, %s, timeout %ldms, %d attempt%s\n",
		       hook->kind_name, signature_name(hook->signature),
		       hook->required ? "required" : "optional", hook->timeout_ms,
		       hook->retry_attempts, hook->retry_attempts == 1 ? "" : "s");
		for (size_t t = 0; t < hook->ntargets; t++)
			printf("  -> %s %s\n", hook->targets[t].method,
			       hook->targets[t].url ? hook->targets[t].url : "(plugin target)");
		printf("  defined at %s:%d\n", hook->file, hook->line);
	}
	if (list)
		error = wh_print_json(list, err);
	else if (shown == 0)
		printf("no hooks%s%s at %s (%.12s)\n", opts->stage ? " for stage " : "",
		       opts->stage ? opts->stage : "", opts->ref, config.commit);
out:
	wh_gitsrc_free(src);
	wh_diags_release(&diags);
	wh_config_release(&config);
	return error;
}
