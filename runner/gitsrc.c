/*
 * gitsrc: the config repository, read from Git objects (see gitsrc.h).
 *
 * Every libgit2 failure is turned into a wh_error right where the call is
 * made, with a sentence that names what we were doing (the ref, the commit,
 * the repository) followed by libgit2's own message when it adds something.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "gitsrc.h"
#include "util.h"
#include "banned.h"

struct wh_gitsrc {
	git_repository *repo;
	char *path; /* for messages: work tree top or bare Git directory */
};

/* WH_ENOMEM when libgit2 ran out of memory, else the given code. */
static int git_code(int code)
{
	const git_error *e = git_error_last();

	return e && e->klass == GIT_ERROR_NOMEMORY ? WH_ENOMEM : code;
}

/* Sets err to "WHAT: libgit2's message" and returns the wh code. */
static int git_fail(struct wh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int git_fail(struct wh_error *err, int code, const char *fmt, ...)
{
	char what[WH_ERROR_MESSAGE_MAX];
	const git_error *e = git_error_last();
	va_list ap;

	code = git_code(code);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e && e->message && e->message[0])
		return wh_error_set(err, code, "%s: %s", what, e->message);
	return wh_error_set(err, code, "%s", what);
}

static int no_memory(struct wh_error *err)
{
	return wh_error_set(err, WH_ENOMEM, "out of memory");
}

int wh_gitsrc_open(struct wh_gitsrc **out, const char *path, struct wh_error *err)
{
	struct wh_gitsrc *src = NULL;
	const char *where;
	size_t len;
	int error = 0, rc;

	*out = NULL;
	src = calloc(1, sizeof(*src));
	if (!src) {
		error = no_memory(err);
		goto out;
	}
	rc = git_repository_open_ext(&src->repo, path, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		error = wh_error_set(err, WH_ECONFIG, "not a Git repository: %s", path);
		goto out;
	}
	if (rc == GIT_EOWNER) {
		error = wh_error_set(err, WH_ECONFIG,
				     "Git repository %s is owned by another user (git refuses it "
				     "unless listed in safe.directory)",
				     path);
		goto out;
	}
	if (rc < 0) {
		error = git_fail(err, WH_ECONFIG, "cannot open the Git repository %s", path);
		goto out;
	}
	where = git_repository_is_bare(src->repo) ? git_repository_path(src->repo)
						  : git_repository_workdir(src->repo);
	src->path = strdup(where ? where : path);
	if (!src->path) {
		error = no_memory(err);
		goto out;
	}
	len = strlen(src->path);
	while (len > 1 && src->path[len - 1] == '/')
		src->path[--len] = '\0';
	*out = src;
	src = NULL;
out:
	wh_gitsrc_free(src);
	return error;
}

void wh_gitsrc_free(struct wh_gitsrc *src)
{
	if (!src)
		return;
	git_repository_free(src->repo);
	free(src->path);
	free(src);
}

git_repository *wh_gitsrc_repository(struct wh_gitsrc *src)
{
	return src->repo;
}

const char *wh_gitsrc_path(const struct wh_gitsrc *src)
{
	return src->path;
}

static int refers_to_head(const char *ref)
{
	return strncmp(ref, "HEAD", 4) == 0 || ref[0] == '@';
}

/* libgit2 calls every hex string shorter than GIT_OID_MINPREFIXLEN
 * "ambiguous"; for a user it is simply a name that does not exist. */
static int too_short_for_a_sha(const char *ref)
{
	size_t n = strspn(ref, "0123456789abcdefABCDEF");

	return ref[n] == '\0' && n < GIT_OID_MINPREFIXLEN;
}

/* The error for a ref that did not resolve, once rc says why. */
static int resolve_fail(struct wh_gitsrc *src, const char *ref, int rc, struct wh_error *err)
{
	char detail[WH_ERROR_MESSAGE_MAX];
	const git_error *e = git_error_last();

	/* Keep libgit2's message before the calls below replace it. */
	wh_strlcpy(detail, e && e->message ? e->message : "", sizeof(detail));
	if (git_repository_is_empty(src->repo) == 1)
		return wh_error_set(err, WH_ECONFIG, "repository has no commits: %s", src->path);
	if (refers_to_head(ref) && git_repository_head_unborn(src->repo) == 1)
		return wh_error_set(err, WH_ECONFIG,
				    "repository has no commits on its current branch (HEAD): %s",
				    src->path);
	if (rc == GIT_EAMBIGUOUS && too_short_for_a_sha(ref))
		rc = GIT_ENOTFOUND;
	switch (rc) {
	case GIT_ENOTFOUND:
	case GIT_EUNBORNBRANCH:
		return wh_error_set(err, WH_ECONFIG, "ref '%s' not found in %s", ref, src->path);
	case GIT_EAMBIGUOUS:
		return wh_error_set(err, WH_ECONFIG,
				    "ref '%s' is ambiguous in %s (give more digits of the sha)",
				    ref, src->path);
	case GIT_EINVALIDSPEC:
		return wh_error_set(err, WH_ECONFIG, "ref '%s' is not a valid revision in %s: %s",
				    ref, src->path, detail);
	default:
		return wh_error_set(err, git_code(WH_ECONFIG), "cannot resolve ref '%s' in %s: %s",
				    ref, src->path, detail);
	}
}

int wh_gitsrc_resolve(git_oid *out, struct wh_gitsrc *src, const char *ref, struct wh_error *err)
{
	git_object *object = NULL, *commit = NULL;
	git_object_t type;
	int error = 0, rc;

	rc = git_revparse_single(&object, src->repo, ref);
	if (rc < 0) {
		error = resolve_fail(src, ref, rc, err);
		goto out;
	}
	if (git_object_peel(&commit, object, GIT_OBJECT_COMMIT) < 0) {
		type = git_object_type(object);
		if (type == GIT_OBJECT_TAG)
			type = git_tag_target_type((git_tag *)object);
		error = wh_error_set(err, WH_ECONFIG, "ref '%s' in %s names a %s, not a commit",
				     ref, src->path, git_object_type2string(type));
		goto out;
	}
	git_oid_cpy(out, git_object_id(commit));
out:
	git_object_free(commit);
	git_object_free(object);
	return error;
}

/* What wh_gitsrc_read carries through its recursion. */
struct reader {
	git_repository *repo;
	git_odb *odb;
	const char *commit_hex;
	size_t max_file_bytes, max_files;
	struct wh_config_files *files;
	size_t hooks_alloc, schemas_alloc, skipped_alloc;
	struct wh_error *err;
};

static int ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && memcmp(name + n - s, suffix, s) == 0;
}

static int count_file(struct reader *r, const char *path)
{
	const struct wh_config_files *f = r->files;

	if (f->nhooks + f->nschemas + f->nskipped < r->max_files)
		return 0;
	return wh_error_set_at(r->err, WH_ECONFIG, path, 0, 0,
			       "more than %zu definition and schema files at commit %s",
			       r->max_files, r->commit_hex);
}

/* Makes room for one more element in *items (of count used, *alloc allocated). */
static int grow(void **items, size_t *alloc, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (count < *alloc)
		return 0;
	n = *alloc ? *alloc * 2 : 16;
	p = realloc(*items, n * size);
	if (!p)
		return WH_ENOMEM;
	*items = p;
	*alloc = n;
	return 0;
}

static int add_skipped(struct reader *r, const char *path, const char *kind)
{
	struct wh_config_files *f = r->files;
	struct wh_config_skipped *s;
	int error;

	if ((error = count_file(r, path)) < 0)
		return error;
	if (grow((void **)&f->skipped, &r->skipped_alloc, f->nskipped, sizeof(*s)) < 0)
		return no_memory(r->err);
	s = &f->skipped[f->nskipped];
	s->path = strdup(path);
	if (!s->path)
		return no_memory(r->err);
	s->kind = kind;
	f->nskipped++;
	return 0;
}

/* Appends the blob ID at PATH to *list, its size checked before it is read. */
static int add_blob(struct reader *r, struct wh_config_file **list, size_t *count, size_t *alloc,
		    const char *path, const git_oid *id)
{
	struct wh_config_file *file;
	git_blob *blob = NULL;
	git_object_t type;
	size_t size;
	int error = 0;

	if ((error = count_file(r, path)) < 0)
		goto out;
	if (git_odb_read_header(&size, &type, r->odb, id) < 0) {
		error = git_fail(r->err, WH_ECONFIG, "cannot read %s at commit %s", path,
				 r->commit_hex);
		goto out;
	}
	if (size > r->max_file_bytes) {
		error = wh_error_set_at(r->err, WH_ECONFIG, path, 0, 0,
					"file is %zu bytes, more than the limit of %zu bytes", size,
					r->max_file_bytes);
		goto out;
	}
	if (git_blob_lookup(&blob, r->repo, id) < 0) {
		error = git_fail(r->err, WH_ECONFIG, "cannot read %s at commit %s", path,
				 r->commit_hex);
		goto out;
	}
	size = (size_t)git_blob_rawsize(blob);
	if (grow((void **)list, alloc, *count, sizeof(**list)) < 0) {
		error = no_memory(r->err);
		goto out;
	}
	file = &(*list)[*count];
	memset(file, 0, sizeof(*file));
	file->path = strdup(path);
	file->data = malloc(size + 1);
	if (!file->path || !file->data) {
		free(file->path);
		free(file->data);
		error = no_memory(r->err);
		goto out;
	}
	memcpy(file->data, git_blob_rawcontent(blob), size);
	file->data[size] = '\0';
	file->size = size;
	git_oid_cpy(&file->blob, id);
	(*count)++;
out:
	git_blob_free(blob);
	return error;
}

static int read_hooks(struct reader *r, const git_oid *tree_id, const char *dir, int depth)
{
	git_tree *tree = NULL;
	char *path = NULL;
	size_t i, n;
	int error = 0;

	if (depth > WH_GITSRC_MAX_DEPTH) {
		error = wh_error_set_at(r->err, WH_ECONFIG, dir, 0, 0,
					"folders nested more than %d deep under hooks/",
					WH_GITSRC_MAX_DEPTH);
		goto out;
	}
	if (git_tree_lookup(&tree, r->repo, tree_id) < 0) {
		error =
		    git_fail(r->err, WH_ECONFIG, "cannot read %s at commit %s", dir, r->commit_hex);
		goto out;
	}
	n = git_tree_entrycount(tree);
	for (i = 0; i < n && !error; i++) {
		const git_tree_entry *entry = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(entry);

		free(path);
		path = wh_strdupf("%s/%s", dir, name);
		if (!path) {
			error = no_memory(r->err);
			break;
		}
		switch (git_tree_entry_filemode(entry)) {
		case GIT_FILEMODE_TREE:
			error = read_hooks(r, git_tree_entry_id(entry), path, depth + 1);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			if (ends_with(name, ".yaml") || ends_with(name, ".yml"))
				error = add_blob(r, &r->files->hooks, &r->files->nhooks,
						 &r->hooks_alloc, path, git_tree_entry_id(entry));
			break;
		case GIT_FILEMODE_LINK:
			error = add_skipped(r, path, "symbolic link");
			break;
		case GIT_FILEMODE_COMMIT:
			error = add_skipped(r, path, "submodule");
			break;
		default:
			break;
		}
	}
out:
	free(path);
	git_tree_free(tree);
	return error;
}

static int read_schemas(struct reader *r, const git_oid *tree_id)
{
	git_tree *tree = NULL;
	char *path = NULL;
	size_t i, n;
	int error = 0;

	if (git_tree_lookup(&tree, r->repo, tree_id) < 0) {
		error =
		    git_fail(r->err, WH_ECONFIG, "cannot read schemas at commit %s", r->commit_hex);
		goto out;
	}
	n = git_tree_entrycount(tree);
	for (i = 0; i < n && !error; i++) {
		const git_tree_entry *entry = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(entry);
		git_filemode_t mode = git_tree_entry_filemode(entry);

		if (!ends_with(name, ".json") || mode == GIT_FILEMODE_TREE)
			continue;
		free(path);
		path = wh_strdupf("schemas/%s", name);
		if (!path) {
			error = no_memory(r->err);
			break;
		}
		if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE)
			error = add_blob(r, &r->files->schemas, &r->files->nschemas,
					 &r->schemas_alloc, path, git_tree_entry_id(entry));
		else if (mode == GIT_FILEMODE_LINK)
			error = add_skipped(r, path, "symbolic link");
		else if (mode == GIT_FILEMODE_COMMIT)
			error = add_skipped(r, path, "submodule");
	}
out:
	free(path);
	git_tree_free(tree);
	return error;
}

/* Finds folder NAME at the top of ROOT: *id is zeroed when it is absent. */
static int top_folder(git_oid *id, git_tree *root, const char *name, struct reader *r)
{
	const git_tree_entry *entry = git_tree_entry_byname(root, name);

	memset(id, 0, sizeof(*id));
	if (!entry)
		return 0;
	if (git_tree_entry_filemode(entry) != GIT_FILEMODE_TREE)
		return wh_error_set_at(r->err, WH_ECONFIG, name, 0, 0,
				       "not a folder at commit %s (a %s)", r->commit_hex,
				       git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK
					   ? "symbolic link"
					   : git_object_type2string(git_tree_entry_type(entry)));
	git_oid_cpy(id, git_tree_entry_id(entry));
	return 0;
}

static int compare_files(const void *a, const void *b)
{
	const struct wh_config_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int compare_skipped(const void *a, const void *b)
{
	const struct wh_config_skipped *x = a, *y = b;

	return strcmp(x->path, y->path);
}

int wh_gitsrc_read(struct wh_config_files *out, struct wh_gitsrc *src, const git_oid *commit_id,
		   size_t max_file_bytes, size_t max_files, struct wh_error *err)
{
	struct reader r;
	git_commit *commit = NULL;
	git_tree *root = NULL;
	int error = 0;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	git_oid_cpy(&out->commit, commit_id);
	git_oid_tostr(out->commit_hex, sizeof(out->commit_hex), commit_id);
	r.repo = src->repo;
	r.commit_hex = out->commit_hex;
	r.max_file_bytes = max_file_bytes;
	r.max_files = max_files;
	r.files = out;
	r.err = err;
	if (git_repository_odb(&r.odb, src->repo) < 0) {
		error =
		    git_fail(err, WH_ECONFIG, "cannot open the object database of %s", src->path);
		goto out;
	}
	if (git_commit_lookup(&commit, src->repo, commit_id) < 0 ||
	    git_commit_tree(&root, commit) < 0) {
		error = git_fail(err, WH_ECONFIG, "cannot read commit %s in %s", out->commit_hex,
				 src->path);
		goto out;
	}
	if ((error = top_folder(&out->hooks_tree, root, "hooks", &r)) < 0 ||
	    (error = top_folder(&out->schemas_tree, root, "schemas", &r)) < 0)
		goto out;
	if (!git_oid_is_zero(&out->hooks_tree) &&
	    (error = read_hooks(&r, &out->hooks_tree, "hooks", 0)) < 0)
		goto out;
	if (!git_oid_is_zero(&out->schemas_tree) &&
	    (error = read_schemas(&r, &out->schemas_tree)) < 0)
		goto out;
	if (out->nhooks > 1)
		qsort(out->hooks, out->nhooks, sizeof(*out->hooks), compare_files);
	if (out->nschemas > 1)
		qsort(out->schemas, out->nschemas, sizeof(*out->schemas), compare_files);
	if (out->nskipped > 1)
		qsort(out->skipped, out->nskipped, sizeof(*out->skipped), compare_skipped);
out:
	if (error)
		wh_config_files_release(out);
	git_tree_free(root);
	git_commit_free(commit);
	git_odb_free(r.odb);
	return error;
}

static void release_list(struct wh_config_file *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(list[i].path);
		free(list[i].data);
	}
	free(list);
}

void wh_config_files_release(struct wh_config_files *files)
{
	if (!files)
		return;
	release_list(files->hooks, files->nhooks);
	release_list(files->schemas, files->nschemas);
	for (size_t i = 0; i < files->nskipped; i++)
		free(files->skipped[i].path);
	free(files->skipped);
	memset(files, 0, sizeof(*files));
}

int wh_gitsrc_dirty(int *out, struct wh_gitsrc *src, struct wh_error *err)
{
	/* Exact paths (no fnmatch) let libgit2 restrict its iterators to these
	 * two folders instead of scanning the whole work tree. */
	char *paths[] = {"hooks", "schemas"};
	git_status_options opts;
	git_status_list *list = NULL;
	int error = 0;

	*out = 0;
	if (git_repository_is_bare(src->repo))
		goto out;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH |
		     GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	opts.pathspec.strings = paths;
	opts.pathspec.count = WH_ARRAY_SIZE(paths);
	if (git_status_list_new(&list, src->repo, &opts) < 0) {
		error = git_fail(err, WH_ECONFIG, "cannot read the status of %s", src->path);
		goto out;
	}
	*out = git_status_list_entrycount(list) > 0;
out:
	git_status_list_free(list);
	return error;
}

/* The ids of hooks/ and schemas/ in one root tree, remembered for the next
 * commit: in time order a commit's parent is usually the next one walked. */
struct folder_ids {
	git_oid tree, hooks, schemas;
	int valid;
};

static int folder_ids(struct folder_ids *ids, git_repository *repo, const git_commit *commit,
		      struct folder_ids *cache)
{
	const git_oid *tree_id = git_commit_tree_id(commit);
	const git_tree_entry *entry;
	git_tree *tree = NULL;

	if (cache && cache->valid && git_oid_equal(&cache->tree, tree_id)) {
		*ids = *cache;
		return 0;
	}
	if (git_tree_lookup(&tree, repo, tree_id) < 0)
		return -1;
	memset(ids, 0, sizeof(*ids));
	git_oid_cpy(&ids->tree, tree_id);
	if ((entry = git_tree_entry_byname(tree, "hooks")))
		git_oid_cpy(&ids->hooks, git_tree_entry_id(entry));
	if ((entry = git_tree_entry_byname(tree, "schemas")))
		git_oid_cpy(&ids->schemas, git_tree_entry_id(entry));
	ids->valid = 1;
	git_tree_free(tree);
	return 0;
}

int wh_gitsrc_walk(struct wh_gitsrc *src, const git_oid *start, wh_gitsrc_walk_cb cb, void *payload,
		   struct wh_error *err)
{
	struct folder_ids cache = {0}, mine, theirs;
	char hex[GIT_OID_HEXSZ + 1];
	git_revwalk *walk = NULL;
	git_commit *commit = NULL, *parent = NULL;
	git_oid id;
	int error = 0, rc, changed;

	git_oid_tostr(hex, sizeof(hex), start);
	if (git_revwalk_new(&walk, src->repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, start) < 0) {
		error = git_fail(err, WH_ECONFIG, "cannot walk the history of %s from %s",
				 src->path, hex);
		goto out;
	}
	while ((rc = git_revwalk_next(&id, walk)) == 0) {
		git_oid_tostr(hex, sizeof(hex), &id);
		if (git_commit_lookup(&commit, src->repo, &id) < 0 ||
		    folder_ids(&mine, src->repo, commit, &cache) < 0) {
			error = git_fail(err, WH_ECONFIG, "cannot read commit %s in %s", hex,
					 src->path);
			goto out;
		}
		if (git_commit_parentcount(commit) > 0) {
			if (git_commit_parent(&parent, commit, 0) < 0 ||
			    folder_ids(&theirs, src->repo, parent, &cache) < 0) {
				error = git_fail(err, WH_ECONFIG,
						 "cannot read the parent of commit %s in %s", hex,
						 src->path);
				goto out;
			}
			cache = theirs;
			changed = !git_oid_equal(&mine.hooks, &theirs.hooks) ||
				  !git_oid_equal(&mine.schemas, &theirs.schemas);
			/* A merge whose config equals one of its other parents' only
			 * brings that side's commits, which the walk lists itself (as
			 * `git log -- hooks` does): skip it. */
			for (unsigned int p = 1; changed && p < git_commit_parentcount(commit);
			     p++) {
				git_commit *other = NULL;
				struct folder_ids side;

				if (git_commit_parent(&other, commit, p) < 0 ||
				    folder_ids(&side, src->repo, other, NULL) < 0) {
					git_commit_free(other);
					error = git_fail(err, WH_ECONFIG,
							 "cannot read a parent of commit %s in %s",
							 hex, src->path);
					goto out;
				}
				git_commit_free(other);
				changed = !git_oid_equal(&mine.hooks, &side.hooks) ||
					  !git_oid_equal(&mine.schemas, &side.schemas);
			}
		} else {
			changed = !git_oid_is_zero(&mine.hooks) || !git_oid_is_zero(&mine.schemas);
		}
		if (changed && (error = cb(commit, parent, payload)) != 0)
			goto out;
		git_commit_free(parent);
		git_commit_free(commit);
		parent = NULL;
		commit = NULL;
	}
	if (rc != GIT_ITEROVER)
		error = git_fail(err, WH_ECONFIG, "cannot walk the history of %s", src->path);
out:
	git_commit_free(parent);
	git_commit_free(commit);
	git_revwalk_free(walk);
	return error;
}
