/*
 * load: reads the webhook definitions at one commit, end to end: the blobs
 * from Git (gitsrc), YAML to JSON (yaml), each file against
 * schemas/hook.schema.json, then the semantic checks and the defaults merge
 * (config). The repository's schemas/NAME.json are parsed into
 * config->schemas (stage -> schema document).
 *
 * Every finding of every file lands in the caller's diags; the load fails
 * with WH_ECONFIG when any of them is an error. The cost depends on the
 * size of hooks/ and schemas/ at that commit, never on the history.
 */
#ifndef WH_LOAD_H
#define WH_LOAD_H

#include <git2.h>

#include "config.h"
#include "error.h"
#include "gitsrc.h"

/*
 * Fills config (wh_config_init'ed by the caller, released by the caller
 * also on failure) with the definitions at commit. Returns 0; WH_ECONFIG
 * with err summarising when diags holds errors; another code for failures
 * that stop the load altogether (a Git object missing, out of memory).
 */
int wh_load_config(struct wh_config *config, struct wh_gitsrc *src, const git_oid *commit,
		   struct wh_diags *diags, struct wh_error *err);

/* Opens repo and resolves ref, then loads as above. *src is the caller's
 * (wh_gitsrc_free) whenever it is set, also on failure. */
int wh_load_at_ref(struct wh_config *config, struct wh_gitsrc **src, git_oid *commit,
		   const char *repo, const char *ref, struct wh_diags *diags, struct wh_error *err);

#endif
