/*
 * schema_internal: the compiled form shared by schema.c (registry and
 * compilation), schema_validate.c (evaluation) and schema_uri.c (URI
 * references). Not a public interface: only the schema module includes it.
 *
 * A document is a parsed JSON value whose subschemas were scanned once: each
 * subschema position gets a struct wh_sinfo (its resource and JSON pointer),
 * found by json_t address. A resource is a document root or a subschema with
 * an $id; its URI is the base for relative references inside it. A compiled
 * node (struct wh_snode) exists per subschema actually reached from the root
 * (or from a meta-schema), and is owned by its sinfo.
 */
#ifndef WH_SCHEMA_INTERNAL_H
#define WH_SCHEMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "schema.h"

enum wh_sdraft { WH_SDRAFT_2020_12 = 1, WH_SDRAFT_07 = 2 };

enum {
	WH_VOCAB_APPLICATOR = 1,
	WH_VOCAB_UNEVALUATED = 2,
	WH_VOCAB_VALIDATION = 4,
	WH_VOCAB_ALL = 7
};

struct wh_snode;

struct wh_sdynanchor {
	char *name;
	json_t *schema;
	struct wh_snode *node; /* compiled before validation */
};

struct wh_sresource {
	char *uri; /* absolute, without fragment */
	json_t *root;
	int draft;
	unsigned vocab;
	struct wh_sdynanchor *dyn;
	size_t ndyn;
};

struct wh_sinfo {
	const json_t *schema;
	struct wh_sresource *res;
	char *pointer; /* from the resource root, "" for the root itself */
	struct wh_snode *node;
};

enum wh_skw_type {
	KW_REF,
	KW_DYNREF,
	KW_TYPE,
	KW_ENUM,
	KW_CONST,
	KW_MULTIPLE_OF,
	KW_MAXIMUM,
	KW_EXCLUSIVE_MAXIMUM,
	KW_MINIMUM,
	KW_EXCLUSIVE_MINIMUM,
	KW_MAX_LENGTH,
	KW_MIN_LENGTH,
	KW_PATTERN,
	KW_MAX_ITEMS,
	KW_MIN_ITEMS,
	KW_UNIQUE_ITEMS,
	KW_MAX_PROPERTIES,
	KW_MIN_PROPERTIES,
	KW_REQUIRED,
	KW_DEPENDENT_REQUIRED,
	KW_DEPENDENT_SCHEMAS,
	KW_DEPENDENCIES, /* draft-07: a schema or a list of names per property */
	KW_PROPERTIES,	 /* properties + patternProperties + additionalProperties */
	KW_PROPERTY_NAMES,
	KW_ITEMS,    /* prefixItems + items, or draft-07 items + additionalItems */
	KW_CONTAINS, /* contains + minContains + maxContains */
	KW_ALL_OF,
	KW_ANY_OF,
	KW_ONE_OF,
	KW_NOT,
	KW_IF, /* if + then + else */
	KW_UNEVALUATED_ITEMS,
	KW_UNEVALUATED_PROPERTIES,
};

/* Type bits for "type". */
enum {
	T_NULL = 1,
	T_BOOLEAN = 2,
	T_OBJECT = 4,
	T_ARRAY = 8,
	T_NUMBER = 16,
	T_STRING = 32,
	T_INTEGER = 64
};

/* Matches a pattern runs interpreted before it is JIT-compiled. */
#define WH_SREGEX_JIT_AFTER 64

struct wh_sregex {
	char *source;
	pcre2_code *code; /* JIT-compiled after WH_SREGEX_JIT_AFTER matches */
	unsigned matches; /* counted up to WH_SREGEX_JIT_AFTER */
};

struct wh_sprop {
	const char *key; /* NULL marks an empty slot */
	size_t len;
	uint32_t hash;
	struct wh_snode *node;
};

struct wh_spattern {
	struct wh_sregex re;
	struct wh_snode *node;
};

struct wh_sprops {
	struct wh_sprop *table; /* open addressing, mask + 1 slots */
	size_t mask, count;
	struct wh_spattern *patterns;
	size_t npatterns;
	struct wh_snode *additional; /* NULL when absent */
	const char *additional_name; /* "additionalProperties" */
};

struct wh_sdep {
	const char *name;
	struct wh_snode *node; /* dependentSchemas / dependencies schema form */
	const json_t *names;   /* dependentRequired / dependencies array form */
};

struct wh_skw {
	enum wh_skw_type type;
	const char *name; /* keyword name, for locations */
	const json_t *value;
	unsigned types;
	size_t count;		    /* limits */
	struct wh_snode *a, *b, *c; /* single subschemas (if/then/else, not, ...) */
	const char *b_name, *c_name;
	struct wh_snode **list; /* allOf / anyOf / oneOf / prefixItems */
	size_t nlist;
	const char *list_name; /* "prefixItems" or "items" (draft-07 array) */
	struct wh_sregex re;
	struct wh_sprops *props;
	struct wh_sdep *deps;
	size_t ndeps;
	int has_min, has_max; /* contains */
	size_t min, max;
	const char *anchor; /* $dynamicRef: the dynamic anchor name, or NULL */
	int only_strings;   /* enum: every value is a string */
};

struct wh_snode {
	int boolean; /* -1 for an object schema, else its truth value */
	struct wh_sresource *res;
	const char *pointer; /* in res, from its sinfo: the location is "URI#pointer" */
	struct wh_skw *kws;
	size_t nkws;
	int wants_annotations; /* has unevaluated* */
};

struct wh_sdoc {
	json_t *root;
};

struct wh_sentry { /* a URI (possibly with #anchor) naming a schema */
	char *uri;
	json_t *schema;
};

struct wh_spath_seg {
	const char *key; /* NULL: index */
	size_t index;
};

/* schema_json.c: instances as the validator walks them */
#define WH_JSON_MAX_DEPTH 2048

enum wh_jv_type {
	WH_JV_NULL,
	WH_JV_TRUE,
	WH_JV_FALSE,
	WH_JV_INT,
	WH_JV_REAL,
	WH_JV_STRING,
	WH_JV_ARRAY,
	WH_JV_OBJECT
};

struct wh_jmember;

struct wh_jv {
	uint8_t type;
	uint32_t len; /* string bytes, array items, object members */
	union {
		long long i;
		double d;
		const char *s; /* NUL-terminated, may hold NULs */
		struct wh_jv *items;
		struct wh_jmember *members;
	} u;
};

struct wh_jmember {
	const char *key;
	uint32_t klen;
	struct wh_jv value;
};

/* Where the values of one instance live; reset between instances. */
struct wh_jarena {
	void *blocks, *current;
	char *text; /* private copy of the text being parsed */
	size_t text_size;
	char *stack; /* open containers' children */
	size_t stack_size, stack_used;
};

void wh_jarena_init(struct wh_jarena *a);
void *wh_jarena_alloc(struct wh_jarena *a, size_t size);
/* Forgets every value (and keeps the memory for the next instance). */
void wh_jarena_reset(struct wh_jarena *a);
void wh_jarena_release(struct wh_jarena *a);
/* Parses text into the arena (reset first); *out lives until the next reset.
 * Returns WH_EPAYLOAD with a located message on bad JSON, or WH_ENOMEM. */
int wh_jv_parse(struct wh_jarena *a, const struct wh_jv **out, const char *text, size_t len,
		const char *what, struct wh_error *err);
/* Mirrors a jansson value into the arena (reset first); strings are
 * borrowed from value, which must outlive *out. */
int wh_jv_from_json(struct wh_jarena *a, const struct wh_jv **out, const json_t *value);
/* The member named key, or NULL. */
const struct wh_jv *wh_jv_get(const struct wh_jv *object, const char *key);

struct wh_schema {
	struct wh_schema_config cfg;
	char **remotes; /* owned copies of cfg.remotes */
	struct wh_sdoc *docs;
	size_t ndocs, adocs;
	struct wh_sresource **resources;
	size_t nresources, aresources;
	struct wh_sentry *entries;
	size_t nentries, aentries;
	struct wh_sinfo **infos; /* hash by json_t address, mask + 1 slots */
	size_t infos_mask, ninfos;
	struct wh_sinfo **all_infos;
	size_t nall, aall;
	struct wh_snode *root;
	int compiling_depth;
	int default_draft;
	char *default_dialect; /* the meta-schema URI for documents without $schema */
	/* scratch for evaluation */
	struct wh_jarena arena;
	const struct wh_sresource **scope; /* stacks: written before read */
	struct wh_spath_seg *ipath, *kpath;
	/* every pattern's matches: PCRE2 keeps its interpreter's frames (20 KiB
	 * at least) in the match data, so one per pattern would hold that much
	 * per pattern used; only whether a pattern matches is read */
	pcre2_match_data *match;
};

/* schema_uri.c */
/* Resolves ref against base (RFC 3986 section 5); malloc'ed, or NULL. */
char *wh_suri_resolve(const char *base, const char *ref);
/* Splits at '#': returns a malloc'ed copy of the part before it and points
 * *fragment into uri after the '#' (NULL when there is none). */
char *wh_suri_split(const char *uri, const char **fragment);
/* Percent-decodes s into a malloc'ed string, NULL on bad escapes. */
char *wh_suri_decode(const char *s);
/* Follows a JSON pointer ("" or "/a/b", already percent-decoded) from
 * root; NULL when it does not lead anywhere. Borrowed. */
/* Appends a pointer token (escaping ~ and /) to buf; 0 or WH_ENOMEM. */
struct wh_buf;
int wh_spointer_append(struct wh_buf *buf, const char *token);

/* schema_validate.c */
int wh_schema_eval_root(struct wh_schema *schema, const struct wh_snode *node,
			const struct wh_jv *instance, struct wh_schema_issues *issues);

#endif
