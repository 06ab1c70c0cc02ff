/*
 * schema: a JSON Schema validator (draft 2020-12, and draft-07 when a
 * resource's $schema says so) on jansson values.
 *
 * A schema is compiled once (wh_schema_compile) into a graph of nodes:
 * keywords become enum-tagged records, every $ref is resolved to its target
 * node at compile time, patterns are compiled PCRE2 codes (JIT-compiled once
 * a pattern has been matched many times), and property names sit in hash
 * tables. The graph is then used for any number of validations
 * (wh_schema_validate). Validation runs a fast pass that allocates nothing
 * and stops at the first failure; only when the instance is invalid does a
 * second pass collect every error with its instance location, keyword
 * location and message (the "basic" output shape of the specification, with
 * ajv-like messages).
 *
 * Invariants and limits:
 * - $ref, $dynamicRef and $schema never touch the network. URIs resolve to
 *   the documents already registered: the schema itself and its embedded
 *   resources, the official meta-schemas (embedded in the binary), local
 *   files for file:// URIs, and directories mapped with --remote style
 *   "PREFIX=DIR" rules.
 * - Evaluation depth (nested subschema applications, including through $ref)
 *   is bounded by WH_SCHEMA_MAX_DEPTH; beyond it the instance is invalid
 *   with a "too deep" error, so $ref cycles such as {"$ref": "#"} terminate.
 *   Both parsers (jansson for schemas, schema_json.c's arena parser for
 *   instances) bound nesting at 2048.
 * - Numbers: integers are json_int_t, everything else double; 1.0 equals 1.
 *   Integers beyond 64 bits are read as doubles (wh_schema_parse), losing
 *   precision past 2^53; reals that overflow a double are a parse error.
 * - String lengths are in Unicode code points. Patterns are PCRE2 with UTF,
 *   UCP and DOLLAR_ENDONLY and are not anchored (close to ECMA-262).
 * - "format" is an annotation (2020-12 semantics), never an assertion;
 *   content* keywords are annotations too.
 *
 * Deliberately not done: format assertion, the 2019-09 dialect, output
 * formats other than a flat error list, thread safety of one compiled schema
 * (a struct wh_schema holds scratch state: use one per thread).
 */
#ifndef WH_SCHEMA_H
#define WH_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define WH_SCHEMA_MAX_DEPTH    1024	   /* nested subschema evaluations */
#define WH_SCHEMA_MAX_DOCUMENT (64u << 20) /* bytes of a referenced schema file */

struct wh_schema;

struct wh_schema_config {
	/* The retrieval URI of the root schema, e.g. "file:///etc/x.json";
	 * NULL or "" for none (relative $refs then stay relative). */
	const char *base_uri;
	/* "URI_PREFIX=DIR" rules: a $ref to PREFIXrest loads DIR/rest. */
	const char *const *remotes;
	size_t nremotes;
	/* Whether the root schema is first validated against its meta-schema. */
	int check_metaschema;
	/* The $schema assumed for documents that declare none: NULL for draft
	 * 2020-12, or e.g. "http://json-schema.org/draft-07/schema#". */
	const char *default_dialect;
};

/* One validation error. All strings are owned by the issue list. */
struct wh_schema_issue {
	char *instance_location; /* JSON pointer into the instance, "" = root */
	char *keyword_location;	 /* evaluation path, e.g. "/properties/a/$ref/type" */
	char *absolute_location; /* "URI#pointer" of the failing keyword */
	char *message;		 /* e.g. "must be string" */
};

struct wh_schema_issues {
	struct wh_schema_issue *items;
	size_t count, alloc;
};

#define WH_SCHEMA_ISSUES_INIT                                                                      \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void wh_schema_issues_init(struct wh_schema_issues *issues);
/* Frees every issue; the list may be reused afterwards. */
void wh_schema_issues_release(struct wh_schema_issues *issues);

/*
 * Compiles the schema document doc (borrowed: the compiled schema takes its
 * own reference). With cfg->check_metaschema, doc is first validated against
 * its meta-schema ($schema, default draft 2020-12); when it fails, returns
 * WH_ECONFIG and, if issues is non-NULL, appends the meta-schema errors
 * there. Unresolvable $refs, bad patterns, unknown required vocabularies and
 * malformed keywords are WH_ECONFIG too. *out belongs to the caller
 * (wh_schema_free).
 */
int wh_schema_compile(struct wh_schema **out, json_t *doc, const struct wh_schema_config *cfg,
		      struct wh_schema_issues *issues, struct wh_error *err);

/*
 * Validates instance (borrowed). Returns 0 when valid, WH_EPAYLOAD when
 * invalid (then, if issues is non-NULL, every error is appended to it), or
 * WH_ENOMEM. Not reentrant for one schema (see above).
 */
int wh_schema_validate(struct wh_schema *schema, const json_t *instance,
		       struct wh_schema_issues *issues);

/*
 * Parses the JSON text (with the validator's own parser: no allocation per
 * value, memory reused from one call to the next) and validates it, the
 * fast path for many instances. Text that is not JSON is an invalid
 * instance: WH_EPAYLOAD with one issue whose message says where and why
 * ("what:line:column: invalid JSON: ..."). Returns 0, WH_EPAYLOAD or
 * WH_ENOMEM.
 */
int wh_schema_validate_text(struct wh_schema *schema, const char *text, size_t len,
			    const char *what, struct wh_schema_issues *issues);

void wh_schema_free(struct wh_schema *schema);

/*
 * Parses JSON text the way the validator wants it: NUL characters allowed in
 * strings, duplicate keys rejected, integers too big for 64 bits read as
 * doubles. what names the input in error messages (e.g. a file name); *out
 * belongs to the caller (json_decref). Returns WH_EPAYLOAD on bad JSON.
 */
int wh_schema_parse(json_t **out, const char *text, size_t len, const char *what,
		    struct wh_error *err);

/*
 * Parses JSON text known to be well formed, such as a schema embedded in the
 * binary, into a jansson value several times faster than json_loadb (the
 * validator's own parser, then one jansson value per node). The value is
 * the one wh_schema_parse gives, except that only an integer beyond 64 bits
 * becomes a double (not every integer of the document), and the error
 * messages are the validator's: so use wh_schema_parse for untrusted input,
 * whose messages users see. *out belongs to the caller (json_decref).
 * Returns 0, WH_EPAYLOAD on bad JSON or WH_ENOMEM.
 */
int wh_schema_parse_trusted(json_t **out, const char *text, size_t len, const char *what,
			    struct wh_error *err);

/* The value at an RFC 6901 JSON pointer in root ("" is root itself), or
 * NULL when there is none. Borrowed from root. */
json_t *wh_json_pointer_get(json_t *root, const char *pointer);

#endif
