/*
 * plugin: delivery kinds as external executables, after git's
 * `git-NAME` commands (SPEC section 9; the protocol is in
 * runner/plugins/whrun-kind.7.md).
 *
 * A hook whose kind is not built in (standard, raw, slack) is delivered
 * by the executable `whrun-kind-NAME`, looked up in $WHRUN_PLUGIN_PATH
 * (colon-separated), then whrun's libexec directory (wh_plugin_libexec_dir,
 * what `whrun --exec-path` prints), then $PATH. Never in the config
 * repository: a merged pull request cannot make the runner run new code.
 *
 * This module owns:
 * - the lookup, and `describe` (the plugin's JSON Schema for its target
 *   fields), run once per process and kind, with a timeout, and cached
 *   for the process's lifetime (the one piece of module-level state
 *   outside main, like git's config cache; wh_plugin_cache_clear frees it);
 * - applying that schema to a definition file's targets (`validate`);
 * - the child process of one attempt: spawned with posix_spawn in its own
 *   process group, stdin a memfd holding the request (so a plugin that
 *   never reads it cannot block whrun, and the request never sits in a
 *   file), stdout and stderr non-blocking pipes that the caller polls (the
 *   delivery engine adds them to curl_multi_poll) and this module drains
 *   (stdout kept up to WH_PLUGIN_STDOUT_MAX, stderr up to
 *   WH_PLUGIN_STDERR_MAX, the rest read and dropped, so a chatty plugin
 *   never blocks on a full pipe), a pidfd to notice the exit, and the
 *   whole process group killed with SIGKILL on a timeout, or once the
 *   plugin has exited (so nothing it started outlives its attempt);
 * - the child's environment: the parent's, minus every variable that a
 *   ${env:NAME} reference of the hooks being delivered names (their
 *   resolved values travel on stdin only). `describe` runs with a minimal
 *   environment (PATH, HOME, LANG, LC_ALL, TMPDIR).
 *
 * What it does not do: build the request (dispatch.c), schedule attempts
 * or retries (deliver.c), or journal anything.
 */
#ifndef WH_PLUGIN_H
#define WH_PLUGIN_H

#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "deliver.h"
#include "error.h"
#include "schema.h"

#define WH_PLUGIN_PREFIX	      "whrun-kind-"
#define WH_PLUGIN_PROTOCOL	      1
#define WH_PLUGIN_STDOUT_MAX	      (64 * 1024)
#define WH_PLUGIN_STDERR_MAX	      (8 * 1024)
#define WH_PLUGIN_DESCRIBE_TIMEOUT_MS 5000
#define WH_PLUGIN_DESCRIBE_MAX	      (1024 * 1024)
#define WH_PLUGIN_WAITFDS	      3 /* poll descriptors per running plugin */

struct wh_plugin {
	char *kind;
	char *path;	    /* the executable found */
	json_t *schema_doc; /* what describe printed; NULL when it failed */
	struct wh_schema *schema;
	char *description;    /* the schema's description or title; "" when none */
	char *describe_error; /* why describe failed; NULL when it worked */
};

/* whrun's libexec directory: $WHRUN_EXEC_PATH when set; else, for a whrun
 * run from its CMake build tree, that tree's libexec/ (where the shipped
 * plugins are built); else the directory configured at build time. */
const char *wh_plugin_libexec_dir(void);

/* The search directories in order, as "dir:dir:..." (malloc'ed; NULL when
 * out of memory). */
char *wh_plugin_search_path(void);

/*
 * The plugin of that kind, cached: the first lookup finds the executable
 * and runs its describe. *out is borrowed from the cache (valid until
 * wh_plugin_cache_clear). No executable found is WH_ECONFIG naming the
 * search path. A describe that fails does not fail the lookup: it is in
 * (*out)->describe_error.
 */
int wh_plugin_find(const struct wh_plugin **out, const char *kind, struct wh_error *err);

/* Frees the cache. */
void wh_plugin_cache_clear(void);

/*
 * `validate`: checks the targets of the plugin-kind hooks config->hooks
 * [first..] (those of one definition file) against their plugin's
 * describe schema, or reports the plugin missing or its describe broken.
 * doc is the file's JSON, positions its position table (may be NULL).
 * Findings go to diags. Returns 0 or WH_ENOMEM.
 */
int wh_plugin_check_file(const struct wh_config *config, size_t first, const json_t *doc,
			 const json_t *positions, const char *path, struct wh_diags *diags);

/* Checks one target's fields at send time: WH_ECONFIG naming the first
 * finding, or 0 (also when describe failed: validate reports that). */
int wh_plugin_check_target(const struct wh_plugin *plugin, const struct wh_hook *hook,
			   size_t target_index, struct wh_error *err);

/* `whrun plugins`: every whrun-kind-* found on the search path, in search
 * order, as a JSON array of {kind, path, description, error, shadowed}
 * (new reference). Runs each describe (cached). */
int wh_plugin_list(json_t **out, struct wh_error *err);

/* The environment a plugin delivering for these hooks runs in: of the
 * parent's, only locale, paths, proxies, CA locations and WHRUN_PLUGIN_*
 * variables, and never one named by a ${env:NAME} anywhere in the hooks'
 * definitions. NULL-terminated; free with wh_plugin_env_free. */
char **wh_plugin_child_env(const struct wh_hook *const *hooks, size_t nhooks);
void wh_plugin_env_free(char **env);

/* --- the request on stdin --------------------------------------------- */

/* A target's fields with every ${env:NAME}/${file:PATH} inside a string
 * value resolved, into *out (free with wh_plugin_json_free_secret). A
 * reference that cannot be resolved is WH_ECONFIG naming it. */
int wh_plugin_resolve_fields(json_t **out, const json_t *fields, struct wh_error *err);

/* Wipes every string in v, then drops the reference. NULL is fine. */
void wh_plugin_json_free_secret(json_t *v);

/* What one attempt's request holds; every pointer is borrowed. */
struct wh_plugin_request {
	const struct wh_hook *hook;
	const char *message_id, *type, *commit;
	const char *body; /* the message's envelope (JSON text) */
	size_t body_len;
	const json_t *target;	    /* resolved fields */
	size_t target_index;	    /* 0-based */
	const char *const *secrets; /* the hook's resolved secrets */
	size_t nsecrets;
	int attempt, max_attempts;
	double deadline; /* unix seconds */
};

/* The JSON object a plugin reads on stdin (protocol in whrun-kind.7.md),
 * into *out (malloc'ed; it holds secrets: wipe it, then free it). */
int wh_plugin_request_build(char **out, size_t *out_len, const struct wh_plugin_request *req,
			    struct wh_error *err);

/* --- one plugin process ---------------------------------------------- */

struct wh_plugin_proc;

/*
 * Runs `path action` with input on stdin and env (NULL: a minimal
 * environment) in a new process group, keeping up to stdout_max bytes of
 * its stdout. input may hold secrets: the caller
 * wipes its copy once this returns. *out is freed with wh_plugin_proc_free
 * (which kills the group if it still runs). A spawn failure is WH_EIO.
 */
int wh_plugin_proc_start(struct wh_plugin_proc **out, const char *path, const char *action,
			 char *const *env, const char *input, size_t input_len, size_t stdout_max,
			 struct wh_error *err);

/* The descriptors to poll for this process (at most WH_PLUGIN_WAITFDS),
 * into fds; returns how many. Descriptors at EOF are left out. 1 in
 * *needs_tick when its exit cannot be polled (no pidfd): poll briefly. */
size_t wh_plugin_proc_waitfds(const struct wh_plugin_proc *p, struct curl_waitfd *fds,
			      int *needs_tick);

/* Reads what is ready on stdout/stderr and notices the exit, without
 * blocking. 1 when the process has exited and both pipes are at EOF. */
int wh_plugin_proc_service(struct wh_plugin_proc *p);

/* Kills the process group, reaps the process and closes the pipes. */
void wh_plugin_proc_kill(struct wh_plugin_proc *p);

/* Blocks until the process finishes or timeout_ms passes (then kills it);
 * 1 when it finished in time. For describe. */
int wh_plugin_proc_wait(struct wh_plugin_proc *p, long timeout_ms);

/* What an attempt gave, read from the finished (or killed) process. */
struct wh_plugin_result {
	enum wh_outcome outcome;
	char *error;	    /* summary, then "\nstderr: ..." when any (owned; "" when none) */
	const char *output; /* stdout as read (borrowed from the process) */
	size_t output_len;
	int output_truncated;
};

/* timed_out: the caller killed it at its deadline (cut_by_run: that
 * deadline was the run's --max-time). */
int wh_plugin_proc_result(struct wh_plugin_result *out, const struct wh_plugin_proc *p,
			  int timed_out, long timeout_ms, int cut_by_run);
void wh_plugin_result_release(struct wh_plugin_result *r);

/* stdout of a finished process (borrowed), for describe. */
const char *wh_plugin_proc_stdout(const struct wh_plugin_proc *p, size_t *len);

void wh_plugin_proc_free(struct wh_plugin_proc *p);

#endif
