/*
 * config: the webhook definitions model and its semantic checks.
 *
 * Input is the JSON form of each definition file (as loaded from YAML by
 * yaml.c, with its position table) after the file passed
 * schemas/hook.schema.json. config merges `defaults` under each hook, turns
 * the result into typed structs, and checks what a schema cannot say well:
 * unique names across the repository, known stages (built-in or a committed
 * schemas/<stage>.json), URLs that libcurl parses with an http(s) scheme,
 * header names and values free of CR/LF/NUL and not overriding whrun's own
 * headers, durations, and credentials given only as ${env:NAME} or
 * ${file:PATH} references. Every finding carries path:line:column.
 *
 * What it does not do: read Git (gitsrc.c), parse YAML (yaml.c), or resolve
 * secrets (secret.c resolves references only for hooks about to deliver,
 * so a missing variable never blocks `validate` or an unrelated stage).
 */
#ifndef WH_CONFIG_H
#define WH_CONFIG_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

enum wh_kind { WH_KIND_STANDARD, WH_KIND_RAW, WH_KIND_SLACK, WH_KIND_PLUGIN };

/* The built-in kind named name, or WH_KIND_PLUGIN for any other name. */
enum wh_kind wh_kind_of(const char *name);

enum wh_signature {
	WH_SIGNATURE_NONE,
	WH_SIGNATURE_STANDARD_WEBHOOKS,
	WH_SIGNATURE_GITHUB,
	WH_SIGNATURE_STRIPE,
	WH_SIGNATURE_HMAC_HEX,
};

#define WH_MAX_SECRETS 2

struct wh_header {
	char *name;
	char *value; /* may embed ${env:NAME} / ${file:PATH}, resolved at send time */
};

struct wh_filter {
	char *pointer; /* JSON pointer into the payload */
	char **globs;
	size_t nglobs;
};

struct wh_target {
	char *url;
	char *method; /* POST, PUT or PATCH */
	struct wh_header *headers;
	size_t nheaders;
	int tls_verify;
	char *ca_file;	      /* NULL when not given */
	char *basic_username; /* NULL when no basic_auth */
	char *basic_password; /* a reference, never a value */
	json_t *fields;	      /* the target object as written (plugins read their fields) */
	int line, column;
};

struct wh_hook {
	char *name;
	char *description; /* "" when not given */
	int enabled;
	char **events;
	size_t nevents;
	enum wh_kind kind;
	char *kind_name; /* "standard", "raw", "slack" or the plugin's name */
	struct wh_filter *filters;
	size_t nfilters;
	enum wh_signature signature;
	char *signature_header;	       /* header for hmac-hex */
	char *secrets[WH_MAX_SECRETS]; /* references, never values */
	size_t nsecrets;
	int required;
	long timeout_ms;
	int retry_attempts; /* tries in one run, the first included */
	long backoff_ms, max_backoff_ms;
	struct wh_target *targets;
	size_t ntargets;

	json_t *definition; /* the hook after the defaults merge (for list, diff, log) */
	char *file;	    /* definition file, repository-relative */
	int line, column;
};

struct wh_config {
	char commit[41]; /* hex sha the definitions were read at */
	struct wh_hook *hooks;
	size_t nhooks, alloc;
	json_t *schemas;     /* stage name -> schema document, from the repo's schemas/ */
	int check_plugins;   /* set by the caller before loading: check plugin kinds'
			      * targets with their describe schema (plugin.h); `validate` */
	int report_warnings; /* set by the caller before loading: warnings are shown
				(validate), so they need their line:column too */
};

#define WH_DEFAULT_TIMEOUT_MS	    10000
#define WH_DEFAULT_RETRY_ATTEMPTS   3
#define WH_DEFAULT_BACKOFF_MS	    1000
#define WH_DEFAULT_MAX_BACKOFF_MS   30000
#define WH_DEFAULT_SIGNATURE_HEADER "X-Webhook-Signature"

/* The built-in stages of SPEC section 3, NULL-terminated. */
extern const char *const wh_builtin_stages[];
int wh_stage_is_builtin(const char *stage);

void wh_config_init(struct wh_config *config);
void wh_config_release(struct wh_config *config);

/*
 * Adds the hooks of one definition file. doc is the file's JSON (borrowed),
 * positions its position table from yaml.c (borrowed, may be NULL). Every
 * problem found is added to diags with its location; the hooks that are
 * well-formed are added even when others are not. Returns 0, or WH_ENOMEM.
 * Cross-file checks (unique names, known stages) run in wh_config_finish.
 */
int wh_config_add_file(struct wh_config *config, const char *path, json_t *doc,
		       const json_t *positions, struct wh_diags *diags);

/* Drops the hooks added after the first n (to redo a file's checks). */
void wh_config_truncate(struct wh_config *config, size_t n);

/* Repository-wide checks once every file is added: unique hook names and
 * stages that are built in or have schemas/<stage>.json. Sorts hooks by
 * name. Returns 0, or WH_ENOMEM. */
int wh_config_finish(struct wh_config *config, struct wh_diags *diags);

/* A new copy of hook with the file's defaults merged under it: the hook's
 * keys win; `retry` mappings merge key by key. NULL when out of memory. */
json_t *wh_config_merge_defaults(const json_t *defaults, const json_t *hook);

/* The hook of that name, or NULL. Borrowed from config. */
const struct wh_hook *wh_config_find(const struct wh_config *config, const char *name);

/* 1 when the hook listens to stage (its events hold the stage or "*"). */
int wh_hook_has_event(const struct wh_hook *hook, const char *stage);

/* Parses "500ms", "10s", "5m", "1h" into milliseconds; -1 when malformed. */
long wh_duration_parse(const char *text);

/* 1 when text is exactly one ${env:NAME} or ${file:PATH} reference. */
int wh_is_secret_reference(const char *text);

/* Names of the headers whrun sets itself (lowercase), NULL-terminated. */
extern const char *const wh_reserved_headers[];

#endif
