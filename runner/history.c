/*
 * history: snapshots, comparisons and the log walk (see history.h).
 *
 * The log walk asks gitsrc for the commits whose hooks/ or schemas/ tree
 * differs from the first parent's (other commits cost two tree lookups and
 * are never loaded), then compares the snapshot of each such commit with
 * its parent's. A small cache keyed by the two tree ids means that in a
 * linear history each distinct configuration is parsed once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "history.h"
#include "util.h"
#include "yaml.h"
#include "banned.h"

static json_t *build_snapshot(const struct wh_config_files *files)
{
	json_t *snap = json_pack("{s:s, s:{}, s:{}, s:[], s:{}}", "commit", files->commit_hex,
				 "hooks", "schemas", "broken", "files");
	json_t *hooks, *schemas, *broken, *where;
	struct wh_yaml_limits limits;

	if (!snap)
		return NULL;
	hooks = json_object_get(snap, "hooks");
	schemas = json_object_get(snap, "schemas");
	broken = json_object_get(snap, "broken");
	where = json_object_get(snap, "files");
	wh_yaml_limits_default(&limits);

	for (size_t i = 0; i < files->nhooks; i++) {
		const struct wh_config_file *f = &files->hooks[i];
		struct wh_error yerr = WH_ERROR_INIT;
		json_t *doc = NULL, *list, *hook;
		const json_t *defaults;
		size_t k;

		if (wh_yaml_load(&doc, NULL, f->data, f->size, f->path, &limits, &yerr) < 0 ||
		    !json_is_object(doc)) {
			json_decref(doc);
			json_array_append_new(broken, json_string(f->path));
			continue;
		}
		defaults = json_object_get(doc, "defaults");
		list = json_object_get(doc, "webhooks");
		json_array_foreach(list, k, hook)
		{
			const json_t *name = json_object_get(hook, "name");
			json_t *merged;

			if (!json_is_object(hook) || !json_is_string(name))
				continue;
			merged = wh_config_merge_defaults(
			    json_is_object(defaults) ? defaults : NULL, hook);
			if (merged) {
				json_object_set_new(hooks, json_string_value(name), merged);
				json_object_set_new(where, json_string_value(name),
						    json_string(f->path));
			}
		}
		json_decref(doc);
	}
	for (size_t i = 0; i < files->nschemas; i++) {
		const struct wh_config_file *f = &files->schemas[i];
		const char *base = strrchr(f->path, '/');
		char name[256];
		size_t len;
		json_t *doc = json_loadb(f->data, f->size, 0, NULL);

		base = base ? base + 1 : f->path;
		len = strlen(base);
		if (len > 5 && len - 5 < sizeof(name)) {
			memcpy(name, base, len - 5);
			name[len - 5] = '\0';
			/* an unparsable schema still counts, by its text, for change detection */
			json_object_set_new(schemas, name,
					    doc ? doc : json_stringn(f->data, f->size));
		} else {
			json_decref(doc);
		}
	}
	return snap;
}

int wh_history_snapshot(json_t **out, struct wh_gitsrc *src, const git_oid *commit,
			struct wh_error *err)
{
	struct wh_config_files files;
	int error;

	*out = NULL;
	memset(&files, 0, sizeof(files));
	/* a larger size bound than a load's: an oversized file somewhere in the
	 * history is then "broken" at its commit (the YAML loader refuses it)
	 * instead of making the whole log fail */
	error = wh_gitsrc_read(&files, src, commit, 64 * WH_GITSRC_MAX_FILE_BYTES,
			       WH_GITSRC_MAX_FILES, err);
	if (error == 0 && !(*out = build_snapshot(&files)))
		error = wh_error_set(err, WH_ENOMEM, "out of memory reading history");
	wh_config_files_release(&files);
	return error;
}

static int string_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted keys of an object (borrowed strings; free the array only). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
	const char **keys = malloc((json_object_size(obj) + 1) * sizeof(*keys));
	const char *key;
	json_t *value;

	*n = 0;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, key, value) keys[(*n)++] = key;
	qsort(keys, *n, sizeof(*keys), string_compare);
	return keys;
}

static json_t *changed_fields(const json_t *a, const json_t *b)
{
	json_t *union_obj = json_object(), *fields = json_array();
	const char **keys = NULL;
	const char *key;
	json_t *value;
	size_t n;

	if (!union_obj || !fields)
		goto fail;
	json_object_foreach((json_t *)a, key, value) json_object_set(union_obj, key, json_null());
	json_object_foreach((json_t *)b, key, value) json_object_set(union_obj, key, json_null());
	if (!(keys = sorted_keys(union_obj, &n)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])))
			json_array_append_new(fields, json_string(keys[i]));
	free(keys);
	json_decref(union_obj);
	return fields;
fail:
	json_decref(union_obj);
	json_decref(fields);
	return NULL;
}

/* 1 when the file that defines hook in other_snap does not parse in snap. */
static int in_broken(const json_t *snap, const json_t *other_snap, const char *hook)
{
	const json_t *files = json_object_get(other_snap, "files");
	const char *file = json_string_value(json_object_get(files, hook));
	size_t i;
	json_t *path;

	if (!file || !snap)
		return 0;
	json_array_foreach(json_object_get(snap, "broken"), i, path)
	{
		if (strcmp(json_string_value(path), file) == 0)
			return 1;
	}
	return 0;
}

/* Changes between two objects of named things ("hook" or "schema"). A hook
 * whose file does not parse on one side is not reported as removed there,
 * nor as added when the file parses again: it is "changed". */
static json_t *compare_named(const json_t *before, const json_t *after, const char *label,
			     int with_fields, const json_t *before_snap, const json_t *after_snap)
{
	json_t *all = json_object(), *changes = json_array();
	const char **keys = NULL;
	const char *key;
	json_t *value;
	size_t n;

	if (!all || !changes)
		goto fail;
	json_object_foreach((json_t *)before, key, value) json_object_set(all, key, json_null());
	json_object_foreach((json_t *)after, key, value) json_object_set(all, key, json_null());
	if (!(keys = sorted_keys(all, &n)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_object_get(before, keys[i]);
		const json_t *b = json_object_get(after, keys[i]);
		json_t *change;

		int unparsable_before =
		    with_fields && !a && in_broken(before_snap, after_snap, keys[i]);

		if (a && b && json_equal(a, b))
			continue;
		if (with_fields && !b && in_broken(after_snap, before_snap, keys[i]))
			continue; /* its file does not parse there: not a removal */
		change = json_pack("{s:s, s:s}", label, keys[i], "change",
				   a && b ? "changed"
				   : b	  ? (unparsable_before ? "changed" : "added")
					  : "removed");
		if (change && a && b && with_fields)
			json_object_set_new(change, "fields", changed_fields(a, b));
		json_array_append_new(changes, change);
	}
	free(keys);
	json_decref(all);
	return changes;
fail:
	free(keys);
	json_decref(all);
	json_decref(changes);
	return NULL;
}

json_t *wh_history_compare(const json_t *before, const json_t *after)
{
	return json_pack("{s:o, s:o}", "hooks",
			 compare_named(json_object_get(before, "hooks"),
				       json_object_get(after, "hooks"), "hook", 1, before, after),
			 "schemas",
			 compare_named(json_object_get(before, "schemas"),
				       json_object_get(after, "schemas"), "schema", 0, before,
				       after));
}

/* --- the log walk ------------------------------------------------------ */

#define CACHE_SIZE 4

struct cache_entry {
	char key[2 * GIT_OID_HEXSZ + 2]; /* hooks tree id + schemas tree id */
	json_t *snapshot;
};

struct log_state {
	struct wh_gitsrc *src;
	const char *hook;
	long max_commits;
	json_t *entries;
	struct cache_entry cache[CACHE_SIZE];
	size_t next_slot;
	struct wh_error *err;
	int error;
};

static void tree_key(char *out, size_t size, git_commit *commit)
{
	git_tree *tree = NULL;
	char hooks[GIT_OID_HEXSZ + 1] = "-", schemas[GIT_OID_HEXSZ + 1] = "-";

	if (git_commit_tree(&tree, commit) == 0) {
		const git_tree_entry *e;
		if ((e = git_tree_entry_byname(tree, "hooks")))
			git_oid_tostr(hooks, sizeof(hooks), git_tree_entry_id(e));
		if ((e = git_tree_entry_byname(tree, "schemas")))
			git_oid_tostr(schemas, sizeof(schemas), git_tree_entry_id(e));
		git_tree_free(tree);
	}
	snprintf(out, size, "%s:%s", hooks, schemas);
}

/* The snapshot of commit, from the cache or freshly built (borrowed). */
static json_t *snapshot_of(struct log_state *st, git_commit *commit)
{
	char key[sizeof(st->cache[0].key)];
	struct cache_entry *slot;
	json_t *snap;

	tree_key(key, sizeof(key), commit);
	for (size_t i = 0; i < CACHE_SIZE; i++)
		if (st->cache[i].snapshot && strcmp(st->cache[i].key, key) == 0)
			return st->cache[i].snapshot;
	if ((st->error = wh_history_snapshot(&snap, st->src, git_commit_id(commit), st->err)) < 0)
		return NULL;
	slot = &st->cache[st->next_slot];
	st->next_slot = (st->next_slot + 1) % CACHE_SIZE;
	json_decref(slot->snapshot);
	wh_strlcpy(slot->key, key, sizeof(slot->key));
	slot->snapshot = snap;
	return snap;
}

static void format_time(char *out, size_t size, git_time_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		wh_strlcpy(out, "", size);
}

static json_t *only_hook(json_t *hooks, const char *name)
{
	json_t *kept = json_array();
	size_t i;
	json_t *c;

	json_array_foreach(hooks, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "hook")), name) == 0)
			json_array_append(kept, c);
	}
	return kept;
}

static int log_visit(git_commit *commit, git_commit *parent, void *payload)
{
	struct log_state *st = payload;
	json_t *after, *before = NULL, *changes, *hooks, *entry;
	const git_signature *author = git_commit_author(commit);
	char sha[GIT_OID_HEXSZ + 1], date[32];
	const char *summary;

	if (!(after = snapshot_of(st, commit)))
		return 1;
	json_incref(after); /* the cache may evict it while loading the parent */
	if (parent && !(before = snapshot_of(st, parent))) {
		json_decref(after);
		return 1;
	}
	changes = wh_history_compare(before, after);
	json_decref(after);
	if (!changes) {
		st->error = wh_error_set(st->err, WH_ENOMEM, "out of memory");
		return 1;
	}
	hooks = json_object_get(changes, "hooks");
	if (st->hook) {
		json_t *kept = only_hook(hooks, st->hook);
		json_object_set_new(changes, "hooks", kept);
		hooks = kept;
		json_object_set_new(changes, "schemas", json_array());
	}
	if (json_array_size(hooks) == 0 &&
	    json_array_size(json_object_get(changes, "schemas")) == 0) {
		json_decref(changes);
		return 0; /* the trees changed, but not in a way the definitions show */
	}
	git_oid_tostr(sha, sizeof(sha), git_commit_id(commit));
	format_time(date, sizeof(date), author->when.time);
	summary = git_commit_summary(commit);
	entry =
	    json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:O, s:O}", "commit", sha, "author", "name",
		      author->name ? author->name : "", "email", author->email ? author->email : "",
		      "date", date, "subject", summary ? summary : "", "hooks", hooks, "schemas",
		      json_object_get(changes, "schemas"));
	json_decref(changes);
	if (!entry || json_array_append_new(st->entries, entry)) {
		st->error = wh_error_set(st->err, WH_ENOMEM, "out of memory");
		return 1;
	}
	if (st->max_commits > 0 && (long)json_array_size(st->entries) >= st->max_commits)
		return 1;
	return 0;
}

int wh_history_log(json_t **out, struct wh_gitsrc *src, const git_oid *start, const char *hook,
		   long max_commits, struct wh_error *err)
{
	struct log_state st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.src = src;
	st.hook = hook;
	st.max_commits = max_commits;
	st.err = err;
	*out = NULL;
	if (!(st.entries = json_array()))
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	rc = wh_gitsrc_walk(src, start, log_visit, &st, err);
	if (rc < 0)
		st.error = rc;
	for (size_t i = 0; i < CACHE_SIZE; i++)
		json_decref(st.cache[i].snapshot);
	if (st.error < 0) {
		json_decref(st.entries);
		return st.error;
	}
	*out = st.entries;
	return 0;
}
