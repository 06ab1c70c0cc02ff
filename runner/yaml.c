/*
 * yaml: YAML 1.2 (core schema) to JSON over libyaml's event API (see
 * yaml.h for the rules).
 *
 * The loader is a recursive descent over events: load_node() receives the
 * event that starts a node (the caller keeps ownership of it) and consumes
 * the events up to the node's end. Recursion is bounded by max_depth.
 *
 * Invariants:
 * - ld->nodes counts every node produced so far, keys included, an alias
 *   counting as the size of the subtree it expands to; it never exceeds
 *   limits.max_nodes (checked before anything is built or copied).
 *   ld->bytes counts the text of scalars and keys the same way, and
 *   ld->alias_bytes the part of it that aliases made, which never exceeds
 *   limits.max_alias_bytes: a few nodes can hold long strings.
 * - The position table's keys (the pointers) total at most
 *   position_budget bytes: a long key above many nodes would otherwise make
 *   it quadratic in the input. Past the budget, nodes get no entry and
 *   lookups fall back to an ancestor.
 * - ld->pointer holds the JSON pointer of the node being loaded.
 * - ld->marks is a stack: a mapping pushes the mark of each explicit key
 *   (in the order the keys enter its object, which jansson iterates in
 *   insertion order), a merge sequence the mark of each item; nested
 *   collections push above and pop back before their parent continues.
 * - An anchor holds a reference to its node's finished value; nothing
 *   modifies a value once its node is finished, and aliases deep-copy it.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util.h"
#include "yaml.h"

#include "banned.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

_Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t is long long");

struct anchor {
	json_t *value; /* a reference to the anchored node's value */
	char *text;    /* a scalar's text (for use as a key); NULL otherwise */
	size_t nodes;  /* nodes in the subtree, alias expansions included */
	size_t bytes;  /* text of the subtree's scalars and keys */
	size_t height; /* 0 for a scalar, 1 + the highest child otherwise */
};

struct mark {
	int line, column; /* 1-based */
};

struct loader {
	yaml_parser_t parser;
	const char *path;
	const char *text;
	size_t len;
	struct wh_yaml_limits limits;
	struct wh_error *err;

	size_t nodes;
	size_t bytes, alias_bytes;
	json_t *positions; /* NULL when the caller wants none */
	size_t position_bytes, position_budget;
	int record; /* 0 while loading a merge value, which is not kept */
	struct wh_buf pointer;

	struct anchor *anchors;
	size_t anchor_count, anchor_alloc;
	json_t *anchor_index; /* name -> index into anchors */

	struct mark *marks;
	size_t mark_count, mark_alloc;

	/* Position entries share their integers: one json_t per value. */
	json_t **ints;
	size_t int_alloc;
};

/* What loading a node gives: its value and what an anchor on it needs. */
struct node {
	json_t *value;
	size_t nodes;
	size_t bytes;
	size_t height;
};

static int load_node(struct loader *ld, const yaml_event_t *ev, size_t depth,
		     const struct mark *key, struct node *out);

void wh_yaml_limits_default(struct wh_yaml_limits *limits)
{
	limits->max_bytes = WH_YAML_MAX_BYTES;
	limits->max_depth = WH_YAML_MAX_DEPTH;
	limits->max_nodes = WH_YAML_MAX_NODES;
	limits->max_alias_bytes = WH_YAML_MAX_ALIAS_BYTES;
	limits->position_depth = 0;
}

static struct mark mark_of(yaml_mark_t m)
{
	struct mark out = {(int)m.line + 1, (int)m.column + 1};
	return out;
}

static int fail_at(struct loader *ld, struct mark at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *ld, struct mark at, const char *fmt, ...)
{
	char message[WH_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return wh_error_set_at(ld->err, WH_ECONFIG, ld->path, at.line, at.column, "%s", message);
}

static int fail_nomem(struct loader *ld)
{
	return wh_error_set_at(ld->err, WH_ENOMEM, ld->path, 0, 0, "out of memory");
}

/* The line and column (in characters) of a byte offset, as libyaml counts. */
static struct mark mark_at_offset(const char *text, size_t len, size_t offset)
{
	struct mark at = {1, 1};

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
			at.line++;
			at.column = 1;
		} else if ((c & 0xC0) != 0x80 && c != '\r') {
			at.column++;
		}
	}
	return at;
}

/* Translates libyaml's error state after yaml_parser_parse() failed. */
static int parser_error(struct loader *ld)
{
	const yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail_nomem(ld);
	case YAML_READER_ERROR:
		if (p->problem_value == -1) /* no offending value, e.g. a truncated sequence */
			return fail_at(ld, mark_at_offset(ld->text, ld->len, p->problem_offset),
				       "invalid input: %s", problem);
		return fail_at(ld, mark_at_offset(ld->text, ld->len, p->problem_offset),
			       "invalid input: %s (#x%X)", problem, (unsigned)p->problem_value);
	default:
		if (p->context)
			return fail_at(ld, mark_of(p->problem_mark),
				       "YAML syntax error: %s (%s at line %d, column %d)", problem,
				       p->context, (int)p->context_mark.line + 1,
				       (int)p->context_mark.column + 1);
		return fail_at(ld, mark_of(p->problem_mark), "YAML syntax error: %s", problem);
	}
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ld->parser, ev)) {
		memset(ev, 0, sizeof(*ev));
		return parser_error(ld);
	}
	return 0;
}

static int add_nodes(struct loader *ld, size_t count, struct mark at, const char *alias)
{
	if (count <= ld->limits.max_nodes && ld->nodes <= ld->limits.max_nodes - count) {
		ld->nodes += count;
		return 0;
	}
	if (alias)
		return fail_at(ld, at,
			       "too many nodes: expanding alias *%s would make more than %zu "
			       "(aliases count as their expansion)",
			       alias, ld->limits.max_nodes);
	return fail_at(ld, at, "too many nodes: more than %zu (aliases count as their expansion)",
		       ld->limits.max_nodes);
}

static int add_alias_bytes(struct loader *ld, size_t count, struct mark at, const char *alias)
{
	if (count <= ld->limits.max_alias_bytes &&
	    ld->alias_bytes <= ld->limits.max_alias_bytes - count) {
		ld->alias_bytes += count;
		ld->bytes += count;
		return 0;
	}
	return fail_at(ld, at,
		       "too much text: expanding alias *%s would make aliases add more than "
		       "%zu bytes",
		       alias, ld->limits.max_alias_bytes);
}

static int check_depth(struct loader *ld, size_t depth, struct mark at)
{
	if (depth <= ld->limits.max_depth)
		return 0;
	return fail_at(ld, at, "nesting too deep: more than %zu levels", ld->limits.max_depth);
}

static int push_mark(struct loader *ld, struct mark m)
{
	if (ld->mark_count == ld->mark_alloc) {
		size_t alloc = ld->mark_alloc ? ld->mark_alloc * 2 : 64;
		struct mark *marks = realloc(ld->marks, alloc * sizeof(*marks));

		if (!marks)
			return fail_nomem(ld);
		ld->marks = marks;
		ld->mark_alloc = alloc;
	}
	ld->marks[ld->mark_count++] = m;
	return 0;
}

/* Appends "/" and a reference token (RFC 6901: ~ is ~0, / is ~1). */
static int pointer_push_key(struct loader *ld, const char *key, size_t len)
{
	size_t start = 0;
	int error = wh_buf_add(&ld->pointer, "/", 1);

	for (size_t i = 0; !error && i < len; i++) {
		if (key[i] != '~' && key[i] != '/')
			continue;
		if (!(error = wh_buf_add(&ld->pointer, key + start, i - start)))
			error = wh_buf_add(&ld->pointer, key[i] == '~' ? "~0" : "~1", 2);
		start = i + 1;
	}
	if (!error)
		error = wh_buf_add(&ld->pointer, key + start, len - start);
	return error ? fail_nomem(ld) : 0;
}

static int pointer_push_index(struct loader *ld, size_t index)
{
	char token[32];
	size_t n = sizeof(token);

	/* "/%zu" without snprintf: this runs for every item of every list */
	do
		token[--n] = (char)('0' + index % 10);
	while ((index /= 10) != 0);
	token[--n] = '/';
	return wh_buf_add(&ld->pointer, token + n, sizeof(token) - n) ? fail_nomem(ld) : 0;
}

static void pointer_pop(struct loader *ld, size_t len)
{
	ld->pointer.len = len;
	if (ld->pointer.ptr)
		ld->pointer.ptr[len] = '\0';
}

/* A new reference to the shared integer v (v >= 0), or NULL. */
static json_t *shared_int(struct loader *ld, int v)
{
	size_t i = (size_t)v;

	if (i >= ld->int_alloc) {
		size_t alloc = ld->int_alloc ? ld->int_alloc : 256;
		json_t **ints;

		while (alloc <= i)
			alloc *= 2;
		if (!(ints = realloc(ld->ints, alloc * sizeof(*ints))))
			return NULL;
		memset(ints + ld->int_alloc, 0, (alloc - ld->int_alloc) * sizeof(*ints));
		ld->ints = ints;
		ld->int_alloc = alloc;
	}
	if (!ld->ints[i])
		ld->ints[i] = json_integer(v);
	return json_incref(ld->ints[i]);
}

/*
 * Records [line, column, key_line, key_column] for the current pointer.
 * This runs for every node, so it avoids allocations it can: the integers
 * are shared (the table is read-only for callers).
 */
static int record_position(struct loader *ld, struct mark at, const struct mark *key)
{
	json_t *entry;
	const char *pointer = ld->pointer.ptr ? ld->pointer.ptr : "";

	if (!ld->positions || !ld->record)
		return 0;
	if (ld->limits.position_depth) {
		size_t tokens = 0;
		for (size_t i = 0; i < ld->pointer.len; i++)
			tokens += pointer[i] == '/';
		if (tokens > ld->limits.position_depth)
			return 0;
	}
	if (ld->pointer.len > ld->position_budget - ld->position_bytes)
		return 0;
	ld->position_bytes += ld->pointer.len;
	entry = json_array();
	if (!entry || json_array_append_new(entry, shared_int(ld, at.line)) ||
	    json_array_append_new(entry, shared_int(ld, at.column)) ||
	    json_array_append_new(entry, shared_int(ld, key ? key->line : 0)) ||
	    json_array_append_new(entry, shared_int(ld, key ? key->column : 0))) {
		json_decref(entry);
		return fail_nomem(ld);
	}
	if (json_object_setn_new_nocheck(ld->positions, pointer, ld->pointer.len, entry))
		return fail_nomem(ld);
	return 0;
}

static const struct anchor *find_anchor(struct loader *ld, const char *name)
{
	json_t *index = json_object_get(ld->anchor_index, name);

	return index ? &ld->anchors[json_integer_value(index)] : NULL;
}

/* Defines (or redefines) an anchor once its node is complete. */
static int define_anchor(struct loader *ld, const char *name, const struct node *node,
			 const char *text)
{
	struct anchor *a;

	if (ld->anchor_count == ld->anchor_alloc) {
		size_t alloc = ld->anchor_alloc ? ld->anchor_alloc * 2 : 16;
		struct anchor *anchors = realloc(ld->anchors, alloc * sizeof(*anchors));

		if (!anchors)
			return fail_nomem(ld);
		ld->anchors = anchors;
		ld->anchor_alloc = alloc;
	}
	a = &ld->anchors[ld->anchor_count];
	a->text = NULL;
	if (text && !(a->text = strdup(text)))
		return fail_nomem(ld);
	if (json_object_set_new(ld->anchor_index, name,
				json_integer((json_int_t)ld->anchor_count))) {
		free(a->text);
		return fail_nomem(ld);
	}
	a->value = json_incref(node->value);
	a->nodes = node->nodes;
	a->bytes = node->bytes;
	a->height = node->height;
	ld->anchor_count++;
	return 0;
}

/* "!!int" for the core tags, the tag as written otherwise. */
static const char *tag_display(const char *tag, char *buf, size_t size)
{
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
		snprintf(buf, size, "!!%s", tag + strlen(TAG_PREFIX));
		return buf;
	}
	return tag;
}

static int is_core_tag(const char *tag, const char *name)
{
	size_t n = strlen(TAG_PREFIX);

	return strncmp(tag, TAG_PREFIX, n) == 0 && strcmp(tag + n, name) == 0;
}

/* Checks a collection's tag: none, "!", or the core one for its kind. */
static int check_collection_tag(struct loader *ld, const yaml_char_t *tag, const char *kind,
				struct mark at)
{
	char buf[64];

	if (!tag || strcmp((const char *)tag, "!") == 0 || is_core_tag((const char *)tag, kind))
		return 0;
	if (is_core_tag((const char *)tag, "str") || is_core_tag((const char *)tag, "int") ||
	    is_core_tag((const char *)tag, "float") || is_core_tag((const char *)tag, "bool") ||
	    is_core_tag((const char *)tag, "null") || is_core_tag((const char *)tag, "map") ||
	    is_core_tag((const char *)tag, "seq"))
		return fail_at(ld, at, "tag %s cannot be used on a %s",
			       tag_display((const char *)tag, buf, sizeof(buf)),
			       strcmp(kind, "map") == 0 ? "mapping" : "sequence");
	return fail_at(ld, at, "unsupported tag '%s'",
		       tag_display((const char *)tag, buf, sizeof(buf)));
}

/* ---- scalars: YAML 1.2 core schema ---- */

static int is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* 1 for true, 0 for false, -1 for neither. */
static int bool_value(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

static int all_of(const char *s, const char *set)
{
	return *s && s[strspn(s, set)] == '\0';
}

#define DIGITS "0123456789"

/* The base of an integer in core-schema syntax, or 0 when it is not one. */
static int int_base(const char *s)
{
	if (s[0] == '0' && s[1] == 'o')
		return all_of(s + 2, "01234567") ? 8 : 0;
	if (s[0] == '0' && s[1] == 'x')
		return all_of(s + 2, DIGITS "abcdefABCDEF") ? 16 : 0;
	if (*s == '-' || *s == '+')
		s++;
	return all_of(s, DIGITS) ? 10 : 0;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		if (!(n = strspn(++s, DIGITS)))
			return 0;
		s += n;
	} else {
		if (!(n = strspn(s, DIGITS)))
			return 0;
		s += n;
		if (*s == '.')
			s += 1 + strspn(s + 1, DIGITS);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(n = strspn(s, DIGITS)))
			return 0;
		s += n;
	}
	return *s == '\0';
}

static int is_inf_or_nan(const char *s)
{
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return 1;
	if (*s == '-' || *s == '+')
		s++;
	return !strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF");
}

static int make_int(struct loader *ld, const char *s, int base, struct mark at, json_t **out)
{
	const char *digits = base == 10 ? s : s + 2;
	long long value;
	char *end;

	errno = 0;
	value = strtoll(digits, &end, base);
	if (errno == ERANGE)
		return fail_at(
		    ld, at, "integer %s does not fit in 64 bits (quote it to keep it as a string)",
		    s);
	if (!(*out = json_integer(value)))
		return fail_nomem(ld);
	return 0;
}

static int make_float(struct loader *ld, const char *s, struct mark at, json_t **out)
{
	const char *point = localeconv()->decimal_point;
	char *copy = NULL;
	double value;
	int error = 0;

	/* strtod follows LC_NUMERIC; YAML always writes '.' (jansson does the same). */
	if (point && point[0] && strcmp(point, ".") != 0 && strchr(s, '.')) {
		size_t dot = (size_t)(strchr(s, '.') - s);

		if (!(copy = wh_strdupf("%.*s%s%s", (int)dot, s, point, s + dot + 1))) {
			error = fail_nomem(ld);
			goto out;
		}
	}
	/* An underflow gives 0 or a subnormal, which is kept; an overflow, infinity. */
	value = strtod(copy ? copy : s, NULL);
	if (!isfinite(value)) {
		error = fail_at(ld, at, "float %s is out of range", s);
		goto out;
	}
	if (!(*out = json_real(value)))
		error = fail_nomem(ld);
out:
	free(copy);
	return error;
}

enum scalar_kind { KIND_CORE, KIND_STR, KIND_INT, KIND_FLOAT, KIND_BOOL, KIND_NULL };

/* Resolves a scalar event to its JSON value, following its tag or the core schema. */
static int resolve_scalar(struct loader *ld, const yaml_event_t *ev, json_t **out)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct mark at = mark_of(ev->start_mark);
	enum scalar_kind kind;
	char buf[64];
	int base, b;

	*out = NULL;
	if (memchr(s, '\0', ev->data.scalar.length))
		return fail_at(ld, at, "NUL character in a scalar");
	if (!tag)
		kind = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? KIND_CORE : KIND_STR;
	else if (!strcmp(tag, "!") || is_core_tag(tag, "str"))
		kind = KIND_STR;
	else if (is_core_tag(tag, "int"))
		kind = KIND_INT;
	else if (is_core_tag(tag, "float"))
		kind = KIND_FLOAT;
	else if (is_core_tag(tag, "bool"))
		kind = KIND_BOOL;
	else if (is_core_tag(tag, "null"))
		kind = KIND_NULL;
	else if (is_core_tag(tag, "map") || is_core_tag(tag, "seq"))
		return fail_at(ld, at, "tag %s cannot be used on a scalar",
			       tag_display(tag, buf, sizeof(buf)));
	else
		return fail_at(ld, at, "unsupported tag '%s'", tag_display(tag, buf, sizeof(buf)));

	/* Every null, boolean, number, infinity or NaN of the core schema
	 * starts with one of these (or is empty): others are strings at once. */
	if (kind == KIND_CORE && *s && !strchr("~nNtTfF0123456789+-.", *s))
		kind = KIND_STR;
	switch (kind) {
	case KIND_STR:
		break;
	case KIND_CORE:
		if (is_null(s))
			*out = json_null();
		else if ((b = bool_value(s)) >= 0)
			*out = json_boolean(b);
		else if ((base = int_base(s)))
			return make_int(ld, s, base, at, out);
		else if (is_float(s))
			return make_float(ld, s, at, out);
		else if (is_inf_or_nan(s))
			return fail_at(ld, at, "%s (infinity or NaN) cannot be represented in JSON",
				       s);
		break;
	case KIND_INT:
		if (!(base = int_base(s)))
			return fail_at(ld, at, "'%s' is not an integer (tagged !!int)", s);
		return make_int(ld, s, base, at, out);
	case KIND_FLOAT:
		if (is_inf_or_nan(s))
			return fail_at(ld, at, "%s (infinity or NaN) cannot be represented in JSON",
				       s);
		/* 0o and 0x forms are integers, not floats, in the core schema. */
		if (!is_float(s))
			return fail_at(ld, at, "'%s' is not a float (tagged !!float)", s);
		return make_float(ld, s, at, out);
	case KIND_BOOL:
		if ((b = bool_value(s)) < 0)
			return fail_at(ld, at, "'%s' is not a boolean (tagged !!bool)", s);
		*out = json_boolean(b);
		break;
	case KIND_NULL:
		if (!is_null(s))
			return fail_at(ld, at, "'%s' is not null (tagged !!null)", s);
		*out = json_null();
		break;
	}
	if (!*out)
		*out = json_stringn_nocheck(s, ev->data.scalar.length);
	return *out ? 0 : fail_nomem(ld);
}

static int load_scalar(struct loader *ld, const yaml_event_t *ev, struct node *out)
{
	int error;

	if ((error = add_nodes(ld, 1, mark_of(ev->start_mark), NULL)) < 0)
		return error;
	if ((error = resolve_scalar(ld, ev, &out->value)) < 0)
		return error;
	out->nodes = 1;
	out->bytes = ev->data.scalar.length;
	out->height = 0;
	ld->bytes += ev->data.scalar.length;
	if (ev->data.scalar.anchor)
		error = define_anchor(ld, (const char *)ev->data.scalar.anchor, out,
				      (const char *)ev->data.scalar.value);
	return error;
}

static int load_alias(struct loader *ld, const yaml_event_t *ev, size_t depth, struct node *out)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = find_anchor(ld, name);
	struct mark at = mark_of(ev->start_mark);
	int error;

	if (!a)
		return fail_at(ld, at, "alias *%s refers to an undefined anchor", name);
	if (a->height && (error = check_depth(ld, depth - 1 + a->height, at)) < 0)
		return error;
	if ((error = add_nodes(ld, a->nodes, at, name)) < 0 ||
	    (error = add_alias_bytes(ld, a->bytes, at, name)) < 0)
		return error;
	if (!(out->value = json_deep_copy(a->value)))
		return fail_nomem(ld);
	out->nodes = a->nodes;
	out->bytes = a->bytes;
	out->height = a->height;
	return 0;
}

/*
 * Loads a sequence. With item_marks, pushes each item's mark on ld->marks
 * (the caller pops them); positions are recorded as usual otherwise.
 */
static int load_sequence(struct loader *ld, const yaml_event_t *start, size_t depth, int item_marks,
			 struct node *out)
{
	struct mark at = mark_of(start->start_mark);
	size_t nodes_before = ld->nodes, bytes_before = ld->bytes, pointer_len = ld->pointer.len;
	size_t index = 0;
	yaml_event_t ev;
	struct node child = {NULL, 0, 0, 0};
	int error;

	memset(&ev, 0, sizeof(ev));
	out->value = NULL;
	out->height = 1;
	if ((error = check_collection_tag(ld, start->data.sequence_start.tag, "seq", at)) < 0 ||
	    (error = check_depth(ld, depth, at)) < 0 || (error = add_nodes(ld, 1, at, NULL)) < 0)
		goto out;
	if (!(out->value = json_array())) {
		error = fail_nomem(ld);
		goto out;
	}
	for (;;) {
		if ((error = next_event(ld, &ev)) < 0)
			goto out;
		if (ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (item_marks && (error = push_mark(ld, mark_of(ev.start_mark))) < 0)
			goto out;
		if ((error = pointer_push_index(ld, index)) < 0 ||
		    (error = load_node(ld, &ev, depth + 1, NULL, &child)) < 0)
			goto out;
		pointer_pop(ld, pointer_len);
		if (json_array_append_new(out->value, child.value)) {
			error = fail_nomem(ld);
			goto out;
		}
		child.value = NULL;
		if (child.height + 1 > out->height)
			out->height = child.height + 1;
		index++;
		yaml_event_delete(&ev);
	}
	out->nodes = ld->nodes - nodes_before;
	out->bytes = ld->bytes - bytes_before;
	if (start->data.sequence_start.anchor)
		error =
		    define_anchor(ld, (const char *)start->data.sequence_start.anchor, out, NULL);
out:
	pointer_pop(ld, pointer_len);
	yaml_event_delete(&ev);
	json_decref(child.value);
	if (error < 0) {
		json_decref(out->value);
		out->value = NULL;
	}
	return error;
}

/* Adds src's members that *merged lacks (earlier merge sources win). */
static int merge_from(struct loader *ld, json_t **merged, json_t *src)
{
	if (!*merged && !(*merged = json_object()))
		return fail_nomem(ld);
	for (void *it = json_object_iter(src); it; it = json_object_iter_next(src, it)) {
		const char *key = json_object_iter_key(it);
		size_t len = json_object_iter_key_len(it);

		if (json_object_getn(*merged, key, len))
			continue;
		if (json_object_setn_nocheck(*merged, key, len, json_object_iter_value(it)))
			return fail_nomem(ld);
	}
	return 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a sequence";
	case JSON_STRING:
		return "a string";
	case JSON_NULL:
		return "null";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "a number";
	}
}

/*
 * Loads the value of a "<<" key (the event ev) and merges it into *merged.
 * The value itself is not part of the result, so its positions are not
 * recorded. *height receives the height the value adds to the mapping.
 */
static int load_merge(struct loader *ld, const yaml_event_t *ev, size_t depth, json_t **merged,
		      size_t *height)
{
	struct mark at = mark_of(ev->start_mark);
	size_t marks_base = ld->mark_count;
	struct node value = {NULL, 0, 0, 0};
	int record = ld->record, error = 0;
	const char *what = "merge key '<<' needs a mapping or a sequence of mappings, not";

	ld->record = 0;
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		if ((error = load_sequence(ld, ev, depth, 1, &value)) < 0)
			goto out;
		for (size_t i = 0; i < json_array_size(value.value); i++) {
			json_t *item = json_array_get(value.value, i);

			if (!json_is_object(item)) {
				error = fail_at(ld, ld->marks[marks_base + i], "%s %s", what,
						type_name(item));
				goto out;
			}
			if ((error = merge_from(ld, merged, item)) < 0)
				goto out;
		}
	} else {
		if ((error = load_node(ld, ev, depth, NULL, &value)) < 0)
			goto out;
		if (json_is_object(value.value)) {
			error = merge_from(ld, merged, value.value);
		} else if (json_is_array(value.value)) { /* an alias to a sequence */
			for (size_t i = 0; !error && i < json_array_size(value.value); i++) {
				json_t *item = json_array_get(value.value, i);

				if (!json_is_object(item))
					error = fail_at(ld, at, "%s a sequence holding %s", what,
							type_name(item));
				else
					error = merge_from(ld, merged, item);
			}
		} else {
			error = fail_at(ld, at, "%s %s", what, type_name(value.value));
		}
	}
	*height = value.height;
out:
	ld->mark_count = marks_base;
	ld->record = record;
	json_decref(value.value);
	return error;
}

/* The index of key among obj's members, in insertion order. */
static size_t member_index(json_t *obj, const char *key, size_t len)
{
	size_t i = 0;

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++)
		if (json_object_iter_key_len(it) == len &&
		    memcmp(json_object_iter_key(it), key, len) == 0)
			break;
	return i;
}

/*
 * Reads a mapping key (the event ev) into *key / *len (borrowed from ev or
 * from an anchor). *is_merge tells a plain untagged "<<".
 */
static int load_key(struct loader *ld, const yaml_event_t *ev, const char **key, size_t *len,
		    int *is_merge)
{
	struct mark at = mark_of(ev->start_mark);
	struct node node = {NULL, 0, 0, 0};
	const struct anchor *a;
	int error;

	*is_merge = 0;
	if (ev->type == YAML_ALIAS_EVENT) {
		if (!(a = find_anchor(ld, (const char *)ev->data.alias.anchor)))
			return fail_at(ld, at, "alias *%s refers to an undefined anchor",
				       (const char *)ev->data.alias.anchor);
		if (!a->text)
			return fail_at(ld, at, "a mapping key must be a scalar, not %s",
				       type_name(a->value));
		*key = a->text;
		*len = strlen(a->text);
		if ((error = add_nodes(ld, 1, at, NULL)) < 0 ||
		    (error = add_alias_bytes(ld, *len, at, (const char *)ev->data.alias.anchor)) <
			0)
			return error;
		return 0;
	}
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_at(ld, at, "a mapping key must be a scalar, not a %s",
			       ev->type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
	/* The key is its text; resolving checks a tag and gives an anchor its value. */
	if (ev->data.scalar.tag || ev->data.scalar.anchor) {
		if ((error = load_scalar(ld, ev, &node)) < 0)
			return error;
		json_decref(node.value);
	} else {
		if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
			return fail_at(ld, at, "NUL character in a scalar");
		if ((error = add_nodes(ld, 1, at, NULL)) < 0)
			return error;
		ld->bytes += ev->data.scalar.length;
	}
	*key = (const char *)ev->data.scalar.value;
	*len = ev->data.scalar.length;
	*is_merge = !ev->data.scalar.tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    strcmp(*key, "<<") == 0;
	return 0;
}

static int load_mapping(struct loader *ld, const yaml_event_t *start, size_t depth,
			struct node *out)
{
	struct mark at = mark_of(start->start_mark), key_at, merge_at = {0, 0},
		    merge_key_at = {0, 0};
	size_t nodes_before = ld->nodes, bytes_before = ld->bytes, pointer_len = ld->pointer.len;
	size_t marks_base = ld->mark_count;
	yaml_event_t key_ev, value_ev;
	struct node child = {NULL, 0, 0, 0};
	json_t *merged = NULL;
	const char *key = NULL;
	size_t len = 0, merge_height = 0;
	int error, is_merge;

	memset(&key_ev, 0, sizeof(key_ev));
	memset(&value_ev, 0, sizeof(value_ev));
	out->value = NULL;
	out->height = 1;
	if ((error = check_collection_tag(ld, start->data.mapping_start.tag, "map", at)) < 0 ||
	    (error = check_depth(ld, depth, at)) < 0 || (error = add_nodes(ld, 1, at, NULL)) < 0)
		goto out;
	if (!(out->value = json_object())) {
		error = fail_nomem(ld);
		goto out;
	}
	for (;;) {
		if ((error = next_event(ld, &key_ev)) < 0)
			goto out;
		if (key_ev.type == YAML_MAPPING_END_EVENT)
			break;
		key_at = mark_of(key_ev.start_mark);
		if ((error = load_key(ld, &key_ev, &key, &len, &is_merge)) < 0)
			goto out;
		if (is_merge && merge_key_at.line) {
			error = fail_at(ld, key_at, "duplicate key '<<' (first at line %d)",
					merge_key_at.line);
			goto out;
		}
		if (!is_merge && json_object_getn(out->value, key, len)) {
			struct mark first =
			    ld->marks[marks_base + member_index(out->value, key, len)];

			error = fail_at(ld, key_at, "duplicate key '%.*s' (first at line %d)",
					len > 200 ? 200 : (int)len, key, first.line);
			goto out;
		}
		if ((error = next_event(ld, &value_ev)) < 0)
			goto out;
		if (is_merge) {
			merge_key_at = key_at;
			merge_at = mark_of(value_ev.start_mark);
			if ((error = load_merge(ld, &value_ev, depth + 1, &merged, &merge_height)) <
			    0)
				goto out;
			if (merge_height > out->height)
				out->height = merge_height;
		} else {
			if ((error = push_mark(ld, key_at)) < 0 ||
			    (error = pointer_push_key(ld, key, len)) < 0 ||
			    (error = load_node(ld, &value_ev, depth + 1, &key_at, &child)) < 0)
				goto out;
			pointer_pop(ld, pointer_len);
			if (json_object_setn_new_nocheck(out->value, key, len, child.value)) {
				child.value = NULL;
				error = fail_nomem(ld);
				goto out;
			}
			child.value = NULL;
			if (child.height + 1 > out->height)
				out->height = child.height + 1;
		}
		yaml_event_delete(&key_ev);
		yaml_event_delete(&value_ev);
	}
	/* Explicit keys win over merged ones, wherever the "<<" was written. */
	for (void *it = json_object_iter(merged); it; it = json_object_iter_next(merged, it)) {
		key = json_object_iter_key(it);
		len = json_object_iter_key_len(it);
		if (json_object_getn(out->value, key, len))
			continue;
		if (json_object_setn_nocheck(out->value, key, len, json_object_iter_value(it)) ||
		    (error = pointer_push_key(ld, key, len)) < 0 ||
		    (error = record_position(ld, merge_at, &merge_key_at)) < 0) {
			error = error < 0 ? error : fail_nomem(ld);
			goto out;
		}
		pointer_pop(ld, pointer_len);
	}
	out->nodes = ld->nodes - nodes_before;
	out->bytes = ld->bytes - bytes_before;
	if (start->data.mapping_start.anchor)
		error =
		    define_anchor(ld, (const char *)start->data.mapping_start.anchor, out, NULL);
out:
	ld->mark_count = marks_base;
	pointer_pop(ld, pointer_len);
	yaml_event_delete(&key_ev);
	yaml_event_delete(&value_ev);
	json_decref(child.value);
	json_decref(merged);
	if (error < 0) {
		json_decref(out->value);
		out->value = NULL;
	}
	return error;
}

/*
 * Loads the node that ev starts (ev stays the caller's) at the current
 * pointer. depth is the depth the node has if it is a collection; key is
 * its mapping key's mark, or NULL.
 */
static int load_node(struct loader *ld, const yaml_event_t *ev, size_t depth,
		     const struct mark *key, struct node *out)
{
	int error;

	out->value = NULL;
	if ((error = record_position(ld, mark_of(ev->start_mark), key)) < 0)
		return error;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return load_scalar(ld, ev, out);
	case YAML_ALIAS_EVENT:
		return load_alias(ld, ev, depth, out);
	case YAML_SEQUENCE_START_EVENT:
		return load_sequence(ld, ev, depth, 0, out);
	case YAML_MAPPING_START_EVENT:
		return load_mapping(ld, ev, depth, out);
	default:
		return wh_error_set_at(ld->err, WH_EINTERNAL, ld->path,
				       (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
				       "internal error: unexpected YAML event %d", (int)ev->type);
	}
}

/* Loads the stream: at most one document. */
static int load_stream(struct loader *ld, json_t **out)
{
	yaml_event_t ev;
	struct node root = {NULL, 0, 0, 0};
	int error;

	memset(&ev, 0, sizeof(ev));
	if ((error = next_event(ld, &ev)) < 0) /* STREAM-START */
		goto out;
	yaml_event_delete(&ev);
	if ((error = next_event(ld, &ev)) < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		if (!(root.value = json_null()))
			error = fail_nomem(ld);
		goto out;
	}
	yaml_event_delete(&ev); /* DOCUMENT-START */
	if ((error = next_event(ld, &ev)) < 0 || (error = load_node(ld, &ev, 1, NULL, &root)) < 0)
		goto out;
	yaml_event_delete(&ev);
	if ((error = next_event(ld, &ev)) < 0) /* DOCUMENT-END */
		goto out;
	yaml_event_delete(&ev);
	if ((error = next_event(ld, &ev)) < 0)
		goto out;
	if (ev.type == YAML_DOCUMENT_START_EVENT)
		error = fail_at(ld, mark_of(ev.start_mark),
				"a definition file holds one YAML document; a second one starts "
				"here");
out:
	yaml_event_delete(&ev);
	if (error < 0)
		json_decref(root.value);
	else
		*out = root.value;
	return error;
}

int wh_yaml_load(json_t **out, json_t **positions, const char *text, size_t len, const char *path,
		 const struct wh_yaml_limits *limits, struct wh_error *err)
{
	struct loader ld;
	int error = 0, parser_ready = 0;

	*out = NULL;
	if (positions)
		*positions = NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path ? path : "";
	ld.text = text ? text : "";
	ld.len = len;
	ld.err = err;
	ld.record = 1;
	wh_buf_init(&ld.pointer, SIZE_MAX / 2);
	if (limits)
		ld.limits = *limits;
	else
		wh_yaml_limits_default(&ld.limits);
	ld.position_budget = len < SIZE_MAX / 64 ? 32 * len + 1024 * 1024 : SIZE_MAX / 2;

	if (len > ld.limits.max_bytes) {
		error = wh_error_set_at(err, WH_ECONFIG, ld.path, 0, 0,
					"file is larger than the limit of %zu bytes",
					ld.limits.max_bytes);
		goto out;
	}
	if (!(ld.anchor_index = json_object()) || (positions && !(ld.positions = json_object())) ||
	    wh_buf_add(&ld.pointer, "", 0) < 0 || !yaml_parser_initialize(&ld.parser)) {
		error = fail_nomem(&ld);
		goto out;
	}
	parser_ready = 1;
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)(text ? text : ""), len);
	yaml_parser_set_encoding(&ld.parser, YAML_UTF8_ENCODING);
	if ((error = load_stream(&ld, out)) < 0)
		goto out;
	if (positions) {
		*positions = ld.positions;
		ld.positions = NULL;
	}
out:
	if (parser_ready)
		yaml_parser_delete(&ld.parser);
	for (size_t i = 0; i < ld.anchor_count; i++) {
		json_decref(ld.anchors[i].value);
		free(ld.anchors[i].text);
	}
	free(ld.anchors);
	free(ld.marks);
	for (size_t i = 0; i < ld.int_alloc; i++)
		json_decref(ld.ints[i]);
	free(ld.ints);
	json_decref(ld.anchor_index);
	json_decref(ld.positions);
	wh_buf_release(&ld.pointer);
	return error;
}

void wh_yaml_position(int *line, int *column, const json_t *positions, const char *pointer,
		      int want_key)
{
	size_t len = pointer ? strlen(pointer) : 0;
	const json_t *entry = NULL;

	*line = *column = 0;
	if (!positions)
		return;
	for (;;) {
		if ((entry = json_object_getn(positions, pointer ? pointer : "", len)))
			break;
		if (len == 0)
			return;
		while (len > 0 && pointer[len - 1] != '/')
			len--;
		if (len > 0)
			len--; /* drop the '/' too: "/a/b" -> "/a", "/a" -> "" */
	}
	if (want_key && json_integer_value(json_array_get(entry, 2)) > 0) {
		*line = (int)json_integer_value(json_array_get(entry, 2));
		*column = (int)json_integer_value(json_array_get(entry, 3));
	} else {
		*line = (int)json_integer_value(json_array_get(entry, 0));
		*column = (int)json_integer_value(json_array_get(entry, 1));
	}
}
