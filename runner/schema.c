/*
 * schema: the registry of schema documents and the compiler from JSON to
 * the node graph that schema_validate.c evaluates (see schema.h for the
 * contract and schema_internal.h for the data structures).
 *
 * Compilation happens in three steps. A document is registered and scanned
 * once: every subschema position gets its resource (the nearest enclosing
 * $id, or the document) and JSON pointer, and every $id, $anchor and
 * $dynamicAnchor becomes a URI entry. Then nodes are compiled on demand from
 * the root, each $ref resolved to its target's node (loading referenced
 * documents from the embedded meta-schemas, --remote folders or file:// URIs
 * as needed); a node is registered before its keywords are compiled, so
 * cycles simply point back. Last, every $dynamicAnchor of every registered
 * resource is compiled, so that evaluation never compiles.
 *
 * Which keywords a node has depends on its resource's dialect: draft-07
 * ($ref hides its siblings, array items, additionalItems, dependencies) or
 * 2020-12 with the vocabularies its meta-schema declares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "schema_internal.h"
#include "util.h"
#include "banned.h"

#define URI_2020_12	  "https://json-schema.org/draft/2020-12/schema"
#define URI_2019_09	  "https://json-schema.org/draft/2019-09/schema"
#define URI_DRAFT_07	  "http://json-schema.org/draft-07/schema"
#define MAX_COMPILE_DEPTH 4096

/* ---- JSON input -------------------------------------------------------- */

int wh_schema_parse(json_t **out, const char *text, size_t len, const char *what,
		    struct wh_error *err)
{
	json_error_t jerr;
	size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;
	json_t *value = json_loadb(text, len, flags, &jerr);

	/* jansson refuses integers beyond json_int_t; read those as doubles
	 * (the whole document, so precision past 2^53 is lost there). */
	if (!value && json_error_code(&jerr) == json_error_numeric_overflow &&
	    strstr(jerr.text, "integer"))
		value = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, &jerr);
	if (!value)
		return wh_error_set_at(err, WH_EPAYLOAD, what, jerr.line, jerr.column,
				       "invalid JSON: %s", jerr.text);
	*out = value;
	return 0;
}

/* ---- keyword lookup ----------------------------------------------------------- */

/*
 * Scanning and compiling look up some 40 keyword names in every schema
 * object. Schema objects have a handful of members, and comparing lengths
 * and bytes against a copy of the member list is several times cheaper than
 * jansson's seeded hash per lookup (a third of a compile). Larger objects
 * use json_object_get. Same result as json_object_get(obj, name).
 */
#define MEMBERS_MAX 8

struct members {
	const json_t *obj;
	size_t n;	  /* > MEMBERS_MAX: look up in obj */
	uint64_t present; /* a bit per member's name_bit(), to skip absent names fast */
	const char *key[MEMBERS_MAX];
	json_t *value[MEMBERS_MAX];
	size_t len[MEMBERS_MAX];
};

static inline uint64_t name_bit(const char *name, size_t len)
{
	return (uint64_t)1 << ((len * 7 + (unsigned char)name[0] +
				(len ? (unsigned char)name[len - 1] * 3u : 0u)) &
			       63);
}

static void members_init(struct members *m, const json_t *obj)
{
	const char *key;
	json_t *value;
	size_t len, i = 0;

	m->obj = obj;
	m->n = json_object_size(obj);
	m->present = 0;
	if (m->n > MEMBERS_MAX)
		return;
	json_object_keylen_foreach((json_t *)obj, key, len, value)
	{
		if (i == m->n)
			break;
		m->key[i] = key;
		m->len[i] = len;
		m->value[i++] = value;
		m->present |= name_bit(key, len);
	}
	m->n = i;
}

/* Inline so that the length and bit of a literal name are constants. */
static inline json_t *member(const struct members *m, const char *name)
{
	size_t len;

	if (m->n > MEMBERS_MAX)
		return json_object_get(m->obj, name);
	len = strlen(name);
	if (!(m->present & name_bit(name, len)))
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (m->len[i] == len && memcmp(m->key[i], name, len) == 0)
			return m->value[i];
	return NULL;
}

/* ---- the address-keyed table of scanned subschemas ----------------------- */

static size_t ptr_hash(const void *p)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0xed5ad4bbu;
	x ^= x >> 11;
	return (size_t)x;
}

static struct wh_sinfo *info_get(const struct wh_schema *s, const json_t *schema)
{
	if (!s->infos)
		return NULL;
	for (size_t i = ptr_hash(schema) & s->infos_mask;; i = (i + 1) & s->infos_mask) {
		if (!s->infos[i])
			return NULL;
		if (s->infos[i]->schema == schema)
			return s->infos[i];
	}
}

static int info_insert(struct wh_schema *s, struct wh_sinfo *info)
{
	if ((s->ninfos + 1) * 2 > s->infos_mask + 1 || !s->infos) {
		size_t size = s->infos ? (s->infos_mask + 1) * 2 : 256;
		struct wh_sinfo **table = calloc(size, sizeof(*table));

		if (!table)
			return WH_ENOMEM;
		for (size_t i = 0; s->infos && i <= s->infos_mask; i++) {
			if (!s->infos[i])
				continue;
			size_t j = ptr_hash(s->infos[i]->schema) & (size - 1);

			while (table[j])
				j = (j + 1) & (size - 1);
			table[j] = s->infos[i];
		}
		free(s->infos);
		s->infos = table;
		s->infos_mask = size - 1;
	}
	size_t i = ptr_hash(info->schema) & s->infos_mask;

	while (s->infos[i])
		i = (i + 1) & s->infos_mask;
	s->infos[i] = info;
	s->ninfos++;
	if (s->nall == s->aall) {
		size_t n = s->aall ? s->aall * 2 : 256;
		struct wh_sinfo **all = realloc(s->all_infos, n * sizeof(*all));

		if (!all)
			return WH_ENOMEM;
		s->all_infos = all;
		s->aall = n;
	}
	s->all_infos[s->nall++] = info;
	return 0;
}

static int add_info(struct wh_schema *s, const json_t *schema, struct wh_sresource *res,
		    const char *pointer)
{
	struct wh_sinfo *info;

	if (info_get(s, schema))
		return 0; /* the same value reached twice: keep the first position */
	info = calloc(1, sizeof(*info));
	if (!info)
		return WH_ENOMEM;
	info->schema = schema;
	info->res = res;
	info->pointer = strdup(pointer);
	if (!info->pointer || info_insert(s, info)) {
		free(info->pointer);
		free(info);
		return WH_ENOMEM;
	}
	return 0;
}

/* ---- URI entries and resources -------------------------------------------- */

static json_t *entry_get(const struct wh_schema *s, const char *uri)
{
	for (size_t i = 0; i < s->nentries; i++)
		if (strcmp(s->entries[i].uri, uri) == 0)
			return s->entries[i].schema;
	return NULL;
}

static int add_entry(struct wh_schema *s, const char *uri, json_t *schema, struct wh_error *err)
{
	json_t *old = entry_get(s, uri);

	if (old)
		return old == schema ? 0
				     : wh_error_set(err, WH_ECONFIG,
						    "schema: '%s' is defined more than once", uri);
	if (s->nentries == s->aentries) {
		size_t n = s->aentries ? s->aentries * 2 : 64;
		struct wh_sentry *e = realloc(s->entries, n * sizeof(*e));

		if (!e)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		s->entries = e;
		s->aentries = n;
	}
	s->entries[s->nentries].uri = strdup(uri);
	if (!s->entries[s->nentries].uri)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	s->entries[s->nentries++].schema = schema;
	return 0;
}

static struct wh_sresource *add_resource(struct wh_schema *s, const char *uri, json_t *root,
					 int draft, unsigned vocab)
{
	struct wh_sresource *res;

	if (s->nresources == s->aresources) {
		size_t n = s->aresources ? s->aresources * 2 : 32;
		struct wh_sresource **r = realloc(s->resources, n * sizeof(*r));

		if (!r)
			return NULL;
		s->resources = r;
		s->aresources = n;
	}
	res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->uri = strdup(uri);
	if (!res->uri) {
		free(res);
		return NULL;
	}
	res->root = root;
	res->draft = draft;
	res->vocab = vocab;
	s->resources[s->nresources++] = res;
	return res;
}

static int add_dynamic_anchor(struct wh_sresource *res, const char *name, json_t *schema)
{
	struct wh_sdynanchor *d = realloc(res->dyn, (res->ndyn + 1) * sizeof(*d));

	if (!d)
		return WH_ENOMEM;
	res->dyn = d;
	d[res->ndyn].name = strdup(name);
	if (!d[res->ndyn].name)
		return WH_ENOMEM;
	d[res->ndyn].schema = schema;
	d[res->ndyn].node = NULL;
	res->ndyn++;
	return 0;
}

/* The uri without an empty trailing fragment ("x#" -> "x"); malloc'ed. */
static char *strip_empty_fragment(const char *uri)
{
	size_t len = strlen(uri);

	if (len && uri[len - 1] == '#')
		len--;
	return strndup(uri, len);
}

/* ---- documents -------------------------------------------------------------- */

static int load_resource(struct wh_schema *s, const char *uri, int default_draft,
			 struct wh_sresource **out, struct wh_error *err);
static int register_document(struct wh_schema *s, json_t *doc, const char *uri, int default_draft,
			     struct wh_error *err);

/* What a $schema URI means: the dialect and the vocabularies in force. */
static int resolve_dialect(struct wh_schema *s, const char *schema_uri, int depth, int *draft,
			   unsigned *vocab, struct wh_error *err)
{
	char *uri = strip_empty_fragment(schema_uri);
	struct wh_sresource *meta = NULL;
	json_t *vocabs;
	int error = 0;

	if (!uri)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	*vocab = WH_VOCAB_ALL;
	if (strcmp(uri, URI_2020_12) == 0 || strcmp(uri, URI_2019_09) == 0) {
		*draft = WH_SDRAFT_2020_12;
		goto out;
	}
	if (strncmp(uri, "http://json-schema.org/draft-0", 30) == 0 ||
	    strncmp(uri, "https://json-schema.org/draft-0", 31) == 0 ||
	    strcmp(uri, "http://json-schema.org/schema") == 0) {
		*draft = WH_SDRAFT_07;
		goto out;
	}
	if (depth > 8) {
		error =
		    wh_error_set(err, WH_ECONFIG, "schema: $schema chain too long at '%s'", uri);
		goto out;
	}
	error = load_resource(s, uri, WH_SDRAFT_2020_12, &meta, err);
	if (error) {
		wh_error_prefix(err, "schema: unknown $schema '%s'", schema_uri);
		goto out;
	}
	*draft = meta->draft;
	vocabs = json_object_get(meta->root, "$vocabulary");
	if (json_is_object(vocabs)) {
		const char *key;
		json_t *required;
		const char *prefix = "https://json-schema.org/draft/2020-12/vocab/";

		*vocab = 0;
		json_object_foreach(vocabs, key, required)
		{
			const char *name =
			    strncmp(key, prefix, strlen(prefix)) == 0 ? key + strlen(prefix) : NULL;

			if (name && strcmp(name, "applicator") == 0)
				*vocab |= WH_VOCAB_APPLICATOR;
			else if (name && strcmp(name, "unevaluated") == 0)
				*vocab |= WH_VOCAB_UNEVALUATED;
			else if (name && strcmp(name, "validation") == 0)
				*vocab |= WH_VOCAB_VALIDATION;
			else if (name &&
				 (strcmp(name, "core") == 0 || strcmp(name, "meta-data") == 0 ||
				  strcmp(name, "format-annotation") == 0 ||
				  strcmp(name, "format-assertion") == 0 ||
				  strcmp(name, "content") == 0))
				;
			else if (json_is_true(required)) {
				error =
				    wh_error_set(err, WH_ECONFIG,
						 "schema: meta-schema '%s' requires the unknown "
						 "vocabulary '%s'",
						 uri, key);
				goto out;
			}
		}
	} else {
		*vocab = meta->vocab;
	}
out:
	free(uri);
	return error;
}

struct scan {
	struct wh_schema *s;
	struct wh_buf ptr;
	struct wh_error *err;
};

static int scan_node(struct scan *sc, json_t *node, struct wh_sresource *res, int doc_root,
		     const char *retrieval, int default_draft);

static int scan_child(struct scan *sc, json_t *child, struct wh_sresource *res, const char *k1,
		      const char *k2, size_t idx, int use_idx)
{
	size_t saved = sc->ptr.len;
	int error = wh_spointer_append(&sc->ptr, k1);
	char num[32];

	if (!error && k2)
		error = wh_spointer_append(&sc->ptr, k2);
	if (!error && use_idx) {
		snprintf(num, sizeof(num), "%zu", idx);
		error = wh_spointer_append(&sc->ptr, num);
	}
	if (error)
		return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
	error = scan_node(sc, child, res, 0, NULL, res->draft);
	sc->ptr.len = saved;
	if (sc->ptr.ptr)
		sc->ptr.ptr[saved] = '\0';
	return error;
}

static const char *const map_keywords_2020[] = {
    "$defs", "definitions", "properties", "patternProperties", "dependentSchemas", "dependencies"};
static const char *const single_keywords_2020[] = {"additionalProperties",
						   "propertyNames",
						   "items",
						   "contains",
						   "not",
						   "if",
						   "then",
						   "else",
						   "unevaluatedItems",
						   "unevaluatedProperties",
						   "contentSchema"};
static const char *const array_keywords_2020[] = {"allOf", "anyOf", "oneOf", "prefixItems"};
static const char *const map_keywords_07[] = {"definitions", "properties", "patternProperties",
					      "dependencies"};
static const char *const single_keywords_07[] = {
    "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
    "additionalItems"};
static const char *const array_keywords_07[] = {"allOf", "anyOf", "oneOf", "items"};

static int scan_node(struct scan *sc, json_t *node, struct wh_sresource *res, int doc_root,
		     const char *retrieval, int default_draft)
{
	struct wh_schema *s = sc->s;
	int error = 0, draft = res ? res->draft : default_draft;
	unsigned vocab = res ? res->vocab : WH_VOCAB_ALL;
	json_t *id, *sch, *anchor;
	struct members m;
	char *saved_ptr = NULL, *uri = NULL, *base = NULL;
	const char *frag;
	size_t saved_len = sc->ptr.len;

	if (!json_is_object(node)) {
		if (json_is_boolean(node) && res)
			error = add_info(s, node, res, sc->ptr.ptr ? sc->ptr.ptr : "");
		if (error)
			wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		if (doc_root && !json_is_boolean(node))
			error = wh_error_set(
			    sc->err, WH_ECONFIG,
			    "schema: '%s' is not a schema (an object or a boolean)", retrieval);
		else if (doc_root && !error) {
			res = add_resource(s, retrieval, node, draft, vocab);
			if (!res)
				return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			error = add_entry(s, retrieval, node, sc->err);
			if (!error)
				error = add_info(s, node, res, "");
		}
		return error;
	}
	if (sc->ptr.len > (1u << 16))
		return wh_error_set(sc->err, WH_ECONFIG, "schema: nesting too deep");

	members_init(&m, node);
	sch = member(&m, "$schema");
	id = member(&m, "$id");
	if (json_is_string(member(&m, "$ref")) && draft == WH_SDRAFT_07 && !doc_root)
		id = NULL; /* draft-07: $ref hides every sibling, $id included */
	if (json_is_string(sch) && (doc_root || json_is_string(id))) {
		error = resolve_dialect(s, json_string_value(sch), 0, &draft, &vocab, sc->err);
		if (error)
			return error;
		if (draft == WH_SDRAFT_07 && member(&m, "$ref") && !doc_root)
			id = NULL;
	}
	if (id && !json_is_string(id))
		return wh_error_set(sc->err, WH_ECONFIG, "schema: $id at '%s#%s' is not a string",
				    res ? res->uri : retrieval, sc->ptr.ptr ? sc->ptr.ptr : "");
	if (id && draft == WH_SDRAFT_07 && json_string_value(id)[0] == '#') {
		/* a location-independent identifier: a plain-name fragment */
		if (doc_root) {
			res = add_resource(s, retrieval, node, draft, vocab);
			if (!res || add_entry(s, retrieval, node, sc->err))
				return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		}
		uri = wh_strdupf("%s%s", res->uri, json_string_value(id));
		if (!uri)
			return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		error = add_entry(s, uri, node, sc->err);
		free(uri);
		uri = NULL;
		if (error)
			return error;
	} else if (id || doc_root) {
		if (id) {
			char *resolved =
			    wh_suri_resolve(res ? res->uri : retrieval, json_string_value(id));

			if (!resolved)
				return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			base = wh_suri_split(resolved, &frag);
			if (base && frag && *frag && draft == WH_SDRAFT_07)
				uri = wh_strdupf("%s#%s", base, frag);
			free(resolved);
			if (!base)
				return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		} else {
			base = strdup(retrieval);
			if (!base)
				return wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		}
		res = add_resource(s, base, node, draft, vocab);
		if (!res) {
			error = wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			goto out;
		}
		error = add_entry(s, base, node, sc->err);
		if (!error && doc_root && id && strcmp(retrieval, base) != 0 && *retrieval)
			error = add_entry(s, retrieval, node, sc->err);
		if (!error && uri)
			error = add_entry(s, uri, node, sc->err);
		if (error)
			goto out;
		/* pointers restart at the new resource */
		saved_ptr = sc->ptr.ptr ? strdup(sc->ptr.ptr) : NULL;
		if (sc->ptr.ptr && !saved_ptr) {
			error = wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			goto out;
		}
		wh_buf_reset(&sc->ptr);
	}
	if (draft == WH_SDRAFT_2020_12) {
		anchor = member(&m, "$anchor");
		if (json_is_string(anchor)) {
			char *a = wh_strdupf("%s#%s", res->uri, json_string_value(anchor));

			error = a ? add_entry(s, a, node, sc->err)
				  : wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			free(a);
			if (error)
				goto out;
		}
		anchor = member(&m, "$dynamicAnchor");
		if (json_is_string(anchor)) {
			char *a = wh_strdupf("%s#%s", res->uri, json_string_value(anchor));

			error = a ? add_entry(s, a, node, sc->err)
				  : wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			free(a);
			if (!error && add_dynamic_anchor(res, json_string_value(anchor), node))
				error = wh_error_set(sc->err, WH_ENOMEM, "out of memory");
			if (error)
				goto out;
		}
	}
	if (add_info(s, node, res, sc->ptr.ptr ? sc->ptr.ptr : "")) {
		error = wh_error_set(sc->err, WH_ENOMEM, "out of memory");
		goto out;
	}
	{
		int d7 = draft == WH_SDRAFT_07;
		const char *const *maps = d7 ? map_keywords_07 : map_keywords_2020;
		size_t nmaps =
		    d7 ? WH_ARRAY_SIZE(map_keywords_07) : WH_ARRAY_SIZE(map_keywords_2020);
		const char *const *singles = d7 ? single_keywords_07 : single_keywords_2020;
		size_t nsingles =
		    d7 ? WH_ARRAY_SIZE(single_keywords_07) : WH_ARRAY_SIZE(single_keywords_2020);
		const char *const *arrays = d7 ? array_keywords_07 : array_keywords_2020;
		size_t narrays =
		    d7 ? WH_ARRAY_SIZE(array_keywords_07) : WH_ARRAY_SIZE(array_keywords_2020);

		for (size_t i = 0; !error && i < nmaps; i++) {
			json_t *map = member(&m, maps[i]), *v;
			const char *k;

			if (!json_is_object(map))
				continue;
			json_object_foreach(map, k, v)
			{
				if (json_is_object(v) || json_is_boolean(v))
					error = scan_child(sc, v, res, maps[i], k, 0, 0);
				if (error)
					break;
			}
		}
		for (size_t i = 0; !error && i < nsingles; i++) {
			json_t *v = member(&m, singles[i]);

			if (json_is_object(v) || json_is_boolean(v))
				error = scan_child(sc, v, res, singles[i], NULL, 0, 0);
		}
		for (size_t i = 0; !error && i < narrays; i++) {
			json_t *arr = member(&m, arrays[i]), *v;
			size_t idx;

			if (!json_is_array(arr))
				continue;
			json_array_foreach(arr, idx, v)
			{
				if (json_is_object(v) || json_is_boolean(v))
					error = scan_child(sc, v, res, arrays[i], NULL, idx, 1);
				if (error)
					break;
			}
		}
	}
out:
	if (saved_ptr || base) {
		wh_buf_reset(&sc->ptr);
		if (saved_ptr && wh_buf_adds(&sc->ptr, saved_ptr))
			error = error ? error : wh_error_set(sc->err, WH_ENOMEM, "out of memory");
	} else {
		sc->ptr.len = saved_len;
		if (sc->ptr.ptr)
			sc->ptr.ptr[saved_len] = '\0';
	}
	free(saved_ptr);
	free(base);
	free(uri);
	return error;
}

/* Registers doc (taking the reference) under retrieval URI uri. */
static int register_document(struct wh_schema *s, json_t *doc, const char *uri, int default_draft,
			     struct wh_error *err)
{
	struct scan sc = {s, WH_BUF_INIT(1u << 24), err};
	int error;

	if (s->ndocs == s->adocs) {
		size_t n = s->adocs ? s->adocs * 2 : 8;
		struct wh_sdoc *d = realloc(s->docs, n * sizeof(*d));

		if (!d) {
			json_decref(doc);
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		}
		s->docs = d;
		s->adocs = n;
	}
	s->docs[s->ndocs++].root = doc;
	error = scan_node(&sc, doc, NULL, 1, uri, default_draft);
	wh_buf_release(&sc.ptr);
	return error;
}

/* The embedded file for an official meta-schema URI, or NULL. */
static const struct wh_embedded_file *embedded_metaschema(const char *uri)
{
	const char *p2020 = "https://json-schema.org/draft/2020-12/";
	char name[256];
	size_t n;

	if (strcmp(uri, URI_DRAFT_07) == 0)
		return wh_embedded_find("runner/metaschemas/draft-07-schema.json");
	if (strncmp(uri, p2020, strlen(p2020)) != 0)
		return NULL;
	n = (size_t)snprintf(name, sizeof(name), "runner/metaschemas/draft2020-12-%s.json",
			     uri + strlen(p2020));
	if (n >= sizeof(name))
		return NULL;
	for (char *p = name + strlen("runner/metaschemas/"); *p; p++)
		if (*p == '/')
			*p = '-';
	return wh_embedded_find(name);
}

static int fetch_document(struct wh_schema *s, const char *uri, int default_draft,
			  struct wh_error *err)
{
	const struct wh_embedded_file *emb = embedded_metaschema(uri);
	char *path = NULL, *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int error = 0;

	if (emb) {
		error = wh_schema_parse_trusted(&doc, (const char *)emb->data, emb->size, emb->name,
						err);
		goto parsed;
	}
	for (size_t i = 0; i < s->cfg.nremotes && !path; i++) {
		const char *rule = s->remotes[i], *eq = strchr(rule, '=');
		size_t plen = eq ? (size_t)(eq - rule) : 0;

		if (eq && plen && strncmp(uri, rule, plen) == 0) {
			const char *rest = uri + plen;

			/* resolved URIs have no dot segments, but a raw $schema may */
			if (strncmp(rest, "../", 3) == 0 || strstr(rest, "/../"))
				return wh_error_set(err, WH_ECONFIG,
						    "schema: refusing '%s' (.. in the path)", uri);
			path = wh_strdupf("%s/%s", eq + 1, rest);
		}
	}
	if (!path && strncmp(uri, "file://", 7) == 0) {
		const char *p = uri + 7;

		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p == '/')
			path = wh_suri_decode(p);
	}
	if (!path)
		return wh_error_set(err, WH_ECONFIG,
				    "schema: no schema is known at '%s' (no network is used: "
				    "map the URI to a folder with --remote PREFIX=DIR)",
				    uri);
	error = wh_read_file(&text, &len, path, WH_SCHEMA_MAX_DOCUMENT, err);
	if (error) {
		error = WH_ECONFIG;
		err->code = WH_ECONFIG;
		wh_error_prefix(err, "schema: cannot load '%s'", uri);
		goto out;
	}
	error = wh_schema_parse(&doc, text, len, path, err);
parsed:
	if (error) {
		error = WH_ECONFIG;
		err->code = WH_ECONFIG;
		goto out;
	}
	error = register_document(s, doc, uri, default_draft, err);
out:
	free(path);
	free(text);
	return error;
}

/* The resource named uri (no fragment), loading its document if needed. */
static int load_resource(struct wh_schema *s, const char *uri, int default_draft,
			 struct wh_sresource **out, struct wh_error *err)
{
	json_t *schema = entry_get(s, uri);
	struct wh_sinfo *info;
	int error = 0;

	if (!schema) {
		error = fetch_document(s, uri, default_draft, err);
		if (error)
			return error;
		schema = entry_get(s, uri);
		if (!schema)
			return wh_error_set(err, WH_ECONFIG, "schema: no schema is known at '%s'",
					    uri);
	}
	info = info_get(s, schema);
	if (!info)
		return wh_error_set(err, WH_EINTERNAL, "schema: '%s' was not scanned", uri);
	*out = info->res;
	return 0;
}

/* ---- compilation ----------------------------------------------------------- */

static int compile_node(struct wh_schema *s, const json_t *schema, struct wh_snode **out,
			struct wh_error *err);

struct cctx {
	struct wh_schema *s;
	struct wh_sinfo *info;
	const json_t *obj;
	struct members m; /* obj's */
	struct wh_snode *node;
	size_t akws;
	struct wh_error *err;
};

static int cfail(struct cctx *c, const char *keyword, const char *what)
{
	return wh_error_set(c->err, WH_ECONFIG, "schema: %s#%s/%s: %s", c->info->res->uri,
			    c->info->pointer, keyword, what);
}

static struct wh_skw *add_kw(struct cctx *c, enum wh_skw_type type, const char *name,
			     const json_t *value)
{
	struct wh_snode *n = c->node;

	if (n->nkws == c->akws) {
		/* first the member count, which most schemas' keywords fit in
		 * (a keyword entry is large, and most schemas are small) */
		size_t a = c->akws ? c->akws * 2 : json_object_size(c->obj) + 1;
		struct wh_skw *k = realloc(n->kws, a * sizeof(*k));

		if (!k) {
			wh_error_set(c->err, WH_ENOMEM, "out of memory");
			return NULL;
		}
		n->kws = k;
		c->akws = a;
	}
	struct wh_skw *kw = &n->kws[n->nkws++];

	memset(kw, 0, sizeof(*kw));
	kw->type = type;
	kw->name = name;
	kw->value = value;
	return kw;
}

static int sub(struct cctx *c, const json_t *value, const char *keyword, struct wh_snode **out)
{
	if (!json_is_object(value) && !json_is_boolean(value))
		return cfail(c, keyword, "must be a schema (an object or a boolean)");
	return compile_node(c->s, value, out, c->err);
}

/* ECMA-262 General_Category long names (and aliases) to PCRE2's short ones. */
static const char *category_short_name(const char *name, size_t len)
{
	static const char *const names[][2] = {
	    {"Letter", "L"},
	    {"Cased_Letter", "L&"},
	    {"LC", "L&"},
	    {"Uppercase_Letter", "Lu"},
	    {"Lowercase_Letter", "Ll"},
	    {"Titlecase_Letter", "Lt"},
	    {"Modifier_Letter", "Lm"},
	    {"Other_Letter", "Lo"},
	    {"Mark", "M"},
	    {"Combining_Mark", "M"},
	    {"Nonspacing_Mark", "Mn"},
	    {"Spacing_Mark", "Mc"},
	    {"Enclosing_Mark", "Me"},
	    {"Number", "N"},
	    {"Decimal_Number", "Nd"},
	    {"digit", "Nd"},
	    {"Letter_Number", "Nl"},
	    {"Other_Number", "No"},
	    {"Punctuation", "P"},
	    {"punct", "P"},
	    {"Connector_Punctuation", "Pc"},
	    {"Dash_Punctuation", "Pd"},
	    {"Open_Punctuation", "Ps"},
	    {"Close_Punctuation", "Pe"},
	    {"Initial_Punctuation", "Pi"},
	    {"Final_Punctuation", "Pf"},
	    {"Other_Punctuation", "Po"},
	    {"Symbol", "S"},
	    {"Math_Symbol", "Sm"},
	    {"Currency_Symbol", "Sc"},
	    {"Modifier_Symbol", "Sk"},
	    {"Other_Symbol", "So"},
	    {"Separator", "Z"},
	    {"Space_Separator", "Zs"},
	    {"Line_Separator", "Zl"},
	    {"Paragraph_Separator", "Zp"},
	    {"Other", "C"},
	    {"Control", "Cc"},
	    {"cntrl", "Cc"},
	    {"Format", "Cf"},
	    {"Surrogate", "Cs"},
	    {"Private_Use", "Co"},
	    {"Unassigned", "Cn"},
	};

	for (size_t i = 0; i < WH_ARRAY_SIZE(names); i++)
		if (strlen(names[i][0]) == len && memcmp(names[i][0], name, len) == 0)
			return names[i][1];
	return NULL;
}

/*
 * Rewrites the ECMA-262 constructs whose PCRE2 meaning differs: \d and \w
 * are ASCII-only in ECMA (PCRE2's UCP would widen them), and \p{...} takes
 * long General_Category names and Script= / gc= prefixes. Everything else
 * passes through (\uXXXX is understood thanks to PCRE2_ALT_BSUX).
 */
static int ecma_to_pcre2(const char *src, struct wh_buf *out)
{
	int in_class = 0, error = 0;

	for (const char *p = src; *p && !error; p++) {
		if (*p != '\\') {
			if (*p == '[' && !in_class)
				in_class = 1;
			else if (*p == ']' && in_class)
				in_class = 0;
			error = wh_buf_add(out, p, 1);
			continue;
		}
		p++;
		switch (*p) {
		case '\0':
			error = wh_buf_adds(out, "\\");
			p--;
			break;
		case 'd':
			error = wh_buf_adds(out, in_class ? "0-9" : "[0-9]");
			break;
		case 'D':
			error = wh_buf_adds(out, in_class ? "\\D" : "[^0-9]");
			break;
		case 'w':
			error = wh_buf_adds(out, in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]");
			break;
		case 'W':
			error = wh_buf_adds(out, in_class ? "\\W" : "[^A-Za-z0-9_]");
			break;
		case 'p':
		case 'P': {
			const char *end = p[1] == '{' ? strchr(p + 2, '}') : NULL;
			const char *name = p + 2, *eq, *short_name;

			if (!end) {
				error = wh_buf_add(out, p - 1, 2);
				break;
			}
			eq = memchr(name, '=', (size_t)(end - name));
			if (eq)
				name = eq + 1;
			short_name = category_short_name(name, (size_t)(end - name));
			error = wh_buf_add(out, p - 1, 3);
			if (!error)
				error = short_name ? wh_buf_adds(out, short_name)
						   : wh_buf_add(out, name, (size_t)(end - name));
			if (!error)
				error = wh_buf_adds(out, "}");
			p = end;
			break;
		}
		default:
			error = wh_buf_add(out, p - 1, 2);
		}
	}
	if (!error)
		error = wh_buf_add(out, "", 0);
	return error;
}

static int compile_regex(struct cctx *c, const char *keyword, const char *source,
			 struct wh_sregex *re)
{
	int code;
	PCRE2_SIZE offset;
	struct wh_buf pattern = WH_BUF_INIT(1u << 20);

	re->source = strdup(source);
	if (!re->source || ecma_to_pcre2(source, &pattern)) {
		wh_buf_release(&pattern);
		return wh_error_set(c->err, WH_ENOMEM, "out of memory");
	}
	re->code = pcre2_compile((PCRE2_SPTR)pattern.ptr, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX,
				 &code, &offset, NULL);
	wh_buf_release(&pattern);
	if (!re->code) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(code, msg, sizeof(msg));
		return wh_error_set(
		    c->err, WH_ECONFIG,
		    "schema: %s#%s/%s: bad regular expression '%s': %s at offset %zu",
		    c->info->res->uri, c->info->pointer, keyword, source, (const char *)msg,
		    (size_t)offset);
	}
	re->matches = 0; /* JIT-compiled once used enough (schema_validate.c) */
	return 0;
}

static int get_count(struct cctx *c, const char *keyword, size_t *out)
{
	const json_t *v = member(&c->m, keyword);
	double d;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (size_t)json_integer_value(v);
		return 1;
	}
	if (json_is_real(v) && (d = json_real_value(v)) >= 0 && d == (double)(long long)d) {
		*out = (size_t)d;
		return 1;
	}
	if (v)
		return cfail(c, keyword, "must be a non-negative integer");
	return 0;
}

static uint32_t str_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static int compile_properties(struct cctx *c)
{
	const json_t *props = member(&c->m, "properties");
	const json_t *pats = member(&c->m, "patternProperties");
	const json_t *add = member(&c->m, "additionalProperties");
	struct wh_sprops *p;
	struct wh_skw *kw;
	const char *key;
	json_t *v;
	int error = 0;

	if (!props && !pats && !add)
		return 0;
	if ((props && !json_is_object(props)) || (pats && !json_is_object(pats)))
		return cfail(c,
			     props && !json_is_object(props) ? "properties" : "patternProperties",
			     "must be an object");
	kw = add_kw(c, KW_PROPERTIES, "properties", props);
	if (!kw)
		return WH_ENOMEM;
	p = kw->props = calloc(1, sizeof(*p));
	if (!p)
		return wh_error_set(c->err, WH_ENOMEM, "out of memory");
	p->additional_name = "additionalProperties";
	if (props) {
		size_t size = 4;

		while (size < json_object_size(props) * 2)
			size *= 2;
		p->table = calloc(size, sizeof(*p->table));
		if (!p->table)
			return wh_error_set(c->err, WH_ENOMEM, "out of memory");
		p->mask = size - 1;
		json_object_foreach((json_t *)props, key, v)
		{
			size_t len = strlen(key);
			uint32_t h = str_hash(key, len);
			size_t i = h & p->mask;

			while (p->table[i].key)
				i = (i + 1) & p->mask;
			p->table[i].key = key;
			p->table[i].len = len;
			p->table[i].hash = h;
			error = sub(c, v, "properties", &p->table[i].node);
			if (error)
				return error;
			p->count++;
		}
	}
	if (pats) {
		p->patterns = calloc(json_object_size(pats) + 1, sizeof(*p->patterns));
		if (!p->patterns)
			return wh_error_set(c->err, WH_ENOMEM, "out of memory");
		json_object_foreach((json_t *)pats, key, v)
		{
			struct wh_spattern *pat = &p->patterns[p->npatterns++];

			error = compile_regex(c, "patternProperties", key, &pat->re);
			if (!error)
				error = sub(c, v, "patternProperties", &pat->node);
			if (error)
				return error;
		}
	}
	if (add)
		error = sub(c, add, "additionalProperties", &p->additional);
	return error;
}

static int compile_list(struct cctx *c, const json_t *arr, const char *keyword, int nonempty,
			struct wh_skw *kw)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || (nonempty && json_array_size(arr) == 0))
		return cfail(c, keyword, "must be a non-empty array of schemas");
	kw->list = calloc(json_array_size(arr) + 1, sizeof(*kw->list));
	if (!kw->list)
		return wh_error_set(c->err, WH_ENOMEM, "out of memory");
	kw->nlist = json_array_size(arr);
	json_array_foreach(arr, i, v)
	{
		int error = sub(c, v, keyword, &kw->list[i]);

		if (error)
			return error;
	}
	return 0;
}

static unsigned type_bit(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} types[] = {{"null", T_NULL},	    {"boolean", T_BOOLEAN}, {"object", T_OBJECT},
		     {"array", T_ARRAY},    {"number", T_NUMBER},   {"string", T_STRING},
		     {"integer", T_INTEGER}};

	for (size_t i = 0; i < WH_ARRAY_SIZE(types); i++)
		if (strcmp(types[i].name, name) == 0)
			return types[i].bit;
	return 0;
}

static int compile_ref(struct cctx *c, const char *keyword, int dynamic)
{
	const json_t *ref = member(&c->m, keyword);
	char *abs = NULL, *base = NULL, *decoded = NULL, *anchor_uri = NULL;
	const char *frag;
	struct wh_sresource *res;
	json_t *target = NULL;
	struct wh_skw *kw;
	int error = 0;

	if (!json_is_string(ref))
		return cfail(c, keyword, "must be a string");
	abs = wh_suri_resolve(c->info->res->uri, json_string_value(ref));
	base = abs ? wh_suri_split(abs, &frag) : NULL;
	if (!base) {
		error = wh_error_set(c->err, WH_ENOMEM, "out of memory");
		goto out;
	}
	error = load_resource(c->s, base, c->info->res->draft, &res, c->err);
	if (error) {
		wh_error_prefix(c->err, "schema: %s#%s/%s: cannot resolve '%s'", c->info->res->uri,
				c->info->pointer, keyword, json_string_value(ref));
		goto out;
	}
	if (!frag || !*frag) {
		target = res->root;
	} else if (frag[0] == '/') {
		decoded = wh_suri_decode(frag);
		target = decoded ? wh_json_pointer_get(res->root, decoded) : NULL;
		if (target && !info_get(c->s, target)) {
			/* a schema inside a keyword the scan does not know: scan it
			 * now, as part of the resource the pointer started from */
			struct scan sc = {c->s, WH_BUF_INIT(1u << 24), c->err};

			if (wh_buf_adds(&sc.ptr, decoded) == 0)
				error = scan_node(&sc, target, res, 0, NULL, res->draft);
			else
				error = wh_error_set(c->err, WH_ENOMEM, "out of memory");
			wh_buf_release(&sc.ptr);
			if (error)
				goto out;
		}
	} else {
		anchor_uri = wh_strdupf("%s#%s", res->uri, frag);
		target = anchor_uri ? entry_get(c->s, anchor_uri) : NULL;
		if (!target) {
			/* an anchor of a resource registered under another URI */
			free(anchor_uri);
			anchor_uri = wh_strdupf("%s#%s", base, frag);
			target = anchor_uri ? entry_get(c->s, anchor_uri) : NULL;
		}
	}
	if (!target || (!json_is_object(target) && !json_is_boolean(target))) {
		error = wh_error_set(
		    c->err, WH_ECONFIG, "schema: %s#%s/%s: '%s' does not resolve to a schema (%s)",
		    c->info->res->uri, c->info->pointer, keyword, json_string_value(ref), abs);
		goto out;
	}
	kw = add_kw(c, dynamic ? KW_DYNREF : KW_REF, keyword, ref);
	if (!kw) {
		error = WH_ENOMEM;
		goto out;
	}
	if (dynamic && frag && *frag && frag[0] != '/') {
		struct wh_sinfo *ti = info_get(c->s, target);

		for (size_t i = 0; ti && i < ti->res->ndyn; i++)
			if (strcmp(ti->res->dyn[i].name, frag) == 0 &&
			    ti->res->dyn[i].schema == target)
				kw->anchor = ti->res->dyn[i].name;
	}
	error = compile_node(c->s, target, &kw->a, c->err);
out:
	free(abs);
	free(base);
	free(decoded);
	free(anchor_uri);
	return error;
}

static int compile_deps(struct cctx *c, const char *keyword, enum wh_skw_type type)
{
	const json_t *map = member(&c->m, keyword);
	struct wh_skw *kw;
	const char *key;
	json_t *v;
	int error = 0;

	if (!map)
		return 0;
	if (!json_is_object(map))
		return cfail(c, keyword, "must be an object");
	kw = add_kw(c, type, keyword, map);
	if (!kw)
		return WH_ENOMEM;
	kw->deps = calloc(json_object_size(map) + 1, sizeof(*kw->deps));
	if (!kw->deps)
		return wh_error_set(c->err, WH_ENOMEM, "out of memory");
	json_object_foreach((json_t *)map, key, v)
	{
		struct wh_sdep *d = &kw->deps[kw->ndeps++];

		d->name = key;
		if (json_is_array(v) && type != KW_DEPENDENT_SCHEMAS) {
			size_t i;
			json_t *n;

			json_array_foreach(v, i, n) if (!json_is_string(n)) return cfail(
			    c, keyword, "lists must hold strings");
			d->names = v;
		} else if (type != KW_DEPENDENT_REQUIRED) {
			error = sub(c, v, keyword, &d->node);
			if (error)
				return error;
		} else {
			return cfail(c, keyword, "values must be arrays of strings");
		}
	}
	return 0;
}

static int compile_validation(struct cctx *c)
{
	const json_t *v;
	struct wh_skw *kw;
	size_t n;
	int error = 0;
	static const struct {
		const char *name;
		enum wh_skw_type type;
	} numeric[] = {{"multipleOf", KW_MULTIPLE_OF},
		       {"maximum", KW_MAXIMUM},
		       {"exclusiveMaximum", KW_EXCLUSIVE_MAXIMUM},
		       {"minimum", KW_MINIMUM},
		       {"exclusiveMinimum", KW_EXCLUSIVE_MINIMUM}};
	static const struct {
		const char *name;
		enum wh_skw_type type;
	} counts[] = {{"maxLength", KW_MAX_LENGTH},	    {"minLength", KW_MIN_LENGTH},
		      {"maxItems", KW_MAX_ITEMS},	    {"minItems", KW_MIN_ITEMS},
		      {"maxProperties", KW_MAX_PROPERTIES}, {"minProperties", KW_MIN_PROPERTIES}};

	if ((v = member(&c->m, "type"))) {
		unsigned bits = 0;

		if (json_is_string(v)) {
			bits = type_bit(json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *t;

			json_array_foreach(v, i, t)
			{
				unsigned b = json_is_string(t) ? type_bit(json_string_value(t)) : 0;

				if (!b)
					return cfail(c, "type", "unknown type name");
				bits |= b;
			}
		}
		if (!bits && !(json_is_array(v) && json_array_size(v) == 0))
			return cfail(c, "type", "must be a type name or a list of them");
		kw = add_kw(c, KW_TYPE, "type", v);
		if (!kw)
			return WH_ENOMEM;
		kw->types = bits;
	}
	if ((v = member(&c->m, "enum"))) {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			return cfail(c, "enum", "must be an array");
		kw = add_kw(c, KW_ENUM, "enum", v);
		if (!kw)
			return WH_ENOMEM;
		kw->only_strings = 1;
		json_array_foreach(v, i, e) if (!json_is_string(e)) kw->only_strings = 0;
	}
	if ((v = member(&c->m, "const")) && !add_kw(c, KW_CONST, "const", v))
		return WH_ENOMEM;
	for (size_t i = 0; i < WH_ARRAY_SIZE(numeric); i++) {
		v = member(&c->m, numeric[i].name);
		if (!v)
			continue;
		if (c->info->res->draft == WH_SDRAFT_07 && json_is_boolean(v) &&
		    (numeric[i].type == KW_EXCLUSIVE_MAXIMUM ||
		     numeric[i].type == KW_EXCLUSIVE_MINIMUM))
			continue; /* draft-04 style booleans: ignored */
		if (!json_is_number(v))
			return cfail(c, numeric[i].name, "must be a number");
		if (numeric[i].type == KW_MULTIPLE_OF && json_number_value(v) <= 0)
			return cfail(c, numeric[i].name, "must be greater than 0");
		if (!add_kw(c, numeric[i].type, numeric[i].name, v))
			return WH_ENOMEM;
	}
	for (size_t i = 0; i < WH_ARRAY_SIZE(counts); i++) {
		error = get_count(c, counts[i].name, &n);
		if (error < 0)
			return error;
		if (error == 1) {
			kw = add_kw(c, counts[i].type, counts[i].name,
				    member(&c->m, counts[i].name));
			if (!kw)
				return WH_ENOMEM;
			kw->count = n;
		}
	}
	error = 0;
	if ((v = member(&c->m, "pattern"))) {
		if (!json_is_string(v))
			return cfail(c, "pattern", "must be a string");
		kw = add_kw(c, KW_PATTERN, "pattern", v);
		if (!kw)
			return WH_ENOMEM;
		error = compile_regex(c, "pattern", json_string_value(v), &kw->re);
		if (error)
			return error;
	}
	if ((v = member(&c->m, "uniqueItems")) && json_is_true(v) &&
	    !add_kw(c, KW_UNIQUE_ITEMS, "uniqueItems", v))
		return WH_ENOMEM;
	if ((v = member(&c->m, "required"))) {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			return cfail(c, "required", "must be an array of strings");
		json_array_foreach(v, i, e) if (!json_is_string(e)) return cfail(
		    c, "required", "must be an array of strings");
		if (json_array_size(v) && !add_kw(c, KW_REQUIRED, "required", v))
			return WH_ENOMEM;
	}
	if (c->info->res->draft == WH_SDRAFT_2020_12)
		error = compile_deps(c, "dependentRequired", KW_DEPENDENT_REQUIRED);
	return error;
}

static int compile_applicator(struct cctx *c)
{
	const json_t *v;
	struct wh_skw *kw;
	int d7 = c->info->res->draft == WH_SDRAFT_07, error = 0;
	static const struct {
		const char *name;
		enum wh_skw_type type;
	} lists[] = {{"allOf", KW_ALL_OF}, {"anyOf", KW_ANY_OF}, {"oneOf", KW_ONE_OF}};

	for (size_t i = 0; i < WH_ARRAY_SIZE(lists); i++) {
		if (!(v = member(&c->m, lists[i].name)))
			continue;
		kw = add_kw(c, lists[i].type, lists[i].name, v);
		if (!kw)
			return WH_ENOMEM;
		error = compile_list(c, v, lists[i].name, 1, kw);
		if (error)
			return error;
	}
	if ((v = member(&c->m, "not"))) {
		kw = add_kw(c, KW_NOT, "not", v);
		if (!kw || (error = sub(c, v, "not", &kw->a)))
			return kw ? error : WH_ENOMEM;
	}
	if ((v = member(&c->m, "if"))) {
		const json_t *t = member(&c->m, "then"), *e = member(&c->m, "else");

		kw = add_kw(c, KW_IF, "if", v);
		if (!kw)
			return WH_ENOMEM;
		kw->b_name = "then";
		kw->c_name = "else";
		if ((error = sub(c, v, "if", &kw->a)) ||
		    (t && (error = sub(c, t, "then", &kw->b))) ||
		    (e && (error = sub(c, e, "else", &kw->c))))
			return error;
	}
	error = compile_properties(c);
	if (error)
		return error;
	if ((v = member(&c->m, "propertyNames"))) {
		kw = add_kw(c, KW_PROPERTY_NAMES, "propertyNames", v);
		if (!kw || (error = sub(c, v, "propertyNames", &kw->a)))
			return kw ? error : WH_ENOMEM;
	}
	/* 2020-12 keeps draft-07's "dependencies" working, as most validators do */
	error = compile_deps(c, "dependencies", KW_DEPENDENCIES);
	if (!error && !d7)
		error = compile_deps(c, "dependentSchemas", KW_DEPENDENT_SCHEMAS);
	if (error)
		return error;
	if (d7) {
		const json_t *items = member(&c->m, "items");
		const json_t *more = member(&c->m, "additionalItems");

		if (items) {
			kw = add_kw(c, KW_ITEMS, "items", items);
			if (!kw)
				return WH_ENOMEM;
			if (json_is_array(items)) {
				kw->list_name = "items";
				error = compile_list(c, items, "items", 0, kw);
				kw->b_name = "additionalItems";
				if (!error && more)
					error = sub(c, more, "additionalItems", &kw->a);
			} else {
				kw->b_name = "items";
				error = sub(c, items, "items", &kw->a);
			}
			if (error)
				return error;
		}
	} else {
		const json_t *prefix = member(&c->m, "prefixItems");
		const json_t *items = member(&c->m, "items");

		if (prefix || items) {
			kw = add_kw(c, KW_ITEMS, "items", items ? items : prefix);
			if (!kw)
				return WH_ENOMEM;
			kw->list_name = "prefixItems";
			kw->b_name = "items";
			if (prefix && (error = compile_list(c, prefix, "prefixItems", 1, kw)))
				return error;
			if (items && (error = sub(c, items, "items", &kw->a)))
				return error;
		}
	}
	if ((v = member(&c->m, "contains"))) {
		kw = add_kw(c, KW_CONTAINS, "contains", v);
		if (!kw || (error = sub(c, v, "contains", &kw->a)))
			return kw ? error : WH_ENOMEM;
		kw->min = 1;
		if (!d7 && (c->info->res->vocab & WH_VOCAB_VALIDATION)) {
			error = get_count(c, "minContains", &kw->min);
			if (error < 0)
				return error;
			kw->has_min = error;
			if (!error)
				kw->min = 1;
			error = get_count(c, "maxContains", &kw->max);
			if (error < 0)
				return error;
			kw->has_max = error;
			error = 0;
		}
	}
	return error;
}

static int compile_keywords(struct cctx *c)
{
	const json_t *v;
	struct wh_sresource *res = c->info->res;
	int d7 = res->draft == WH_SDRAFT_07, error = 0;
	struct wh_skw *kw;

	if (member(&c->m, "$ref")) {
		error = compile_ref(c, "$ref", 0);
		if (error || d7)
			return error; /* draft-07: $ref hides its siblings */
	}
	if (!d7 && member(&c->m, "$dynamicRef") && (error = compile_ref(c, "$dynamicRef", 1)))
		return error;
	if (res->vocab & WH_VOCAB_VALIDATION && (error = compile_validation(c)))
		return error;
	if (res->vocab & WH_VOCAB_APPLICATOR && (error = compile_applicator(c)))
		return error;
	if (!d7 && res->vocab & WH_VOCAB_UNEVALUATED) {
		if ((v = member(&c->m, "unevaluatedItems"))) {
			kw = add_kw(c, KW_UNEVALUATED_ITEMS, "unevaluatedItems", v);
			if (!kw || (error = sub(c, v, "unevaluatedItems", &kw->a)))
				return kw ? error : WH_ENOMEM;
			c->node->wants_annotations = 1;
		}
		if ((v = member(&c->m, "unevaluatedProperties"))) {
			kw = add_kw(c, KW_UNEVALUATED_PROPERTIES, "unevaluatedProperties", v);
			if (!kw || (error = sub(c, v, "unevaluatedProperties", &kw->a)))
				return kw ? error : WH_ENOMEM;
			c->node->wants_annotations = 1;
		}
	}
	return error;
}

static int compile_node(struct wh_schema *s, const json_t *schema, struct wh_snode **out,
			struct wh_error *err)
{
	struct wh_sinfo *info = info_get(s, schema);
	struct cctx c;
	struct wh_snode *node;
	int error;

	if (!info)
		return wh_error_set(err, WH_EINTERNAL, "schema: a subschema was not scanned");
	if (info->node) {
		*out = info->node;
		return 0;
	}
	if (s->compiling_depth >= MAX_COMPILE_DEPTH)
		return wh_error_set(err, WH_ECONFIG, "schema: %s#%s: nesting too deep",
				    info->res->uri, info->pointer);
	node = calloc(1, sizeof(*node));
	if (!node)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	info->node = node;
	node->res = info->res;
	node->boolean = json_is_boolean(schema) ? json_is_true(schema) : -1;
	node->pointer = info->pointer;
	*out = node;
	if (node->boolean >= 0)
		return 0;
	c.s = s;
	c.info = info;
	c.obj = schema;
	members_init(&c.m, schema);
	c.node = node;
	c.akws = 0;
	c.err = err;
	s->compiling_depth++;
	error = compile_keywords(&c);
	s->compiling_depth--;
	return error;
}

/* Compiles every $dynamicAnchor of every resource (until no new ones). */
static int compile_dynamic_anchors(struct wh_schema *s, struct wh_error *err)
{
	int again = 1, error = 0;

	while (again && !error) {
		again = 0;
		for (size_t i = 0; i < s->nresources && !error; i++) {
			struct wh_sresource *r = s->resources[i];

			for (size_t j = 0; j < r->ndyn && !error; j++) {
				if (r->dyn[j].node)
					continue;
				error = compile_node(s, r->dyn[j].schema, &r->dyn[j].node, err);
				again = 1;
			}
		}
	}
	return error;
}

/* ---- public API --------------------------------------------------------------- */

void wh_schema_issues_init(struct wh_schema_issues *issues)
{
	issues->items = NULL;
	issues->count = issues->alloc = 0;
}

void wh_schema_issues_release(struct wh_schema_issues *issues)
{
	for (size_t i = 0; issues && i < issues->count; i++) {
		free(issues->items[i].instance_location);
		free(issues->items[i].keyword_location);
		free(issues->items[i].absolute_location);
		free(issues->items[i].message);
	}
	if (issues) {
		free(issues->items);
		wh_schema_issues_init(issues);
	}
}

static void free_regex(struct wh_sregex *re)
{
	free(re->source);
	pcre2_code_free(re->code);
}

static void free_node(struct wh_snode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkws; i++) {
		struct wh_skw *kw = &n->kws[i];

		free(kw->list);
		free(kw->deps);
		free_regex(&kw->re);
		if (kw->props) {
			for (size_t j = 0; j < kw->props->npatterns; j++)
				free_regex(&kw->props->patterns[j].re);
			free(kw->props->patterns);
			free(kw->props->table);
			free(kw->props);
		}
	}
	free(n->kws);
	free(n);
}

void wh_schema_free(struct wh_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nall; i++) {
		free_node(s->all_infos[i]->node);
		free(s->all_infos[i]->pointer);
		free(s->all_infos[i]);
	}
	free(s->all_infos);
	free(s->infos);
	for (size_t i = 0; i < s->nresources; i++) {
		for (size_t j = 0; j < s->resources[i]->ndyn; j++)
			free(s->resources[i]->dyn[j].name);
		free(s->resources[i]->dyn);
		free(s->resources[i]->uri);
		free(s->resources[i]);
	}
	free(s->resources);
	for (size_t i = 0; i < s->nentries; i++)
		free(s->entries[i].uri);
	free(s->entries);
	for (size_t i = 0; i < s->ndocs; i++)
		json_decref(s->docs[i].root);
	free(s->docs);
	for (size_t i = 0; i < s->cfg.nremotes; i++)
		free(s->remotes[i]);
	free(s->remotes);
	free(s->default_dialect);
	wh_jarena_release(&s->arena);
	free(s->scope);
	free(s->ipath);
	free(s->kpath);
	pcre2_match_data_free(s->match);
	free(s);
}

/* Validates the root document against its meta-schema. */
static int check_metaschema(struct wh_schema *s, json_t *doc, struct wh_schema_issues *issues,
			    struct wh_error *err)
{
	const json_t *sch = json_object_get(doc, "$schema");
	char *uri =
	    strip_empty_fragment(json_is_string(sch) ? json_string_value(sch) : s->default_dialect);
	struct wh_sresource *meta;
	struct wh_snode *node;
	int error;

	if (!uri)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	if (strncmp(uri, "http://json-schema.org/draft-0", 30) == 0 && strcmp(uri, URI_DRAFT_07)) {
		free(uri); /* draft-04/06: checked against draft-07, the closest we ship */
		uri = strdup(URI_DRAFT_07);
		if (!uri)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	error = load_resource(s, uri, WH_SDRAFT_2020_12, &meta, err);
	if (!error)
		error = compile_node(s, meta->root, &node, err);
	if (!error)
		error = compile_dynamic_anchors(s, err);
	if (!error) {
		const struct wh_jv *instance;

		error = wh_jv_from_json(&s->arena, &instance, doc);
		if (!error)
			error = wh_schema_eval_root(s, node, instance, issues);
		if (error == WH_EPAYLOAD)
			error =
			    wh_error_set(err, WH_ECONFIG,
					 "schema: not a valid schema (checked against %s)", uri);
		else if (error)
			error = wh_error_set(err, error, "out of memory");
	}
	free(uri);
	return error;
}

int wh_schema_compile(struct wh_schema **out, json_t *doc, const struct wh_schema_config *cfg,
		      struct wh_schema_issues *issues, struct wh_error *err)
{
	struct wh_schema *s = calloc(1, sizeof(*s));
	const char *base = cfg && cfg->base_uri ? cfg->base_uri : "";
	char *root_uri = NULL;
	int error = 0;

	*out = NULL;
	if (!s)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	if (cfg)
		s->cfg = *cfg;
	s->cfg.base_uri = NULL;
	s->cfg.default_dialect = NULL;
	s->default_dialect =
	    strip_empty_fragment(cfg && cfg->default_dialect ? cfg->default_dialect : URI_2020_12);
	s->default_draft = WH_SDRAFT_2020_12;
	if (s->default_dialect && strcmp(s->default_dialect, URI_DRAFT_07) == 0)
		s->default_draft = WH_SDRAFT_07;
	s->remotes = calloc(s->cfg.nremotes + 1, sizeof(*s->remotes));
	/* malloc, not calloc: stacks touched only as deep as a validation goes
	 * (calloc would write all 88 KiB, and fresh pages cost, see README) */
	s->scope = malloc((WH_SCHEMA_MAX_DEPTH + 2) * sizeof(*s->scope));
	s->ipath = malloc((WH_SCHEMA_MAX_DEPTH + 2) * sizeof(*s->ipath));
	s->kpath = malloc((4 * WH_SCHEMA_MAX_DEPTH + 8) * sizeof(*s->kpath));
	s->match = pcre2_match_data_create(1, NULL);
	root_uri = strip_empty_fragment(base);
	if (!s->remotes || !s->scope || !s->ipath || !s->kpath || !s->match || !root_uri ||
	    !s->default_dialect) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->cfg.nremotes; i++) {
		s->remotes[i] = strdup(cfg->remotes[i]);
		if (!s->remotes[i]) {
			s->cfg.nremotes = i;
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
			goto out;
		}
	}
	s->cfg.remotes = NULL;
	json_incref(doc);
	error = register_document(s, doc, root_uri, s->default_draft, err);
	if (!error && cfg && cfg->check_metaschema && json_is_object(doc))
		error = check_metaschema(s, doc, issues, err);
	if (!error)
		error = compile_node(s, doc, &s->root, err);
	if (!error)
		error = compile_dynamic_anchors(s, err);
out:
	free(root_uri);
	if (error)
		wh_schema_free(s);
	else
		*out = s;
	return error;
}

int wh_schema_validate(struct wh_schema *schema, const json_t *instance,
		       struct wh_schema_issues *issues)
{
	const struct wh_jv *value;
	int error = wh_jv_from_json(&schema->arena, &value, instance);

	return error ? error : wh_schema_eval_root(schema, schema->root, value, issues);
}

int wh_schema_validate_text(struct wh_schema *schema, const char *text, size_t len,
			    const char *what, struct wh_schema_issues *issues)
{
	const struct wh_jv *value;
	struct wh_error err = WH_ERROR_INIT;
	int error = wh_jv_parse(&schema->arena, &value, text, len, what, &err);
	char msg[WH_ERROR_MESSAGE_MAX + WH_ERROR_PATH_MAX + 32];

	if (error == WH_EPAYLOAD && issues) {
		struct wh_schema_issue *it;

		if (issues->count == issues->alloc) {
			size_t n = issues->alloc ? issues->alloc * 2 : 4;
			struct wh_schema_issue *items = realloc(issues->items, n * sizeof(*items));

			if (!items)
				return WH_ENOMEM;
			issues->items = items;
			issues->alloc = n;
		}
		it = &issues->items[issues->count];
		wh_error_format(&err, msg, sizeof(msg));
		it->message = strdup(msg);
		it->instance_location = strdup("");
		it->keyword_location = strdup("");
		it->absolute_location = strdup("");
		if (!it->message || !it->instance_location || !it->keyword_location ||
		    !it->absolute_location) {
			free(it->message);
			free(it->instance_location);
			free(it->keyword_location);
			free(it->absolute_location);
			return WH_ENOMEM;
		}
		issues->count++;
	}
	return error ? error : wh_schema_eval_root(schema, schema->root, value, issues);
}
