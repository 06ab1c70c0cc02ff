/*
 * cmd_run: the main job, `whrun --stage S`. In order, and stopping at the
 * first failure before anything is sent: load the definitions at the ref
 * (exit 3), read and validate the payload against the stage's schema
 * (exit 4, nothing sent), choose the hooks, resolve their secrets (exit 3),
 * open the journal and write the outbox rows (exit 3). Only then deliver,
 * print one line per target, and exit 1 when a required delivery failed or
 * is still pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dispatch.h"
#include "load.h"
#include "payload.h"
#include "banned.h"

static void print_issues(const struct wh_schema_issues *issues, const char *stage,
			 const char *origin)
{
	fprintf(stderr,
		"whrun: payload rejected by the %s schema of stage %s (%zu error%s); "
		"nothing was sent\n",
		origin, stage, issues->count, issues->count == 1 ? "" : "s");
	for (size_t i = 0; i < issues->count; i++) {
		const struct wh_schema_issue *is = &issues->items[i];
		fprintf(stderr, "  %s: %s (schema %s)\n",
			is->instance_location[0] ? is->instance_location : "/", is->message,
			is->keyword_location);
	}
}

/* Loads, validates and selects; fills d with one message per selected
 * hook. Shared by --dry-run and the real run. */
static int prepare(struct wh_dispatch *d, struct wh_config *config, struct wh_payload *payload,
		   const struct wh_options *opts, struct wh_error *err)
{
	struct wh_diags diags;
	struct wh_gitsrc *src = NULL;
	struct wh_schema *schema = NULL;
	struct wh_schema_issues issues;
	const char *origin = "";
	git_oid commit;
	int error;

	wh_diags_init(&diags);
	wh_schema_issues_init(&issues);
	error = wh_load_at_ref(config, &src, &commit, opts->repo, opts->ref, &diags, err);
	wh_diags_sort(&diags);
	if (error < 0) {
		wh_print_diags(&diags);
		goto out;
	}
	if ((error = wh_payload_read(payload, opts->payload, opts->data, err)) < 0 ||
	    (error = wh_stage_schema(&schema, &origin, config, opts->stage, err)) < 0)
		goto out;
	error = wh_schema_validate(schema, payload->json, &issues);
	if (error == WH_EPAYLOAD) {
		print_issues(&issues, opts->stage, origin);
		wh_error_clear(err);
		goto out;
	} else if (error < 0) {
		error = wh_error_set(err, error, "out of memory validating the payload");
		goto out;
	}

	for (size_t i = 0; i < config->nhooks; i++) {
		const struct wh_hook *hook = &config->hooks[i];
		size_t m;

		if (!wh_hook_selected(hook, opts->stage, payload->json))
			continue;
		if ((error = wh_dispatch_add_message(d, &m, hook, config->commit, opts->stage,
						     payload->text, payload->len, NULL, NULL, 0,
						     err)) < 0)
			goto out;
		for (size_t t = 0; t < hook->ntargets; t++) {
			if (!hook->targets[t].tls_verify)
				fprintf(stderr,
					"whrun: warning: %s: TLS verification is off for %s\n",
					hook->name, hook->targets[t].url);
			if ((error = wh_dispatch_add_delivery(d, m, t, 0, err)) < 0)
				goto out;
		}
	}
out:
	wh_schema_issues_release(&issues);
	wh_schema_free(schema);
	wh_gitsrc_free(src);
	wh_diags_release(&diags);
	return error;
}

int wh_cmd_run(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_config config;
	struct wh_payload payload;
	struct wh_dispatch d;
	struct wh_journal *journal = NULL;
	struct wh_deliver_options dopts;
	char *state = NULL;
	size_t missing;
	int error;

	wh_config_init(&config);
	memset(&payload, 0, sizeof(payload));
	wh_dispatch_init(&d);
	if ((error = prepare(&d, &config, &payload, opts, err)) < 0)
		goto out;
	if (d.ndeliveries == 0) {
		if (opts->output == WH_OUTPUT_JSON)
			error = wh_print_json(json_array(), err);
		else
			printf("no hooks matched stage %s at %.12s; nothing sent\n", opts->stage,
			       config.commit);
		goto out;
	}
	if (opts->dry_run) {
		printf("# dry run: %zu request%s, nothing sent\n", d.ndeliveries,
		       d.ndeliveries == 1 ? "" : "s");
		wh_dispatch_print_requests(&d, stdout);
		goto out;
	}

	if ((error = wh_journal_state_dir(&state, opts->state_dir, err)) < 0 ||
	    (error = wh_journal_open(&journal, state, WH_JOURNAL_CREATE, err)) < 0 ||
	    (error = wh_dispatch_insert(&d, journal, err)) < 0)
		goto out;

	memset(&dopts, 0, sizeof(dopts));
	dopts.concurrency = opts->concurrency;
	dopts.max_time_s = opts->max_time;
	dopts.allow_net = opts->allow_net;
	dopts.nallow_net = opts->nallow_net;
	dopts.stop = opts->stop ? &opts->stop->requested : NULL; /* SIGTERM: finish, journal */
	if ((error = wh_dispatch_run(&d, journal, &dopts, err)) < 0)
		goto out;

	if (opts->output == WH_OUTPUT_JSON) {
		missing = 0;
		for (size_t i = 0; i < d.ndeliveries; i++)
			if (d.deliveries[i].outcome != WH_OUTCOME_DELIVERED &&
			    d.messages[d.deliveries[i].message].hook->required)
				missing++;
		if ((error = wh_print_json(wh_dispatch_summary_json(&d), err)) < 0)
			goto out;
	} else {
		missing = wh_dispatch_summary(&d, stdout);
	}
	if (d.journal_error.code) {
		fprintf(stderr, "whrun: warning: some attempts could not be journaled: %s\n",
			d.journal_error.message);
	}
	if (missing)
		error = wh_error_set(err, WH_EDELIVERY,
				     "%zu required deliver%s not delivered (see 'whrun deliveries "
				     "--status pending'; 'whrun retry' sends what is due)",
				     missing, missing == 1 ? "y was" : "ies were");
out:
	wh_journal_close(journal);
	free(state);
	wh_dispatch_release(&d);
	wh_payload_release(&payload);
	wh_config_release(&config);
	return error;
}
