/*
 * plugin: lookup, describe, validation and child processes of plugin kinds
 * (see plugin.h).
 */
#define _GNU_SOURCE /* memfd_create, posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hookschema.h"
#include "plugin.h"
#include "secret.h"
#include "util.h"
#include "yaml.h"
#include "banned.h"

extern char **environ;

/* --- where plugins are ------------------------------------------------ */

const char *wh_plugin_libexec_dir(void)
{
	const char *env = getenv("WHRUN_EXEC_PATH");

	if (env && *env)
		return env;
#ifdef WHRUN_BUILD_DIR
	{
		/* run from the build tree: use the plugins built next to it */
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (n > 0) {
			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash) {
				*slash = '\0';
				if (strcmp(exe, WHRUN_BUILD_DIR) == 0)
					return WHRUN_BUILD_DIR "/libexec";
			}
		}
	}
#endif
	return WHRUN_LIBEXEC_DIR;
}

struct dirs {
	char **items;
	size_t n;
};

static void dirs_release(struct dirs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i]);
	free(d->items);
	memset(d, 0, sizeof(*d));
}

/* Adds each absolute entry of a colon-separated list. Relative entries
 * (and empty ones, which mean "." to a shell) are skipped: they would
 * resolve against the working directory, which may be the config
 * repository. */
static int dirs_add_list(struct dirs *d, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len && p[0] == '/') {
			char **items = realloc(d->items, (d->n + 1) * sizeof(*items));
			if (!items)
				return WH_ENOMEM;
			d->items = items;
			if (!(d->items[d->n] = strndup(p, len)))
				return WH_ENOMEM;
			d->n++;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int search_dirs(struct dirs *d)
{
	int error;

	memset(d, 0, sizeof(*d));
	if ((error = dirs_add_list(d, getenv("WHRUN_PLUGIN_PATH"))) < 0 ||
	    (error = dirs_add_list(d, wh_plugin_libexec_dir())) < 0 ||
	    (error = dirs_add_list(d, getenv("PATH"))) < 0)
		dirs_release(d);
	return error;
}

char *wh_plugin_search_path(void)
{
	struct dirs d;
	struct wh_buf buf = WH_BUF_INIT(64 * 1024);
	char *out;

	if (search_dirs(&d) < 0)
		return NULL;
	for (size_t i = 0; i < d.n; i++)
		wh_buf_addf(&buf, "%s%s", i ? ":" : "", d.items[i]);
	dirs_release(&d);
	out = wh_buf_detach(&buf);
	wh_buf_release(&buf);
	return out;
}

static int is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int valid_kind(const char *kind)
{
	if (!*kind)
		return 0;
	for (const char *p = kind; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return 0;
	return 1;
}

/* --- the cache -------------------------------------------------------- */

static struct {
	struct wh_plugin **items;
	size_t n;
} cache;

static void plugin_free(struct wh_plugin *p)
{
	if (!p)
		return;
	free(p->kind);
	free(p->path);
	json_decref(p->schema_doc);
	wh_schema_free(p->schema);
	free(p->description);
	free(p->describe_error);
	free(p);
}

void wh_plugin_cache_clear(void)
{
	for (size_t i = 0; i < cache.n; i++)
		plugin_free(cache.items[i]);
	free(cache.items);
	memset(&cache, 0, sizeof(cache));
}

/* A one-line excerpt of a process's stderr, for messages. */
static void stderr_excerpt(char *out, size_t size, const char *text, size_t len);
/* 1 when a finished process exited non-zero or by a signal. */
static int proc_failed(const struct wh_plugin_proc *p);

static void describe(struct wh_plugin *p)
{
	struct wh_plugin_proc *proc = NULL;
	struct wh_plugin_result res;
	struct wh_error err = WH_ERROR_INIT;
	struct wh_schema_config cfg;
	const char *out;
	size_t len;
	json_error_t jerr;
	json_t *doc = NULL, *text;

	memset(&res, 0, sizeof(res));
	if (wh_plugin_proc_start(&proc, p->path, "describe", NULL, "", 0, WH_PLUGIN_DESCRIBE_MAX,
				 &err) < 0) {
		p->describe_error = strdup(err.message);
		goto out;
	}
	if (!wh_plugin_proc_wait(proc, WH_PLUGIN_DESCRIBE_TIMEOUT_MS)) {
		p->describe_error = wh_strdupf("'%s describe' did not finish within %d s (killed)",
					       p->path, WH_PLUGIN_DESCRIBE_TIMEOUT_MS / 1000);
		goto out;
	}
	if (wh_plugin_proc_result(&res, proc, 0, 0, 0) < 0) {
		p->describe_error = strdup("out of memory");
		goto out;
	}
	out = wh_plugin_proc_stdout(proc, &len);
	if (proc_failed(proc)) {
		char line[256];
		stderr_excerpt(line, sizeof(line), res.error, strlen(res.error));
		p->describe_error = wh_strdupf("'%s describe' failed: %s", p->path, line);
		goto out;
	}
	doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc || (!json_is_object(doc) && !json_is_boolean(doc))) {
		p->describe_error = wh_strdupf("'%s describe' printed no JSON Schema (%s)", p->path,
					       doc ? "not an object or boolean" : jerr.text);
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.check_metaschema = 1;
	if (wh_schema_compile(&p->schema, doc, &cfg, NULL, &err) < 0) {
		p->describe_error =
		    wh_strdupf("'%s describe' printed a bad schema: %s", p->path, err.message);
		goto out;
	}
	text = json_is_object(doc) ? json_object_get(doc, "description") : NULL;
	if (!json_is_string(text))
		text = json_is_object(doc) ? json_object_get(doc, "title") : NULL;
	p->description = strdup(json_is_string(text) ? json_string_value(text) : "");
	p->schema_doc = json_incref(doc);
out:
	if (!p->description)
		p->description = strdup("");
	json_decref(doc);
	wh_plugin_result_release(&res);
	wh_plugin_proc_free(proc);
}

static int find_in(struct wh_plugin *p, const struct dirs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *candidate = wh_strdupf("%s/%s%s", d->items[i], WH_PLUGIN_PREFIX, p->kind);
		if (!candidate)
			return WH_ENOMEM;
		if (is_executable(candidate)) {
			p->path = candidate;
			return 0;
		}
		free(candidate);
	}
	return 0;
}

int wh_plugin_find(const struct wh_plugin **out, const char *kind, struct wh_error *err)
{
	struct wh_plugin *p = NULL, **items;
	struct dirs d;
	char *where;
	int error = 0;

	*out = NULL;
	for (size_t i = 0; i < cache.n && !p; i++)
		if (strcmp(cache.items[i]->kind, kind) == 0)
			p = cache.items[i];
	if (!p) {
		if (!(p = calloc(1, sizeof(*p))) || !(p->kind = strdup(kind)))
			goto nomem;
		if (valid_kind(kind)) {
			if (search_dirs(&d) < 0)
				goto nomem;
			error = find_in(p, &d);
			dirs_release(&d);
			if (error < 0)
				goto nomem;
		}
		if (p->path)
			describe(p);
		if (!(items = realloc(cache.items, (cache.n + 1) * sizeof(*items))))
			goto nomem;
		cache.items = items;
		cache.items[cache.n++] = p;
	}
	if (!p->path) {
		where = wh_plugin_search_path();
		error = wh_error_set(err, WH_ECONFIG,
				     "kind '%s' has no plugin: no executable %s%s in "
				     "$WHRUN_PLUGIN_PATH, %s or $PATH (searched %s)",
				     kind, WH_PLUGIN_PREFIX, kind, wh_plugin_libexec_dir(),
				     where ? where : "?");
		free(where);
		return error;
	}
	*out = p;
	return 0;
nomem:
	plugin_free(p);
	return wh_error_set(err, WH_ENOMEM, "out of memory");
}

/* --- validation ------------------------------------------------------- */

/* The index of the hook named name in doc's webhooks, or -1. */
static long hook_index(const json_t *doc, const char *name)
{
	const json_t *list = json_object_get(doc, "webhooks");
	size_t i;
	json_t *h;

	json_array_foreach(list, i, h)
	{
		const json_t *n = json_object_get(h, "name");
		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return (long)i;
	}
	return -1;
}

static int check_hook(const struct wh_hook *hook, const json_t *doc, const json_t *positions,
		      const char *path, struct wh_diags *diags)
{
	struct wh_error err = WH_ERROR_INIT;
	const struct wh_plugin *plugin;
	long index = hook_index(doc, hook->name);
	const json_t *own =
	    index >= 0 ? json_array_get(json_object_get(doc, "webhooks"), (size_t)index) : NULL;
	char kind_ptr[96], targets_ptr[96];
	int line = hook->line, column = hook->column, error = 0;

	if (own && json_object_get(own, "kind"))
		snprintf(kind_ptr, sizeof(kind_ptr), "/webhooks/%ld/kind", index);
	else
		snprintf(kind_ptr, sizeof(kind_ptr), "/defaults/kind");
	if (own && json_object_get(own, "targets"))
		snprintf(targets_ptr, sizeof(targets_ptr), "/webhooks/%ld/targets", index);
	else
		snprintf(targets_ptr, sizeof(targets_ptr), "/defaults/targets");
	if (positions)
		wh_yaml_position(&line, &column, positions, kind_ptr, 0);

	if (wh_plugin_find(&plugin, hook->kind_name, &err) < 0) {
		if (err.code == WH_ENOMEM)
			return WH_ENOMEM;
		return wh_diags_add(diags, WH_SEVERITY_ERROR, path, line, column, "%s: %s",
				    hook->name, err.message);
	}
	if (plugin->describe_error)
		return wh_diags_add(diags, WH_SEVERITY_ERROR, path, line, column,
				    "%s: kind '%s': %s", hook->name, hook->kind_name,
				    plugin->describe_error);

	for (size_t t = 0; t < hook->ntargets && !error; t++) {
		struct wh_schema_issues issues;

		if (!hook->targets[t].fields)
			continue;
		wh_schema_issues_init(&issues);
		error = wh_schema_validate(plugin->schema, hook->targets[t].fields, &issues);
		if (error == WH_EPAYLOAD)
			error = 0;
		for (size_t i = 0; i < issues.count && !error; i++) {
			const struct wh_schema_issue *is = &issues.items[i];
			char prefix[300];

			snprintf(prefix, sizeof(prefix), "%s/%zu", targets_ptr, t);
			line = hook->targets[t].line;
			column = hook->targets[t].column;
			if (!wh_hookschema_locate(&line, &column, is, prefix, positions))
				continue;
			error = wh_diags_add(diags, WH_SEVERITY_ERROR, path, line, column,
					     "%s: target %zu: %s: %s (schema of %s%s)", hook->name,
					     t + 1,
					     is->instance_location[0] ? is->instance_location : "/",
					     is->message, WH_PLUGIN_PREFIX, hook->kind_name);
		}
		wh_schema_issues_release(&issues);
	}
	return error;
}

int wh_plugin_check_file(const struct wh_config *config, size_t first, const json_t *doc,
			 const json_t *positions, const char *path, struct wh_diags *diags)
{
	int error = 0;

	for (size_t i = first; i < config->nhooks && !error; i++)
		if (config->hooks[i].kind == WH_KIND_PLUGIN)
			error = check_hook(&config->hooks[i], doc, positions, path, diags);
	return error;
}

int wh_plugin_check_target(const struct wh_plugin *plugin, const struct wh_hook *hook,
			   size_t target_index, struct wh_error *err)
{
	const struct wh_target *t = &hook->targets[target_index];
	struct wh_schema_issues issues;
	int error;

	if (!plugin->schema || !t->fields)
		return 0;
	wh_schema_issues_init(&issues);
	error = wh_schema_validate(plugin->schema, t->fields, &issues);
	if (error == WH_EPAYLOAD && issues.count) {
		error = wh_error_set_at(
		    err, WH_ECONFIG, hook->file, t->line, t->column,
		    "hook %s, target %zu: %s: %s (schema of %s%s; 'whrun validate' lists all)",
		    hook->name, target_index + 1,
		    issues.items[0].instance_location[0] ? issues.items[0].instance_location : "/",
		    issues.items[0].message, WH_PLUGIN_PREFIX, hook->kind_name);
	} else if (error == WH_EPAYLOAD) {
		error = wh_error_set_at(err, WH_ECONFIG, hook->file, t->line, t->column,
					"hook %s, target %zu: rejected by the schema of %s%s",
					hook->name, target_index + 1, WH_PLUGIN_PREFIX,
					hook->kind_name);
	} else if (error < 0) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	wh_schema_issues_release(&issues);
	return error;
}

/* --- listing ------------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int wh_plugin_list(json_t **out, struct wh_error *err)
{
	struct dirs d;
	json_t *list = json_array(), *seen = json_object();
	int error = 0;

	*out = NULL;
	if (!list || !seen || search_dirs(&d) < 0) {
		json_decref(list);
		json_decref(seen);
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < d.n && !error; i++) {
		DIR *dir = opendir(d.items[i]);
		struct dirent *de;
		char **names = NULL;
		size_t nnames = 0;

		if (!dir)
			continue;
		while ((de = readdir(dir)) && !error) {
			char **grown;
			if (strncmp(de->d_name, WH_PLUGIN_PREFIX, strlen(WH_PLUGIN_PREFIX)) != 0 ||
			    !valid_kind(de->d_name + strlen(WH_PLUGIN_PREFIX)))
				continue;
			if (!(grown = realloc(names, (nnames + 1) * sizeof(*names))) ||
			    !(grown[nnames] = strdup(de->d_name))) {
				if (grown)
					names = grown;
				error = WH_ENOMEM;
				break;
			}
			names = grown;
			nnames++;
		}
		closedir(dir);
		if (nnames)
			qsort(names, nnames, sizeof(*names), cmp_names);
		for (size_t k = 0; k < nnames && !error; k++) {
			const char *kind = names[k] + strlen(WH_PLUGIN_PREFIX);
			char *path = wh_strdupf("%s/%s", d.items[i], names[k]);
			const struct wh_plugin *p = NULL;
			struct wh_error ferr = WH_ERROR_INIT;
			json_t *item;

			if (!path) {
				error = WH_ENOMEM;
				break;
			}
			if (!is_executable(path)) {
				free(path);
				continue;
			}
			if (json_object_get(seen, kind)) {
				item = json_pack("{s:s, s:s, s:s, s:n, s:O}", "kind", kind, "path",
						 path, "description", "", "error", "shadowed",
						 json_object_get(seen, kind));
			} else {
				wh_plugin_find(&p, kind, &ferr);
				item =
				    json_pack("{s:s, s:s, s:s, s:s?, s:n}", "kind", kind, "path",
					      path, "description", p ? p->description : "", "error",
					      p ? p->describe_error : ferr.message, "shadowed");
				json_object_set_new(seen, kind, json_string(path));
			}
			free(path);
			if (!item || json_array_append_new(list, item) < 0)
				error = WH_ENOMEM;
		}
		for (size_t k = 0; k < nnames; k++)
			free(names[k]);
		free(names);
	}
	dirs_release(&d);
	json_decref(seen);
	if (error < 0) {
		json_decref(list);
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	*out = list;
	return 0;
}

/* --- the child's environment ------------------------------------------ */

struct names {
	char **items;
	size_t n;
	int nomem;
};

static void names_from_text(struct names *names, const char *text)
{
	const char *p = text;

	while ((p = strstr(p, "${env:"))) {
		const char *start = p + 6, *end = strchr(start, '}');
		char **grown;

		if (!end)
			break;
		if (!(grown = realloc(names->items, (names->n + 1) * sizeof(*grown))) ||
		    !(grown[names->n] = strndup(start, (size_t)(end - start)))) {
			if (grown)
				names->items = grown;
			names->nomem = 1;
			return;
		}
		names->items = grown;
		names->n++;
		p = end + 1;
	}
}

static void names_from_json(struct names *names, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_string(v)) {
		names_from_text(names, json_string_value(v));
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item) names_from_json(names, item);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) names_from_json(names, item);
	}
}

/* What a plugin may inherit: locale, paths, proxies and CA locations, and
 * variables meant for plugins. Everything else (in particular the secrets
 * of hooks this run does not deliver, which a list of referenced names
 * could not know) stays with whrun. */
static int inheritable(const char *entry, size_t len)
{
	static const char *const keep[] = {
	    "PATH",	    "HOME",	      "LANG",
	    "LC_ALL",	    "LC_CTYPE",	      "TMPDIR",
	    "TZ",	    "http_proxy",     "https_proxy",
	    "no_proxy",	    "HTTP_PROXY",     "HTTPS_PROXY",
	    "NO_PROXY",	    "ALL_PROXY",      "SSL_CERT_FILE",
	    "SSL_CERT_DIR", "CURL_CA_BUNDLE",
	};

	if (len > 13 && strncmp(entry, "WHRUN_PLUGIN_", 13) == 0)
		return 1;
	for (size_t i = 0; i < WH_ARRAY_SIZE(keep); i++)
		if (strlen(keep[i]) == len && strncmp(keep[i], entry, len) == 0)
			return 1;
	return 0;
}

char **wh_plugin_child_env(const struct wh_hook *const *hooks, size_t nhooks)
{
	struct names names;
	size_t n = 0, k = 0;
	char **env;

	memset(&names, 0, sizeof(names));
	for (size_t i = 0; i < nhooks; i++) {
		const struct wh_hook *h = hooks[i];
		names_from_json(&names, h->definition);
		for (size_t s = 0; s < h->nsecrets; s++)
			names_from_text(&names, h->secrets[s]);
		for (size_t t = 0; t < h->ntargets; t++)
			names_from_json(&names, h->targets[t].fields);
	}
	for (char **e = environ; e && *e; e++)
		n++;
	env = names.nomem ? NULL : calloc(n + 1, sizeof(*env));
	for (char **e = environ; env && e && *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
		int scrub = !inheritable(*e, len);

		for (size_t i = 0; i < names.n && !scrub; i++)
			scrub =
			    strlen(names.items[i]) == len && strncmp(names.items[i], *e, len) == 0;
		if (scrub)
			continue;
		if (!(env[k++] = strdup(*e))) {
			wh_plugin_env_free(env);
			env = NULL;
		}
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.items[i]);
	free(names.items);
	return env;
}

void wh_plugin_env_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

/* --- the request ------------------------------------------------------- */

static int resolve_in(json_t *v, struct wh_error *err)
{
	const char *key;
	json_t *item;
	size_t i;
	int error = 0;

	if (json_is_string(v) && strstr(json_string_value(v), "${")) {
		char *value = NULL;
		if ((error = wh_secret_expand(&value, NULL, json_string_value(v), err)) < 0)
			return error;
		if (json_string_set(v, value) < 0)
			error =
			    wh_error_set(err, WH_ECONFIG, "a resolved value is not valid UTF-8");
		wh_free_secret(value);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item)
		{
			if ((error = resolve_in(item, err)) < 0) {
				wh_error_prefix(err, "%s", key);
				break;
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) if ((error = resolve_in(item, err)) < 0) break;
	}
	return error;
}

int wh_plugin_resolve_fields(json_t **out, const json_t *fields, struct wh_error *err)
{
	json_t *copy = json_deep_copy(fields);
	int error;

	*out = NULL;
	if (!copy)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	if ((error = resolve_in(copy, err)) < 0) {
		wh_plugin_json_free_secret(copy);
		return error;
	}
	*out = copy;
	return 0;
}

static void wipe_json(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (v->refcount > 1) {
		return; /* shared with an owner that wipes it itself */
	} else if (json_is_string(v)) {
		/* jansson owns a private copy of each string: wipe it in place */
		wh_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item) wipe_json(item);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) wipe_json(item);
	}
}

void wh_plugin_json_free_secret(json_t *v)
{
	if (!v)
		return;
	wipe_json(v);
	json_decref(v);
}

int wh_plugin_request_build(char **out, size_t *out_len, const struct wh_plugin_request *req,
			    struct wh_error *err)
{
	const struct wh_hook *h = req->hook;
	json_t *root, *message, *secrets = json_array();
	json_error_t jerr;
	int error = 0;

	*out = NULL;
	*out_len = 0;
	message = json_loadb(req->body, req->body_len, 0, &jerr);
	if (!message)
		message = json_stringn(req->body, req->body_len);
	for (size_t i = 0; secrets && i < req->nsecrets; i++)
		json_array_append_new(secrets, json_string(req->secrets[i]));
	root =
	    json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:I, s:b, s:i}, s:s, s:s, "
		      "s:s, s:o, s:O, s:I, s:o, s:i, s:i, s:f, s:I}",
		      "protocol", WH_PLUGIN_PROTOCOL, "action", "deliver", "whrun", WHRUN_VERSION,
		      "kind", h->kind_name, "hook", "name", h->name, "description",
		      h->description ? h->description : "", "file", h->file, "timeout_ms",
		      (json_int_t)h->timeout_ms, "required", h->required, "retry_attempts",
		      h->retry_attempts, "message_id", req->message_id, "type", req->type,
		      "config_commit", req->commit, "message", message, "target", req->target,
		      "target_index", (json_int_t)req->target_index, "secrets", secrets, "attempt",
		      req->attempt, "max_attempts", req->max_attempts, "deadline", req->deadline,
		      "deadline_ms", (json_int_t)(req->deadline * 1000.0));
	if (!root) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory building the plugin request");
		goto out;
	}
	if (!(*out = json_dumps(root, JSON_COMPACT))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory building the plugin request");
		goto out;
	}
	*out_len = strlen(*out);
out:
	/* the tree held copies of the secrets */
	wh_plugin_json_free_secret(root);
	return error;
}

/* --- processes ---------------------------------------------------------- */

struct wh_plugin_proc {
	pid_t pid;
	int out_fd, err_fd, pid_fd; /* -1 once closed */
	int reaped, status;
	struct wh_buf out, err;
	size_t out_dropped, err_dropped;
};

static int proc_failed(const struct wh_plugin_proc *p)
{
	return WIFSIGNALED(p->status) || WEXITSTATUS(p->status) != 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static char **minimal_env(void)
{
	static const char *const keep[] = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"};
	char **env = calloc(WH_ARRAY_SIZE(keep) + 1, sizeof(*env));
	size_t k = 0;

	for (size_t i = 0; env && i < WH_ARRAY_SIZE(keep); i++) {
		const char *v = getenv(keep[i]);
		if (v && !(env[k++] = wh_strdupf("%s=%s", keep[i], v))) {
			wh_plugin_env_free(env);
			env = NULL;
		}
	}
	return env;
}

int wh_plugin_proc_start(struct wh_plugin_proc **out, const char *path, const char *action,
			 char *const *env, const char *input, size_t input_len, size_t stdout_max,
			 struct wh_error *err)
{
	struct wh_plugin_proc *p = calloc(1, sizeof(*p));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int in_fd = -1, outp[2] = {-1, -1}, errp[2] = {-1, -1}, rc, error = 0;
	char *argv[3];
	char **own_env = NULL;
	size_t done = 0;

	*out = NULL;
	if (!p)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	p->out_fd = p->err_fd = p->pid_fd = -1;
	p->pid = -1;
	wh_buf_init(&p->out, stdout_max);
	wh_buf_init(&p->err, WH_PLUGIN_STDERR_MAX);

	/* stdin: an anonymous in-memory file, so writing it never blocks */
	if ((in_fd = memfd_create("whrun-plugin-request", MFD_CLOEXEC)) < 0) {
		error = wh_error_set(err, WH_EIO, "memfd_create: %s", strerror(errno));
		goto out;
	}
	while (done < input_len) {
		ssize_t n = write(in_fd, input + done, input_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = wh_error_set(err, WH_EIO, "writing the plugin's input: %s",
					     strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	if (lseek(in_fd, 0, SEEK_SET) < 0 || pipe2(outp, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		error = wh_error_set(err, WH_EIO, "cannot set up the plugin's pipes: %s",
				     strerror(errno));
		goto out;
	}
	if (!env && !(env = own_env = minimal_env())) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE); /* whrun ignores it; a plugin should not inherit that */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	argv[0] = (char *)path;
	argv[1] = (char *)action;
	argv[2] = NULL;
	rc = posix_spawn(&p->pid, path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		p->pid = -1;
		error = wh_error_set(err, WH_EIO, "cannot run %s: %s", path, strerror(rc));
		goto out;
	}
	p->out_fd = outp[0];
	p->err_fd = errp[0];
	outp[0] = errp[0] = -1;
	fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, fcntl(p->err_fd, F_GETFL) | O_NONBLOCK);
#ifdef SYS_pidfd_open
	p->pid_fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pid_fd >= 0)
		fcntl(p->pid_fd, F_SETFD, FD_CLOEXEC);
#endif
out:
	close_fd(&in_fd);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	wh_plugin_env_free(own_env);
	if (error < 0)
		wh_plugin_proc_free(p);
	else
		*out = p;
	return error;
}

size_t wh_plugin_proc_waitfds(const struct wh_plugin_proc *p, struct curl_waitfd *fds,
			      int *needs_tick)
{
	size_t n = 0;

	if (p->out_fd >= 0)
		fds[n++] = (struct curl_waitfd){p->out_fd, CURL_WAIT_POLLIN, 0};
	if (p->err_fd >= 0)
		fds[n++] = (struct curl_waitfd){p->err_fd, CURL_WAIT_POLLIN, 0};
	if (!p->reaped && p->pid_fd >= 0)
		fds[n++] = (struct curl_waitfd){p->pid_fd, CURL_WAIT_POLLIN, 0};
	if (!p->reaped && p->pid_fd < 0)
		*needs_tick = 1;
	return n;
}

/* Reads what is there (at most 1 MiB a call, so one chatty plugin cannot
 * hold the loop), keeping what fits under the buffer's cap. */
static void drain(int *fd, struct wh_buf *buf, size_t *dropped)
{
	char chunk[65536];
	size_t total = 0;

	while (*fd >= 0 && total < 1024 * 1024) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));
		size_t room, take;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			close_fd(fd);
			break;
		}
		total += (size_t)n;
		room = buf->cap - buf->len;
		take = (size_t)n < room ? (size_t)n : room;
		if (take && wh_buf_add(buf, chunk, take) < 0)
			take = 0;
		*dropped += (size_t)n - take;
	}
}

static void reaped(struct wh_plugin_proc *p, int status)
{
	p->reaped = 1;
	p->status = status;
	close_fd(&p->pid_fd);
	/* whatever it left running in its group goes with it */
	kill(-p->pid, SIGKILL);
}

int wh_plugin_proc_service(struct wh_plugin_proc *p)
{
	int status;

	drain(&p->out_fd, &p->out, &p->out_dropped);
	drain(&p->err_fd, &p->err, &p->err_dropped);
	if (!p->reaped && p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid)
		reaped(p, status);
	return p->reaped && p->out_fd < 0 && p->err_fd < 0;
}

void wh_plugin_proc_kill(struct wh_plugin_proc *p)
{
	int status = 0;

	if (!p || p->pid <= 0)
		return;
	if (!p->reaped) {
		kill(-p->pid, SIGKILL);
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
		reaped(p, status);
	}
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int wh_plugin_proc_wait(struct wh_plugin_proc *p, long timeout_ms)
{
	double deadline = now_ms() + (double)timeout_ms;

	while (!wh_plugin_proc_service(p)) {
		struct curl_waitfd fds[WH_PLUGIN_WAITFDS];
		struct pollfd pfds[WH_PLUGIN_WAITFDS];
		int tick = 0;
		size_t n = wh_plugin_proc_waitfds(p, fds, &tick);
		double left = deadline - now_ms();

		if (left <= 0) {
			wh_plugin_proc_kill(p);
			return 0;
		}
		for (size_t i = 0; i < n; i++)
			pfds[i] = (struct pollfd){fds[i].fd, POLLIN, 0};
		poll(pfds, n, tick || left < 20 ? (left < 20 ? (int)left + 1 : 20) : (int)left + 1);
	}
	return 1;
}

const char *wh_plugin_proc_stdout(const struct wh_plugin_proc *p, size_t *len)
{
	*len = p->out.len;
	return p->out.ptr ? p->out.ptr : "";
}

void wh_plugin_proc_free(struct wh_plugin_proc *p)
{
	if (!p)
		return;
	wh_plugin_proc_kill(p);
	close_fd(&p->pid_fd);
	wh_buf_release(&p->out);
	wh_buf_release(&p->err);
	free(p);
}

/* --- results ------------------------------------------------------------ */

/* Appends text as valid UTF-8 without control characters (but newlines
 * and tabs): the journal and JSON output take it as it is. */
static void add_clean(struct wh_buf *buf, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80	    ? 1
			   : (c >> 5) == 6  ? 2
			   : (c >> 4) == 14 ? 3
			   : (c >> 3) == 30 ? 4
					    : 0;
		int ok = n > 0 && i + n <= len;

		for (size_t k = 1; ok && k < n; k++)
			ok = (s[i + k] & 0xC0) == 0x80;
		if (n == 1 && c < 0x20 && c != '\n' && c != '\t')
			ok = 0;
		if (ok && n > 1 && c < 0xC2)
			ok = 0; /* overlong */
		if (ok)
			wh_buf_add(buf, s + i, n);
		else
			wh_buf_add(buf, "?", 1);
		i += ok ? n : 1;
	}
}

static void stderr_excerpt(char *out, size_t size, const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++)
		out[n++] = text[i] == '\n' ? ' ' : text[i];
	out[n] = '\0';
}

int wh_plugin_proc_result(struct wh_plugin_result *out, const struct wh_plugin_proc *p,
			  int timed_out, long timeout_ms, int cut_by_run)
{
	struct wh_buf msg = WH_BUF_INIT(WH_PLUGIN_STDERR_MAX + 4096);
	json_t *doc = NULL, *status, *detail, *code;
	json_error_t jerr;
	const char *word;

	memset(out, 0, sizeof(*out));
	out->output = p->out.ptr ? p->out.ptr : "";
	out->output_len = p->out.len;
	out->output_truncated = p->out_dropped > 0;
	out->outcome = WH_OUTCOME_RETRY;

	if (timed_out) {
		wh_buf_addf(&msg,
			    "plugin did not finish within %ld ms; killed with its process "
			    "group%s",
			    timeout_ms, cut_by_run ? " (cut short by the run's --max-time)" : "");
	} else if (WIFSIGNALED(p->status)) {
		wh_buf_addf(&msg, "plugin killed by signal %d", WTERMSIG(p->status));
	} else if (WEXITSTATUS(p->status) != 0) {
		wh_buf_addf(&msg, "plugin exited with status %d", WEXITSTATUS(p->status));
	} else if (out->output_truncated) {
		wh_buf_addf(&msg,
			    "plugin printed more than %zu bytes on stdout (want one JSON "
			    "result)",
			    p->out.cap);
	} else if (!(doc = json_loadb(out->output, out->output_len, 0, &jerr)) ||
		   !json_is_object(doc) ||
		   !json_is_string(status = json_object_get(doc, "status"))) {
		wh_buf_addf(&msg,
			    "plugin printed no valid result (want {\"status\": "
			    "\"delivered\"|\"retry\"|\"failed\", ...}): %s",
			    !out->output_len	   ? "no output"
			    : !doc		   ? jerr.text
			    : !json_is_object(doc) ? "not a JSON object"
						   : "no \"status\" string");
	} else {
		word = json_string_value(status);
		detail = json_object_get(doc, "detail");
		code = json_object_get(doc, "code");
		if (strcmp(word, "delivered") == 0) {
			out->outcome = WH_OUTCOME_DELIVERED;
		} else if (strcmp(word, "retry") == 0 || strcmp(word, "failed") == 0 ||
			   strcmp(word, "gone") == 0) {
			out->outcome = word[0] == 'r'	? WH_OUTCOME_RETRY
				       : word[0] == 'f' ? WH_OUTCOME_FAILED
							: WH_OUTCOME_GONE;
			wh_buf_addf(&msg, "plugin: %s", word);
			if (json_is_integer(code))
				wh_buf_addf(&msg, " (code %lld)",
					    (long long)json_integer_value(code));
			else if (json_is_string(code))
				wh_buf_addf(&msg, " (code %.64s)", json_string_value(code));
			if (json_is_string(detail)) {
				wh_buf_adds(&msg, ": ");
				add_clean(&msg, json_string_value(detail),
					  strlen(json_string_value(detail)) > 1024
					      ? 1024
					      : strlen(json_string_value(detail)));
			}
		} else {
			wh_buf_addf(&msg,
				    "plugin printed an unknown status '%.32s' (want delivered, "
				    "retry or failed)",
				    word);
		}
	}
	if (p->err.len || p->err_dropped) {
		wh_buf_adds(&msg, msg.len ? "\nstderr: " : "stderr: ");
		add_clean(&msg, p->err.ptr ? p->err.ptr : "", p->err.len);
		if (p->err_dropped)
			wh_buf_addf(&msg, "\n[%zu more bytes of stderr dropped]", p->err_dropped);
	}
	json_decref(doc);
	out->error = wh_buf_detach(&msg);
	wh_buf_release(&msg);
	return out->error ? 0 : WH_ENOMEM;
}

void wh_plugin_result_release(struct wh_plugin_result *r)
{
	if (!r)
		return;
	free(r->error);
	memset(r, 0, sizeof(*r));
}
