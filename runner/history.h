/*
 * history: what changed in the definitions between two commits, and along
 * the history (`whrun diff`, `whrun log`).
 *
 * A snapshot is the set of hooks at one commit, by name, each as its
 * definition after the defaults merge, plus the repository's schemas by
 * name. Snapshots are built leniently: a file that does not parse is left
 * out and counted in "broken" (the audit must still show what the rest of
 * the commit changed), and no secret is resolved. Snapshots are cached by
 * the pair of hooks/ and schemas/ tree ids, so commits that share a config
 * share the work, and `log` loads each distinct config once.
 *
 * A change is {"hook": NAME, "change": "added"|"removed"|"changed",
 * "fields": [top-level definition keys that differ, sorted]}; for schemas
 * {"schema": STAGE, "change": ...}.
 */
#ifndef WH_HISTORY_H
#define WH_HISTORY_H

#include <git2.h>
#include <jansson.h>

#include "error.h"
#include "gitsrc.h"

/* Snapshot at commit: {"commit": hex, "hooks": {name: def}, "schemas":
 * {stage: doc}, "broken": [paths]} (new reference in *out). */
int wh_history_snapshot(json_t **out, struct wh_gitsrc *src, const git_oid *commit,
			struct wh_error *err);

/* Changes from before to after (both snapshots, borrowed; before may be
 * NULL for a root commit): {"hooks": [...], "schemas": [...]}, sorted by
 * name. New reference, NULL when out of memory. */
json_t *wh_history_compare(const json_t *before, const json_t *after);

/* `whrun log`: up to max_commits (-1: all) commits from start, newest
 * first, that changed definitions or schemas (and, when hook is not NULL,
 * that hook). Result: a JSON array of {commit, author: {name, email},
 * date (RFC 3339 UTC), subject, hooks: [...], schemas: [...]}. */
int wh_history_log(json_t **out, struct wh_gitsrc *src, const git_oid *start, const char *hook,
		   long max_commits, struct wh_error *err);

#endif
