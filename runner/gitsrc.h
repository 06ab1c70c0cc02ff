/*
 * gitsrc: the Git config source. Opens the config repository (bare, work
 * tree, or a subdirectory of a work tree), resolves a ref to a commit, and
 * reads the definition and schema blobs of that commit straight from the
 * object database (SPEC section 2):
 *
 *   hooks/.../NAME.yaml or .yml   definitions, at any depth
 *   schemas/NAME.json             schemas, top level of schemas/ only
 *
 * Invariants:
 * - Reading never looks at the work tree or the index: what is returned is
 *   exactly what the commit holds, whatever is checked out or modified.
 * - Reading the config at one commit costs one tree walk of hooks/ and
 *   schemas/, independent of the history length (no revwalk).
 * - Sizes are bounded: every blob's size is checked from the object header
 *   before the blob is loaded, and the number of files is capped.
 * - libgit2's errors are translated once, here, into a wh_error (WH_ECONFIG
 *   for anything about the repository or the ref, WH_ENOMEM for memory).
 *
 * Symbolic links and submodules (gitlinks) under hooks/ and schemas/ are not
 * followed: a commit's symlink blob holds a path, not a definition, and a
 * submodule's commit is not in this repository. They are skipped and listed
 * in wh_config_files.skipped so that `validate` can warn about them.
 *
 * What this module deliberately does not do: parse YAML or JSON (see the
 * yaml and definitions modules), print anything, or initialise libgit2
 * (main() calls git_libgit2_init()).
 */
#ifndef WH_GITSRC_H
#define WH_GITSRC_H

#include <stddef.h>

#include <git2.h>

#include "error.h"

/* An open config repository. */
struct wh_gitsrc;

/*
 * Opens PATH: a bare repository, a work tree, or any directory inside a work
 * tree (the search goes up like `git`). A path that is not in a repository
 * fails with WH_ECONFIG "not a Git repository: PATH". On success *out belongs
 * to the caller (wh_gitsrc_free).
 */
int wh_gitsrc_open(struct wh_gitsrc **out, const char *path, struct wh_error *err);

/* Closes the repository; NULL is fine. */
void wh_gitsrc_free(struct wh_gitsrc *src);

/* The libgit2 repository, borrowed: valid until wh_gitsrc_free(src). */
git_repository *wh_gitsrc_repository(struct wh_gitsrc *src);

/* The repository's location used in messages: the work tree's top directory,
 * or the Git directory of a bare repository, without a trailing slash.
 * Borrowed, like wh_gitsrc_repository. */
const char *wh_gitsrc_path(const struct wh_gitsrc *src);

/*
 * Resolves REF (branch, tag (annotated tags are peeled), full or short sha,
 * HEAD~2, any `git rev-parse` syntax) to a commit id in *out. Fails with
 * WH_ECONFIG when the ref is not found, ambiguous, malformed, or names
 * something that is not a commit (the message names the ref and the
 * repository), and with WH_ECONFIG "repository has no commits: PATH" when the
 * repository is empty or REF is an unborn HEAD.
 */
int wh_gitsrc_resolve(git_oid *out, struct wh_gitsrc *src, const char *ref, struct wh_error *err);

struct wh_config_file {
	char *path;  /* repository-relative, e.g. "hooks/team/a.yaml" (owned) */
	char *data;  /* blob contents plus a NUL (owned); may hold NULs itself */
	size_t size; /* bytes of data, not counting the added NUL */
	git_oid blob;
};

struct wh_config_skipped {
	char *path;	  /* repository-relative (owned) */
	const char *kind; /* static: "symbolic link" or "submodule" */
};

struct wh_config_files {
	git_oid commit;
	char commit_hex[GIT_OID_HEXSZ + 1];
	git_oid hooks_tree, schemas_tree; /* zero oid when the folder is absent */
	struct wh_config_file *hooks;	  /* hooks/.../NAME.yaml|.yml, sorted by path */
	size_t nhooks;
	struct wh_config_file *schemas; /* schemas/NAME.json, top level only, sorted */
	size_t nschemas;
	struct wh_config_skipped *skipped; /* symlinks and submodules under those folders */
	size_t nskipped;
};

/* Default limits for wh_gitsrc_read (callers may pass others). */
#define WH_GITSRC_MAX_FILE_BYTES (1024 * 1024)
#define WH_GITSRC_MAX_FILES	 10000
/* Folders nested deeper than this under hooks/ are an error (a bound on recursion). */
#define WH_GITSRC_MAX_DEPTH 32

/*
 * Reads every definition and schema blob of COMMIT from the object database
 * into *out, which the caller releases with wh_config_files_release (also
 * after a failure: *out is then empty). A missing hooks/ or schemas/ is
 * valid (no files). Fails with WH_ECONFIG, naming the path, when a blob is
 * larger than max_file_bytes, when more than max_files definitions and
 * schemas exist, when hooks/ or schemas/ is not a folder, or when folders
 * nest deeper than WH_GITSRC_MAX_DEPTH; with WH_ECONFIG when an object is
 * missing or corrupt.
 */
int wh_gitsrc_read(struct wh_config_files *out, struct wh_gitsrc *src, const git_oid *commit,
		   size_t max_file_bytes, size_t max_files, struct wh_error *err);

/* Frees everything *files owns and leaves it empty; NULL is fine. */
void wh_config_files_release(struct wh_config_files *files);

/*
 * *out = 1 when the work tree has changes not in HEAD under hooks/ or
 * schemas/: staged, unstaged, or untracked (ignored files do not count);
 * 0 otherwise, and always 0 for a bare repository. Only those two folders
 * are scanned (git_status with an exact path list), so the cost does not
 * grow with the rest of the work tree.
 */
int wh_gitsrc_dirty(int *out, struct wh_gitsrc *src, struct wh_error *err);

/*
 * Callback of wh_gitsrc_walk. COMMIT and PARENT (its first parent, NULL for
 * a root commit) are borrowed for the duration of the call. Returning
 * non-zero stops the walk.
 */
typedef int (*wh_gitsrc_walk_cb)(git_commit *commit, git_commit *parent, void *payload);

/*
 * The history walk behind `whrun log`: from START, newest first (commit time
 * order, like `git log`), calls CB for each commit whose hooks/ or schemas/
 * tree id differs from its first parent's; a root commit counts when it has
 * either folder. Only root trees are read (the folders' ids come from their
 * entries), never a blob, so a commit that does not touch the config costs at
 * most two tree lookups (one when its parent was looked up just before).
 * Returns 0 at the end of history, CB's non-zero value when CB stopped the
 * walk (err untouched), or a negative code with err set.
 */
int wh_gitsrc_walk(struct wh_gitsrc *src, const git_oid *start, wh_gitsrc_walk_cb cb, void *payload,
		   struct wh_error *err);

#endif
