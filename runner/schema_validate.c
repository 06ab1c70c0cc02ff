/*
 * schema_validate: evaluation of a compiled schema graph against a jansson
 * instance (see schema.h for the contract).
 *
 * Two passes. The fast pass (collect = 0) stops at the first failing
 * keyword, keeps no paths and allocates nothing unless a schema uses
 * unevaluatedProperties/unevaluatedItems. Only an invalid instance gets the
 * second pass (collect = 1), which evaluates everything and records each
 * error with its instance location, evaluation path and absolute keyword
 * location; errors from subschemas whose failure does not matter (a failed
 * anyOf branch when another passed, the inside of "not" or "if") are dropped.
 *
 * Annotations for unevaluated* follow the specification: a node with an
 * unevaluated keyword evaluates its other keywords into a fresh annotation
 * set; in-place applicators ($ref, $dynamicRef, allOf, anyOf, oneOf, if/
 * then/else, dependentSchemas) pass a temporary set to each subschema and
 * merge it only when that subschema passed; "not" never contributes. When
 * no enclosing node wants annotations none are collected.
 *
 * The dynamic scope is the stack of resources entered so far; a
 * $dynamicRef whose static target carries the matching $dynamicAnchor is
 * redirected to the outermost resource in scope with that anchor.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"
#include "util.h"
#include "banned.h"

struct ann {
	int all_props;
	const char **props; /* instance key pointers */
	size_t nprops, aprops;
	int all_items;
	size_t prefix;	      /* items [0, prefix) evaluated */
	unsigned char *items; /* per index, by contains */
	size_t nitems;
};

#define ANN_INIT                                                                                   \
	{                                                                                          \
		0, NULL, 0, 0, 0, 0, NULL, 0                                                       \
	}

struct ctx {
	struct wh_schema *s;
	int collect;
	struct wh_schema_issues *issues;
	int depth;
	size_t nscope, nipath, nkpath;
	int oom;
};

/* ---- annotations ----------------------------------------------------------- */

static void ann_release(struct ann *a)
{
	free(a->props);
	free(a->items);
}

static void ann_add_prop(struct ctx *c, struct ann *a, const char *key)
{
	if (a->nprops == a->aprops) {
		size_t n = a->aprops ? a->aprops * 2 : 8;
		const char **p = realloc(a->props, n * sizeof(*p));

		if (!p) {
			c->oom = 1;
			return;
		}
		a->props = p;
		a->aprops = n;
	}
	a->props[a->nprops++] = key;
}

static int ann_has_prop(const struct ann *a, const char *key)
{
	if (a->all_props)
		return 1;
	for (size_t i = 0; i < a->nprops; i++)
		if (a->props[i] == key)
			return 1;
	return 0;
}

static void ann_mark_item(struct ctx *c, struct ann *a, size_t idx, size_t size)
{
	if (!a->items) {
		a->items = calloc(size ? size : 1, 1);
		if (!a->items) {
			c->oom = 1;
			return;
		}
		a->nitems = size;
	}
	if (idx < a->nitems)
		a->items[idx] = 1;
}

static void ann_merge(struct ctx *c, struct ann *dst, const struct ann *src)
{
	dst->all_props |= src->all_props;
	if (!dst->all_props)
		for (size_t i = 0; i < src->nprops; i++)
			ann_add_prop(c, dst, src->props[i]);
	dst->all_items |= src->all_items;
	if (src->prefix > dst->prefix)
		dst->prefix = src->prefix;
	for (size_t i = 0; src->items && i < src->nitems; i++)
		if (src->items[i])
			ann_mark_item(c, dst, i, src->nitems);
}

/* ---- paths and errors --------------------------------------------------------- */

static void ipush_key(struct ctx *c, const char *key)
{
	c->s->ipath[c->nipath].key = key;
	c->nipath++;
}

static void ipush_index(struct ctx *c, size_t idx)
{
	c->s->ipath[c->nipath].key = NULL;
	c->s->ipath[c->nipath].index = idx;
	c->nipath++;
}

static void kpush(struct ctx *c, const char *key)
{
	c->s->kpath[c->nkpath].key = key;
	c->nkpath++;
}

static void kpush_index(struct ctx *c, size_t idx)
{
	c->s->kpath[c->nkpath].key = NULL;
	c->s->kpath[c->nkpath].index = idx;
	c->nkpath++;
}

static char *path_string(const struct wh_spath_seg *segs, size_t n, const char *last)
{
	struct wh_buf buf = WH_BUF_INIT(1u << 24);
	char num[32];
	int error = wh_buf_add(&buf, "", 0);

	for (size_t i = 0; !error && i < n; i++) {
		if (segs[i].key) {
			error = wh_spointer_append(&buf, segs[i].key);
		} else {
			snprintf(num, sizeof(num), "%zu", segs[i].index);
			error = wh_spointer_append(&buf, num);
		}
	}
	if (!error && last)
		error = wh_spointer_append(&buf, last);
	if (error) {
		wh_buf_release(&buf);
		return NULL;
	}
	return wh_buf_detach(&buf);
}

static void add_error(struct ctx *c, const struct wh_snode *n, const char *keyword, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct ctx *c, const struct wh_snode *n, const char *keyword, const char *fmt,
		      ...)
{
	struct wh_schema_issues *list = c->issues;
	struct wh_schema_issue *it;
	va_list ap;

	if (!c->collect || !list)
		return;
	if (list->count == list->alloc) {
		size_t a = list->alloc ? list->alloc * 2 : 16;
		struct wh_schema_issue *items = realloc(list->items, a * sizeof(*items));

		if (!items) {
			c->oom = 1;
			return;
		}
		list->items = items;
		list->alloc = a;
	}
	it = &list->items[list->count];
	va_start(ap, fmt);
	it->message = wh_vstrdupf(fmt, ap);
	va_end(ap);
	it->instance_location = path_string(c->s->ipath, c->nipath, NULL);
	it->keyword_location = path_string(c->s->kpath, c->nkpath, keyword);
	it->absolute_location = keyword ? wh_strdupf("%s#%s/%s", n->res->uri, n->pointer, keyword)
					: wh_strdupf("%s#%s", n->res->uri, n->pointer);
	if (!it->message || !it->instance_location || !it->keyword_location ||
	    !it->absolute_location) {
		free(it->message);
		free(it->instance_location);
		free(it->keyword_location);
		free(it->absolute_location);
		c->oom = 1;
		return;
	}
	list->count++;
}

static size_t errors_mark(const struct ctx *c)
{
	return c->issues ? c->issues->count : 0;
}

static void errors_truncate(struct ctx *c, size_t mark)
{
	struct wh_schema_issues *list = c->issues;

	while (list && list->count > mark) {
		struct wh_schema_issue *it = &list->items[--list->count];

		free(it->message);
		free(it->instance_location);
		free(it->keyword_location);
		free(it->absolute_location);
	}
}

/* ---- JSON values ----------------------------------------------------------------- */

static long double jv_number(const struct wh_jv *v)
{
	return v->type == WH_JV_INT ? (long double)v->u.i : (long double)v->u.d;
}

static int jv_is_number(const struct wh_jv *v)
{
	return v->type == WH_JV_INT || v->type == WH_JV_REAL;
}

/* Compares an instance number with a schema number. */
static int num_cmp(const struct wh_jv *a, const json_t *b)
{
	long double x, y;

	if (a->type == WH_JV_INT && json_is_integer(b)) {
		long long i = a->u.i, j = json_integer_value(b);

		return i < j ? -1 : i > j;
	}
	x = jv_number(a);
	y = json_is_integer(b) ? (long double)json_integer_value(b) : json_real_value(b);
	return x < y ? -1 : x > y;
}

/* Instance value == schema value (1 equals 1.0, key order does not matter). */
static int jv_equal_json(const struct wh_jv *a, const json_t *b)
{
	switch (a->type) {
	case WH_JV_NULL:
		return json_is_null(b);
	case WH_JV_TRUE:
		return json_is_true(b);
	case WH_JV_FALSE:
		return json_is_false(b);
	case WH_JV_INT:
	case WH_JV_REAL:
		return json_is_number(b) && num_cmp(a, b) == 0;
	case WH_JV_STRING:
		return json_is_string(b) && json_string_length(b) == a->len &&
		       memcmp(json_string_value(b), a->u.s, a->len) == 0;
	case WH_JV_ARRAY:
		if (!json_is_array(b) || json_array_size(b) != a->len)
			return 0;
		for (uint32_t i = 0; i < a->len; i++)
			if (!jv_equal_json(&a->u.items[i], json_array_get(b, i)))
				return 0;
		return 1;
	case WH_JV_OBJECT:
		if (!json_is_object(b) || json_object_size(b) != a->len)
			return 0;
		for (uint32_t i = 0; i < a->len; i++) {
			const json_t *w = json_object_get(b, a->u.members[i].key);

			if (!w || !jv_equal_json(&a->u.members[i].value, w))
				return 0;
		}
		return 1;
	}
	return 0;
}

static int jv_equal(const struct wh_jv *a, const struct wh_jv *b)
{
	if (jv_is_number(a) && jv_is_number(b)) {
		if (a->type == WH_JV_INT && b->type == WH_JV_INT)
			return a->u.i == b->u.i;
		return jv_number(a) == jv_number(b);
	}
	if (a->type != b->type || a->len != b->len)
		return 0;
	switch (a->type) {
	case WH_JV_STRING:
		return memcmp(a->u.s, b->u.s, a->len) == 0;
	case WH_JV_ARRAY:
		for (uint32_t i = 0; i < a->len; i++)
			if (!jv_equal(&a->u.items[i], &b->u.items[i]))
				return 0;
		return 1;
	case WH_JV_OBJECT:
		for (uint32_t i = 0; i < a->len; i++) {
			const struct wh_jv *w = wh_jv_get(b, a->u.members[i].key);

			if (!w || !jv_equal(&a->u.members[i].value, w))
				return 0;
		}
		return 1;
	default:
		return 1;
	}
}

static unsigned type_of(const struct wh_jv *v)
{
	switch (v->type) {
	case WH_JV_NULL:
		return T_NULL;
	case WH_JV_TRUE:
	case WH_JV_FALSE:
		return T_BOOLEAN;
	case WH_JV_OBJECT:
		return T_OBJECT;
	case WH_JV_ARRAY:
		return T_ARRAY;
	case WH_JV_STRING:
		return T_STRING;
	case WH_JV_INT:
		return T_NUMBER | T_INTEGER;
	case WH_JV_REAL:
		return isfinite(v->u.d) && floor(v->u.d) == v->u.d ? T_NUMBER | T_INTEGER
								   : T_NUMBER;
	}
	return 0;
}

static size_t utf8_length(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static const char *num_text(const json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		snprintf(buf, size, "%.15g", json_real_value(v));
		if (strtod(buf, NULL) != json_real_value(v))
			snprintf(buf, size, "%.17g", json_real_value(v));
	}
	return buf;
}

static int is_multiple(const struct wh_jv *x, const json_t *m)
{
	double q, r;

	if (x->type == WH_JV_INT && json_is_integer(m))
		return x->u.i % json_integer_value(m) == 0;
	q = (double)jv_number(x) / json_number_value(m);
	if (!isfinite(q))
		return 0;
	r = fabs(q - nearbyint(q));
	return r <= 8 * DBL_EPSILON * fmax(1.0, fabs(q));
}

/*
 * Patterns start in PCRE2's interpreter: a JIT compile costs as much as
 * hundreds of interpreted matches of a short string, and most patterns of
 * a schema are tried a few times per run, or never. A pattern that keeps
 * being used is JIT-compiled once it reaches WH_SREGEX_JIT_AFTER matches.
 * The count is scratch state of the compiled schema, like the match data
 * that all its patterns share (one schema is not shared between threads),
 * hence the cast. The JIT's stack is smaller than the interpreter's
 * limits: a match that runs out of it is retried interpreted, so that a
 * value gets the same answer on its first and its hundredth check.
 */
static int regex_match(const struct ctx *c, const struct wh_sregex *re, const char *s, size_t len)
{
	struct wh_sregex *r = (struct wh_sregex *)re;
	pcre2_match_data *match = c->s->match;
	int rc;

	if (r->matches < WH_SREGEX_JIT_AFTER && ++r->matches == WH_SREGEX_JIT_AFTER)
		(void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE); /* where available */
	rc = pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, 0, match, NULL);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, match, NULL);
	return rc >= 0;
}

/* ---- evaluation ----------------------------------------------------------------- */

static int eval(struct ctx *c, const struct wh_snode *n, const struct wh_jv *inst, struct ann *ann);

/* An in-place subschema: its annotations count only when it passes. */
static int eval_inplace(struct ctx *c, const struct wh_snode *n, const struct wh_jv *inst,
			struct ann *ann)
{
	struct ann tmp = ANN_INIT;
	int valid;

	if (!ann)
		return eval(c, n, inst, NULL);
	valid = eval(c, n, inst, &tmp);
	if (valid)
		ann_merge(c, ann, &tmp);
	ann_release(&tmp);
	return valid;
}

static int eval_at_key(struct ctx *c, const struct wh_snode *n, const char *kw1, const char *kw2,
		       const char *key, const struct wh_jv *value)
{
	int valid;

	if (c->collect) {
		kpush(c, kw1);
		if (kw2)
			kpush(c, kw2);
		ipush_key(c, key);
	}
	valid = eval(c, n, value, NULL);
	if (c->collect) {
		c->nkpath -= kw2 ? 2 : 1;
		c->nipath--;
	}
	return valid;
}

static int eval_at_index(struct ctx *c, const struct wh_snode *n, const char *kw, size_t kidx,
			 int use_kidx, size_t idx, const struct wh_jv *value)
{
	int valid;

	if (c->collect) {
		kpush(c, kw);
		if (use_kidx)
			kpush_index(c, kidx);
		ipush_index(c, idx);
	}
	valid = eval(c, n, value, NULL);
	if (c->collect) {
		c->nkpath -= use_kidx ? 2 : 1;
		c->nipath--;
	}
	return valid;
}

/* A subschema applied to the same instance under keyword (and index). */
static int eval_sub(struct ctx *c, const struct wh_snode *n, const char *kw, size_t idx,
		    int use_idx, const struct wh_jv *inst, struct ann *ann)
{
	int valid;

	if (c->collect) {
		kpush(c, kw);
		if (use_idx)
			kpush_index(c, idx);
	}
	valid = eval_inplace(c, n, inst, ann);
	if (c->collect)
		c->nkpath -= use_idx ? 2 : 1;
	return valid;
}

static const struct wh_snode *find_property(const struct wh_sprops *p, const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	if (!p->table)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	for (size_t i = h & p->mask;; i = (i + 1) & p->mask) {
		const struct wh_sprop *e = &p->table[i];

		if (!e->key)
			return NULL;
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return e->node;
	}
}

static int kw_properties(struct ctx *c, const struct wh_snode *n, const struct wh_skw *kw,
			 const struct wh_jv *inst, struct ann *ann)
{
	const struct wh_sprops *p = kw->props;
	int valid = 1;

	for (uint32_t m = 0; m < inst->len; m++) {
		const char *key = inst->u.members[m].key;
		const struct wh_jv *value = &inst->u.members[m].value;
		const struct wh_snode *sub = find_property(p, key, inst->u.members[m].klen);
		int matched = sub != NULL;

		if (sub && !eval_at_key(c, sub, "properties", key, key, value)) {
			valid = 0;
			if (!c->collect)
				return 0;
		}
		for (size_t i = 0; i < p->npatterns; i++) {
			if (!regex_match(c, &p->patterns[i].re, key, inst->u.members[m].klen))
				continue;
			matched = 1;
			if (!eval_at_key(c, p->patterns[i].node, "patternProperties",
					 p->patterns[i].re.source, key, value)) {
				valid = 0;
				if (!c->collect)
					return 0;
			}
		}
		if (!matched && p->additional) {
			if (p->additional->boolean == 0) {
				add_error(c, n, "additionalProperties",
					  "must NOT have additional property '%s'", key);
				valid = 0;
				if (!c->collect)
					return 0;
			} else if (!eval_at_key(c, p->additional, "additionalProperties", NULL, key,
						value)) {
				valid = 0;
				if (!c->collect)
					return 0;
			}
		}
		if (ann && matched && !p->additional)
			ann_add_prop(c, ann, key);
	}
	if (ann && p->additional)
		ann->all_props = 1;
	return valid;
}

static int kw_items(struct ctx *c, const struct wh_snode *n, const struct wh_skw *kw,
		    const struct wh_jv *inst, struct ann *ann)
{
	size_t size = inst->len, i;
	int valid = 1;

	for (i = 0; i < kw->nlist && i < size; i++) {
		if (!eval_at_index(c, kw->list[i], kw->list_name, i, 1, i, &inst->u.items[i])) {
			valid = 0;
			if (!c->collect)
				return 0;
		}
	}
	if (kw->a && size > kw->nlist) {
		if (kw->a->boolean == 0) {
			add_error(c, n, kw->b_name, "must NOT have more than %zu items", kw->nlist);
			return 0;
		}
		for (i = kw->nlist; i < size; i++) {
			if (!eval_at_index(c, kw->a, kw->b_name, 0, 0, i, &inst->u.items[i])) {
				valid = 0;
				if (!c->collect)
					return 0;
			}
		}
	}
	if (ann) {
		if (kw->a)
			ann->all_items = 1;
		else if (kw->nlist > ann->prefix)
			ann->prefix = kw->nlist < size ? kw->nlist : size;
	}
	return valid;
}

static int kw_contains(struct ctx *c, const struct wh_snode *n, const struct wh_skw *kw,
		       const struct wh_jv *inst, struct ann *ann)
{
	size_t size = inst->len, count = 0;
	int collect = c->collect;
	size_t mark = errors_mark(c);

	c->collect = 0;
	for (size_t i = 0; i < size; i++) {
		if (eval(c, kw->a, &inst->u.items[i], NULL)) {
			count++;
			if (ann)
				ann_mark_item(c, ann, i, size);
			else if (!kw->has_max && count >= kw->min && !collect)
				break;
		}
	}
	c->collect = collect;
	errors_truncate(c, mark);
	if (count < kw->min) {
		add_error(c, n, kw->has_min ? "minContains" : "contains",
			  "must contain at least %zu valid item(s)", kw->min);
		return 0;
	}
	if (kw->has_max && count > kw->max) {
		add_error(c, n, "maxContains", "must contain at most %zu valid item(s)", kw->max);
		return 0;
	}
	return 1;
}

static int kw_unique(struct ctx *c, const struct wh_snode *n, const struct wh_jv *inst)
{
	size_t size = inst->len;

	for (size_t i = 0; i < size; i++)
		for (size_t j = i + 1; j < size; j++)
			if (jv_equal(&inst->u.items[i], &inst->u.items[j])) {
				add_error(c, n, "uniqueItems",
					  "must NOT have duplicate items (items ## %zu and %zu are "
					  "identical)",
					  i, j);
				return 0;
			}
	return 1;
}

static const struct wh_snode *dynamic_target(struct ctx *c, const struct wh_skw *kw)
{
	for (size_t i = 0; kw->anchor && i < c->nscope; i++) {
		const struct wh_sresource *r = c->s->scope[i];

		for (size_t j = 0; j < r->ndyn; j++)
			if (strcmp(r->dyn[j].name, kw->anchor) == 0 && r->dyn[j].node)
				return r->dyn[j].node;
	}
	return kw->a;
}

static void type_names(unsigned types, char *buf, size_t size)
{
	static const char *const names[] = {"null",   "boolean", "object", "array",
					    "number", "string",	 "integer"};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < WH_ARRAY_SIZE(names); i++)
		if (types & (1u << i))
			len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
						len ? "," : "", names[i]);
}

static int eval_kw(struct ctx *c, const struct wh_snode *n, const struct wh_skw *kw,
		   const struct wh_jv *inst, struct ann *ann)
{
	char b1[64];

	switch (kw->type) {
	case KW_REF:
		return eval_sub(c, kw->a, "$ref", 0, 0, inst, ann);
	case KW_DYNREF:
		return eval_sub(c, dynamic_target(c, kw), "$dynamicRef", 0, 0, inst, ann);
	case KW_TYPE:
		if (type_of(inst) & kw->types)
			return 1;
		type_names(kw->types, b1, sizeof(b1));
		add_error(c, n, "type", "must be %s", b1);
		return 0;
	case KW_ENUM:
		if (kw->only_strings) {
			if (inst->type == WH_JV_STRING) {
				size_t len = inst->len, i;
				json_t *e;

				json_array_foreach(kw->value, i,
						   e) if (json_string_length(e) == len &&
							  memcmp(json_string_value(e), inst->u.s,
								 len) == 0) return 1;
			}
		} else {
			size_t i;
			json_t *e;

			json_array_foreach(kw->value, i, e) if (jv_equal_json(inst, e)) return 1;
		}
		add_error(c, n, "enum", "must be equal to one of the allowed values");
		return 0;
	case KW_CONST:
		if (jv_equal_json(inst, kw->value))
			return 1;
		add_error(c, n, "const", "must be equal to constant");
		return 0;
	case KW_MULTIPLE_OF:
		if (!jv_is_number(inst) || is_multiple(inst, kw->value))
			return 1;
		add_error(c, n, kw->name, "must be multiple of %s", num_text(kw->value, b1, 64));
		return 0;
	case KW_MAXIMUM:
		if (!jv_is_number(inst) || num_cmp(inst, kw->value) <= 0)
			return 1;
		add_error(c, n, kw->name, "must be <= %s", num_text(kw->value, b1, 64));
		return 0;
	case KW_EXCLUSIVE_MAXIMUM:
		if (!jv_is_number(inst) || num_cmp(inst, kw->value) < 0)
			return 1;
		add_error(c, n, kw->name, "must be < %s", num_text(kw->value, b1, 64));
		return 0;
	case KW_MINIMUM:
		if (!jv_is_number(inst) || num_cmp(inst, kw->value) >= 0)
			return 1;
		add_error(c, n, kw->name, "must be >= %s", num_text(kw->value, b1, 64));
		return 0;
	case KW_EXCLUSIVE_MINIMUM:
		if (!jv_is_number(inst) || num_cmp(inst, kw->value) > 0)
			return 1;
		add_error(c, n, kw->name, "must be > %s", num_text(kw->value, b1, 64));
		return 0;
	case KW_MAX_LENGTH:
		if (inst->type != WH_JV_STRING || inst->len <= kw->count ||
		    utf8_length(inst->u.s, inst->len) <= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have more than %zu characters", kw->count);
		return 0;
	case KW_MIN_LENGTH:
		if (inst->type != WH_JV_STRING || utf8_length(inst->u.s, inst->len) >= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have fewer than %zu characters", kw->count);
		return 0;
	case KW_PATTERN:
		if (inst->type != WH_JV_STRING || regex_match(c, &kw->re, inst->u.s, inst->len))
			return 1;
		add_error(c, n, kw->name, "must match pattern \"%s\"", kw->re.source);
		return 0;
	case KW_MAX_ITEMS:
		if (inst->type != WH_JV_ARRAY || inst->len <= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have more than %zu items", kw->count);
		return 0;
	case KW_MIN_ITEMS:
		if (inst->type != WH_JV_ARRAY || inst->len >= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have fewer than %zu items", kw->count);
		return 0;
	case KW_UNIQUE_ITEMS:
		return inst->type != WH_JV_ARRAY || kw_unique(c, n, inst);
	case KW_MAX_PROPERTIES:
		if (inst->type != WH_JV_OBJECT || inst->len <= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have more than %zu properties", kw->count);
		return 0;
	case KW_MIN_PROPERTIES:
		if (inst->type != WH_JV_OBJECT || inst->len >= kw->count)
			return 1;
		add_error(c, n, kw->name, "must NOT have fewer than %zu properties", kw->count);
		return 0;
	case KW_REQUIRED: {
		size_t i;
		json_t *name;
		int valid = 1;

		if (inst->type != WH_JV_OBJECT)
			return 1;
		json_array_foreach(kw->value, i, name)
		{
			if (wh_jv_get(inst, json_string_value(name)))
				continue;
			add_error(c, n, "required", "must have required property '%s'",
				  json_string_value(name));
			valid = 0;
			if (!c->collect)
				break;
		}
		return valid;
	}
	case KW_DEPENDENT_REQUIRED:
	case KW_DEPENDENT_SCHEMAS:
	case KW_DEPENDENCIES: {
		int valid = 1;

		if (inst->type != WH_JV_OBJECT)
			return 1;
		for (size_t d = 0; d < kw->ndeps; d++) {
			const struct wh_sdep *dep = &kw->deps[d];
			size_t i;
			json_t *name;

			if (!wh_jv_get(inst, dep->name))
				continue;
			if (dep->node) {
				if (c->collect) {
					kpush(c, kw->name);
					kpush(c, dep->name);
				}
				if (!eval_inplace(c, dep->node, inst, ann))
					valid = 0;
				if (c->collect)
					c->nkpath -= 2;
			} else {
				json_array_foreach(dep->names, i, name)
				{
					if (wh_jv_get(inst, json_string_value(name)))
						continue;
					add_error(c, n, kw->name,
						  "must have property '%s' when property '%s' is "
						  "present",
						  json_string_value(name), dep->name);
					valid = 0;
				}
			}
			if (!valid && !c->collect)
				break;
		}
		return valid;
	}
	case KW_PROPERTIES:
		return inst->type != WH_JV_OBJECT || kw_properties(c, n, kw, inst, ann);
	case KW_PROPERTY_NAMES: {
		int valid = 1, collect = c->collect;

		if (inst->type != WH_JV_OBJECT)
			return 1;
		for (uint32_t m = 0; m < inst->len; m++) {
			const char *key = inst->u.members[m].key;
			struct wh_jv name;
			int ok;

			name.type = WH_JV_STRING;
			name.len = inst->u.members[m].klen;
			name.u.s = key;
			c->collect = 0;
			ok = eval(c, kw->a, &name, NULL);
			c->collect = collect;
			if (!ok) {
				add_error(c, n, "propertyNames", "property name '%s' is invalid",
					  key);
				valid = 0;
				if (!collect)
					break;
			}
		}
		return valid;
	}
	case KW_ITEMS:
		return inst->type != WH_JV_ARRAY || kw_items(c, n, kw, inst, ann);
	case KW_CONTAINS:
		return inst->type != WH_JV_ARRAY || kw_contains(c, n, kw, inst, ann);
	case KW_ALL_OF: {
		int valid = 1;

		for (size_t i = 0; i < kw->nlist; i++) {
			if (!eval_sub(c, kw->list[i], "allOf", i, 1, inst, ann)) {
				valid = 0;
				if (!c->collect)
					break;
			}
		}
		return valid;
	}
	case KW_ANY_OF: {
		size_t mark = errors_mark(c);
		int valid = 0;

		for (size_t i = 0; i < kw->nlist; i++) {
			if (eval_sub(c, kw->list[i], "anyOf", i, 1, inst, ann)) {
				valid = 1;
				if (!ann)
					break;
			}
		}
		if (valid)
			errors_truncate(c, mark);
		else
			add_error(c, n, "anyOf", "must match a schema in anyOf");
		return valid;
	}
	case KW_ONE_OF: {
		size_t mark = errors_mark(c), count = 0, first = 0, second = 0;
		struct ann keep = ANN_INIT;

		for (size_t i = 0; i < kw->nlist; i++) {
			struct ann tmp = ANN_INIT;

			if (c->collect) {
				kpush(c, "oneOf");
				kpush_index(c, i);
			}
			if (eval(c, kw->list[i], inst, ann ? &tmp : NULL)) {
				if (count == 0) {
					first = i;
					keep = tmp;
					tmp = (struct ann)ANN_INIT;
				} else if (count == 1) {
					second = i;
				}
				count++;
			}
			ann_release(&tmp);
			if (c->collect)
				c->nkpath -= 2;
			if (count > 1 && !c->collect)
				break;
		}
		if (count == 1 && ann)
			ann_merge(c, ann, &keep);
		ann_release(&keep);
		if (count == 1) {
			errors_truncate(c, mark);
			return 1;
		}
		if (count > 1) {
			errors_truncate(c, mark);
			add_error(c, n, "oneOf",
				  "must match exactly one schema in oneOf (matched %zu and %zu)",
				  first, second);
		} else {
			add_error(c, n, "oneOf", "must match exactly one schema in oneOf");
		}
		return 0;
	}
	case KW_NOT: {
		int collect = c->collect, valid;

		c->collect = 0;
		valid = eval(c, kw->a, inst, NULL);
		c->collect = collect;
		if (!valid)
			return 1;
		add_error(c, n, "not", "must NOT be valid");
		return 0;
	}
	case KW_IF: {
		int collect = c->collect, cond;
		struct ann tmp = ANN_INIT;

		c->collect = 0;
		cond = eval(c, kw->a, inst, ann ? &tmp : NULL);
		c->collect = collect;
		if (cond && ann)
			ann_merge(c, ann, &tmp);
		ann_release(&tmp);
		if (cond && kw->b) {
			if (eval_sub(c, kw->b, "then", 0, 0, inst, ann))
				return 1;
			add_error(c, n, "if", "must match \"then\" schema");
			return 0;
		}
		if (!cond && kw->c) {
			if (eval_sub(c, kw->c, "else", 0, 0, inst, ann))
				return 1;
			add_error(c, n, "if", "must match \"else\" schema");
			return 0;
		}
		return 1;
	}
	case KW_UNEVALUATED_PROPERTIES: {
		int valid = 1;

		if (inst->type != WH_JV_OBJECT)
			return 1;
		for (uint32_t m = 0; m < inst->len; m++) {
			const char *key = inst->u.members[m].key;
			const struct wh_jv *value = &inst->u.members[m].value;

			if (ann_has_prop(ann, key))
				continue;
			if (kw->a->boolean == 0) {
				add_error(c, n, "unevaluatedProperties",
					  "must NOT have unevaluated property '%s'", key);
				valid = 0;
			} else if (!eval_at_key(c, kw->a, "unevaluatedProperties", NULL, key,
						value)) {
				valid = 0;
			}
			if (!valid && !c->collect)
				break;
		}
		ann->all_props = 1;
		return valid;
	}
	case KW_UNEVALUATED_ITEMS: {
		size_t size;
		int valid = 1;

		if (inst->type != WH_JV_ARRAY)
			return 1;
		size = inst->len;
		for (size_t i = 0; !ann->all_items && i < size; i++) {
			if (i < ann->prefix || (ann->items && i < ann->nitems && ann->items[i]))
				continue;
			if (kw->a->boolean == 0) {
				add_error(c, n, "unevaluatedItems",
					  "must NOT have unevaluated item %zu", i);
				valid = 0;
			} else if (!eval_at_index(c, kw->a, "unevaluatedItems", 0, 0, i,
						  &inst->u.items[i])) {
				valid = 0;
			}
			if (!valid && !c->collect)
				break;
		}
		ann->all_items = 1;
		return valid;
	}
	}
	return 1;
}

static int eval(struct ctx *c, const struct wh_snode *n, const struct wh_jv *inst, struct ann *ann)
{
	struct ann local = ANN_INIT, *a = ann;
	int valid = 1, pushed = 0;

	if (n->boolean >= 0) {
		if (!n->boolean)
			add_error(c, n, NULL, "boolean schema is false");
		return n->boolean;
	}
	if (c->depth >= WH_SCHEMA_MAX_DEPTH) {
		add_error(c, n, NULL,
			  "evaluation nested deeper than %d levels (a $ref cycle, or a too deeply "
			  "nested instance)",
			  WH_SCHEMA_MAX_DEPTH);
		return 0;
	}
	c->depth++;
	if (c->nscope == 0 || c->s->scope[c->nscope - 1] != n->res) {
		c->s->scope[c->nscope++] = n->res;
		pushed = 1;
	}
	if (n->wants_annotations)
		a = &local;
	for (size_t i = 0; i < n->nkws; i++) {
		if (!eval_kw(c, n, &n->kws[i], inst, a)) {
			valid = 0;
			if (!c->collect)
				break;
		}
	}
	if (a == &local) {
		if (valid && ann)
			ann_merge(c, ann, &local);
		ann_release(&local);
	}
	if (pushed)
		c->nscope--;
	c->depth--;
	return valid;
}

int wh_schema_eval_root(struct wh_schema *schema, const struct wh_snode *node,
			const struct wh_jv *instance, struct wh_schema_issues *issues)
{
	struct ctx c;
	int valid;

	memset(&c, 0, sizeof(c));
	c.s = schema;
	valid = eval(&c, node, instance, NULL);
	if (c.oom)
		return WH_ENOMEM;
	if (valid)
		return 0;
	if (issues) {
		size_t before = issues->count;

		memset(&c, 0, sizeof(c));
		c.s = schema;
		c.collect = 1;
		c.issues = issues;
		valid = eval(&c, node, instance, NULL);
		if (c.oom)
			return WH_ENOMEM;
		if (valid || issues->count == before) {
			/* cannot happen: both passes evaluate the same keywords */
			memset(&c, 0, sizeof(c));
			c.s = schema;
			c.collect = 1;
			c.issues = issues;
			add_error(&c, node, NULL, "invalid");
		}
	}
	return WH_EPAYLOAD;
}
