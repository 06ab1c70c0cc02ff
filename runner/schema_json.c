/*
 * schema_json: the instance representation the validator walks (struct
 * wh_jv), a fast JSON parser into it, and a converter from jansson values.
 *
 * Why not jansson for instances: validating ndjson at ajv's speed needs a
 * parse that does not allocate per value. Here every value of one instance
 * lives in one arena (wh_jarena), strings point into a private copy of the
 * text (unescaped in place), and the arena is reset, not freed, between
 * instances. Objects keep their members in document order with their keys;
 * lookups are linear (validation looks up few names), and duplicate keys are
 * rejected through a temporary hash when an object is large.
 *
 * Limits: nesting is bounded at WH_JSON_MAX_DEPTH (jansson's 2048); numbers
 * are long long when integral and in range, else double (so 2^64 is a
 * double); a real that overflows a double is an error; strings must be valid
 * UTF-8 and may hold NUL.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"
#include "util.h"
#include "banned.h"

#define ARENA_BLOCK (64u << 10)

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	/* data follows, max_align_t aligned */
};

void wh_jarena_init(struct wh_jarena *a)
{
	memset(a, 0, sizeof(*a));
}

void *wh_jarena_alloc(struct wh_jarena *a, size_t size)
{
	struct arena_block *b = a->current;
	size_t header = (sizeof(struct arena_block) + 15) & ~(size_t)15;

	size = (size + 15) & ~(size_t)15;
	while (b && b->used + size > b->size)
		b = b->next; /* reuse the blocks kept by a reset */
	if (!b) {
		size_t bsize = size > ARENA_BLOCK ? size : ARENA_BLOCK;

		b = malloc(header + bsize);
		if (!b)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = a->blocks;
		a->blocks = b;
	}
	a->current = b;
	void *p = (char *)b + header + b->used;
	b->used += size;
	return p;
}

void wh_jarena_reset(struct wh_jarena *a)
{
	for (struct arena_block *b = a->blocks; b; b = b->next)
		b->used = 0;
	a->current = a->blocks;
}

void wh_jarena_release(struct wh_jarena *a)
{
	struct arena_block *b = a->blocks;

	while (b) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
	free(a->text);
	free(a->stack);
	memset(a, 0, sizeof(*a));
}

const struct wh_jv *wh_jv_get(const struct wh_jv *obj, const char *key)
{
	size_t len = strlen(key);

	for (uint32_t i = 0; i < obj->len; i++) {
		const struct wh_jmember *m = &obj->u.members[i];

		if (m->klen == len && memcmp(m->key, key, len) == 0)
			return &m->value;
	}
	return NULL;
}

/* ---- parser ------------------------------------------------------------------ */

struct parser {
	struct wh_jarena *a;
	char *p, *start, *end;
	const char *error;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (0 when invalid). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/* Parses the string at ps->p (after the quote), unescaping in place. */
static int parse_string(struct parser *ps, const char **out, uint32_t *len)
{
	char *r = ps->p, *w = ps->p, *end = ps->end;

	for (;;) {
		/* fast path: plain ASCII */
		while (r < end && (unsigned char)*r >= 0x20 && *r != '"' && *r != '\\' &&
		       (unsigned char)*r < 0x80)
			*w++ = *r++;
		if (r >= end) {
			ps->error = "unterminated string";
			return -1;
		}
		if (*r == '"')
			break;
		if ((unsigned char)*r < 0x20) {
			ps->error = "control character in a string";
			ps->p = r;
			return -1;
		}
		if (*r == '\\') {
			unsigned cp, lo;

			if (r + 1 >= end) {
				ps->error = "unterminated string";
				return -1;
			}
			switch (r[1]) {
			case '"':
			case '\\':
			case '/':
				*w++ = r[1];
				r += 2;
				continue;
			case 'b':
				*w++ = '\b';
				r += 2;
				continue;
			case 'f':
				*w++ = '\f';
				r += 2;
				continue;
			case 'n':
				*w++ = '\n';
				r += 2;
				continue;
			case 'r':
				*w++ = '\r';
				r += 2;
				continue;
			case 't':
				*w++ = '\t';
				r += 2;
				continue;
			case 'u':
				break;
			default:
				ps->error = "invalid escape";
				ps->p = r;
				return -1;
			}
			if (end - r < 6 || hex4(r + 2, &cp)) {
				ps->error = "invalid \\u escape";
				ps->p = r;
				return -1;
			}
			r += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (end - r < 6 || r[0] != '\\' || r[1] != 'u' ||
				    hex4(r + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
					ps->error = "invalid surrogate pair";
					ps->p = r;
					return -1;
				}
				r += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				ps->error = "lone low surrogate";
				ps->p = r;
				return -1;
			}
			/* the UTF-8 form is never longer than the 6-byte escape */
			if (cp < 0x80) {
				*w++ = (char)cp;
			} else if (cp < 0x800) {
				*w++ = (char)(0xC0 | (cp >> 6));
				*w++ = (char)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				*w++ = (char)(0xE0 | (cp >> 12));
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
				*w++ = (char)(0x80 | (cp & 0x3F));
			} else {
				*w++ = (char)(0xF0 | (cp >> 18));
				*w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
				*w++ = (char)(0x80 | (cp & 0x3F));
			}
			continue;
		}
		{
			size_t n = utf8_seq((const unsigned char *)r, (const unsigned char *)end);

			if (!n) {
				ps->error = "invalid UTF-8";
				ps->p = r;
				return -1;
			}
			memmove(w, r, n);
			w += n;
			r += n;
		}
	}
	if (w - ps->p > (ptrdiff_t)UINT32_MAX) {
		ps->error = "string too long";
		return -1;
	}
	*out = ps->p;
	*len = (uint32_t)(w - ps->p);
	*w = '\0'; /* w <= r, and r points at the closing quote */
	ps->p = r + 1;
	return 0;
}

static int parse_number(struct parser *ps, struct wh_jv *v)
{
	char *s = ps->p, *q = s;
	int is_int = 1;

	if (*q == '-')
		q++;
	if (q >= ps->end || !(*q >= '0' && *q <= '9'))
		goto bad;
	if (*q == '0') {
		q++;
	} else {
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && *q == '.') {
		is_int = 0;
		q++;
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			goto bad;
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		is_int = 0;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			goto bad;
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (is_int && q - s <= 18) {
		long long n = 0;
		const char *d = s + (*s == '-');

		for (; d < q; d++)
			n = n * 10 + (*d - '0');
		v->type = WH_JV_INT;
		v->u.i = *s == '-' ? -n : n;
	} else {
		char saved = *q;
		double d;

		*q = '\0'; /* the text buffer is ours and has a spare byte */
		errno = 0;
		if (is_int) {
			long long n = strtoll(s, NULL, 10);

			if (errno == 0) {
				*q = saved;
				v->type = WH_JV_INT;
				v->u.i = n;
				ps->p = q;
				return 0;
			}
			errno = 0;
		}
		d = strtod(s, NULL);
		*q = saved;
		if (errno == ERANGE && isinf(d)) {
			ps->error = "real number overflow";
			return -1;
		}
		v->type = WH_JV_REAL;
		v->u.d = d;
	}
	ps->p = q;
	return 0;
bad:
	ps->error = "invalid number";
	return -1;
}

/* Temporary stack of values / members while a container is open. */
static int stack_reserve(struct wh_jarena *a, size_t bytes)
{
	if (a->stack_used + bytes > a->stack_size) {
		size_t n = a->stack_size ? a->stack_size * 2 : 16384;
		char *s;

		while (n < a->stack_used + bytes)
			n *= 2;
		s = realloc(a->stack, n);
		if (!s)
			return -1;
		a->stack = s;
		a->stack_size = n;
	}
	return 0;
}

static int parse_value(struct parser *ps, struct wh_jv *v);

static int check_duplicates(struct parser *ps, const struct wh_jmember *m, size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (m[i].klen == m[j].klen &&
				    memcmp(m[i].key, m[j].key, m[i].klen) == 0)
					goto dup;
		return 0;
	}
	{
		size_t size = 64, mask;
		uint32_t *table;

		while (size < n * 2)
			size *= 2;
		mask = size - 1;
		table = calloc(size, sizeof(*table));
		if (!table) {
			ps->error = "out of memory";
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			uint32_t h = 2166136261u;

			for (uint32_t k = 0; k < m[i].klen; k++)
				h = (h ^ (unsigned char)m[i].key[k]) * 16777619u;
			for (size_t s = h & mask;; s = (s + 1) & mask) {
				const struct wh_jmember *o;

				if (!table[s]) {
					table[s] = (uint32_t)i + 1;
					break;
				}
				o = &m[table[s] - 1];
				if (o->klen == m[i].klen &&
				    memcmp(o->key, m[i].key, o->klen) == 0) {
					free(table);
					goto dup;
				}
			}
		}
		free(table);
		return 0;
	}
dup:
	ps->error = "duplicate object key";
	return -1;
}

static int parse_container(struct parser *ps, struct wh_jv *v, int object)
{
	struct wh_jarena *a = ps->a;
	size_t base = a->stack_used, n = 0;
	size_t elem = object ? sizeof(struct wh_jmember) : sizeof(struct wh_jv);
	char close = object ? '}' : ']';
	int error = 0;

	if (++ps->depth > WH_JSON_MAX_DEPTH) {
		ps->error = "maximum parsing depth reached";
		return -1;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			if (stack_reserve(a, elem)) {
				ps->error = "out of memory";
				error = -1;
				break;
			}
			if (object) {
				struct wh_jmember *m =
				    (struct wh_jmember *)(a->stack + a->stack_used);

				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != '"') {
					ps->error = "string or '}' expected";
					error = -1;
					break;
				}
				ps->p++;
				if (parse_string(ps, &m->key, &m->klen)) {
					error = -1;
					break;
				}
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':') {
					ps->error = "':' expected";
					error = -1;
					break;
				}
				ps->p++;
				a->stack_used += elem;
				/* parse_value may grow (move) the stack: write through an index */
				{
					struct wh_jv tmp;

					if (parse_value(ps, &tmp)) {
						error = -1;
						break;
					}
					((struct wh_jmember *)(a->stack + base))[n].value = tmp;
				}
			} else {
				struct wh_jv tmp;

				a->stack_used += elem;
				if (parse_value(ps, &tmp)) {
					error = -1;
					break;
				}
				((struct wh_jv *)(a->stack + base))[n] = tmp;
			}
			n++;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			ps->error = object ? "',' or '}' expected" : "',' or ']' expected";
			error = -1;
			break;
		}
	}
	if (!error && n > UINT32_MAX) {
		ps->error = "container too large";
		error = -1;
	}
	if (!error) {
		void *items = n ? wh_jarena_alloc(a, n * elem) : NULL;

		if (n && !items) {
			ps->error = "out of memory";
			error = -1;
		} else {
			if (n)
				memcpy(items, a->stack + base, n * elem);
			v->type = object ? WH_JV_OBJECT : WH_JV_ARRAY;
			v->len = (uint32_t)n;
			if (object)
				v->u.members = items;
			else
				v->u.items = items;
			if (object && n > 1 && check_duplicates(ps, v->u.members, n))
				error = -1;
		}
	}
	a->stack_used = base;
	ps->depth--;
	return error;
}

static int parse_value(struct parser *ps, struct wh_jv *v)
{
	skip_ws(ps);
	if (ps->p >= ps->end) {
		ps->error = "unexpected end of input";
		return -1;
	}
	v->len = 0;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, 1);
	case '[':
		return parse_container(ps, v, 0);
	case '"':
		ps->p++;
		v->type = WH_JV_STRING;
		return parse_string(ps, &v->u.s, &v->len);
	case 't':
		if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
			v->type = WH_JV_TRUE;
			ps->p += 4;
			return 0;
		}
		break;
	case 'f':
		if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
			v->type = WH_JV_FALSE;
			ps->p += 5;
			return 0;
		}
		break;
	case 'n':
		if (ps->end - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0) {
			v->type = WH_JV_NULL;
			ps->p += 4;
			return 0;
		}
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps, v);
	}
	ps->error = "invalid token";
	return -1;
}

int wh_jv_parse(struct wh_jarena *a, const struct wh_jv **out, const char *text, size_t len,
		const char *what, struct wh_error *err)
{
	struct parser ps;
	struct wh_jv *root;

	wh_jarena_reset(a);
	if (len + 1 > a->text_size) {
		size_t n = a->text_size ? a->text_size : 4096;
		char *t;

		while (n < len + 1)
			n *= 2;
		t = realloc(a->text, n);
		if (!t)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		a->text = t;
		a->text_size = n;
	}
	memcpy(a->text, text, len);
	a->text[len] = '\0';
	root = wh_jarena_alloc(a, sizeof(*root));
	if (!root)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	memset(&ps, 0, sizeof(ps));
	ps.a = a;
	ps.p = ps.start = a->text;
	ps.end = a->text + len;
	a->stack_used = 0;
	if (parse_value(&ps, root) == 0) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			ps.error = "end of file expected";
	}
	if (ps.error) {
		/* position of the failure, counted from the original text */
		size_t off = (size_t)(ps.p - ps.start), line = 1, col = 1;

		for (size_t i = 0; i < off && i < len; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		return wh_error_set_at(err,
				       strcmp(ps.error, "out of memory") ? WH_EPAYLOAD : WH_ENOMEM,
				       what, (int)line, (int)col, "invalid JSON: %s", ps.error);
	}
	*out = root;
	return 0;
}

/* ---- from jansson ---------------------------------------------------------------- */

static int convert(struct wh_jarena *a, const json_t *j, struct wh_jv *v, int depth)
{
	if (depth > WH_JSON_MAX_DEPTH + 8)
		return -1;
	v->len = 0;
	switch (json_typeof(j)) {
	case JSON_NULL:
		v->type = WH_JV_NULL;
		return 0;
	case JSON_TRUE:
		v->type = WH_JV_TRUE;
		return 0;
	case JSON_FALSE:
		v->type = WH_JV_FALSE;
		return 0;
	case JSON_INTEGER:
		v->type = WH_JV_INT;
		v->u.i = json_integer_value(j);
		return 0;
	case JSON_REAL:
		v->type = WH_JV_REAL;
		v->u.d = json_real_value(j);
		return 0;
	case JSON_STRING:
		v->type = WH_JV_STRING;
		v->u.s = json_string_value(j); /* borrowed from j */
		v->len = (uint32_t)json_string_length(j);
		return 0;
	case JSON_ARRAY: {
		size_t n = json_array_size(j);

		v->type = WH_JV_ARRAY;
		v->len = (uint32_t)n;
		v->u.items = n ? wh_jarena_alloc(a, n * sizeof(struct wh_jv)) : NULL;
		if (n && !v->u.items)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (convert(a, json_array_get(j, i), &v->u.items[i], depth + 1))
				return -1;
		return 0;
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(j), i = 0;
		const char *key;
		json_t *value;
		struct wh_jmember *m;

		v->type = WH_JV_OBJECT;
		v->len = (uint32_t)n;
		m = n ? wh_jarena_alloc(a, n * sizeof(*m)) : NULL;
		v->u.members = m;
		if (n && !m)
			return -1;
		json_object_foreach((json_t *)j, key, value)
		{
			m[i].key = key;
			m[i].klen = (uint32_t)strlen(key);
			if (convert(a, value, &m[i].value, depth + 1))
				return -1;
			i++;
		}
		return 0;
	}
	}
	return -1;
}

int wh_jv_from_json(struct wh_jarena *a, const struct wh_jv **out, const json_t *value)
{
	struct wh_jv *root;

	wh_jarena_reset(a);
	root = wh_jarena_alloc(a, sizeof(*root));
	if (!root || convert(a, value, root, 0))
		return WH_ENOMEM;
	*out = root;
	return 0;
}

/* ---- to jansson ------------------------------------------------------------ */

static json_t *to_json(const struct wh_jv *v)
{
	json_t *out = NULL;

	switch ((enum wh_jv_type)v->type) {
	case WH_JV_NULL:
		return json_null();
	case WH_JV_TRUE:
		return json_true();
	case WH_JV_FALSE:
		return json_false();
	case WH_JV_INT:
		return json_integer(v->u.i);
	case WH_JV_REAL:
		return json_real(v->u.d);
	case WH_JV_STRING:
		return json_stringn_nocheck(v->u.s, v->len);
	case WH_JV_ARRAY:
		if (!(out = json_array()))
			return NULL;
		for (uint32_t i = 0; i < v->len; i++)
			if (json_array_append_new(out, to_json(&v->u.items[i])))
				goto fail;
		return out;
	case WH_JV_OBJECT:
		if (!(out = json_object()))
			return NULL;
		for (uint32_t i = 0; i < v->len; i++) {
			const struct wh_jmember *m = &v->u.members[i];

			if (json_object_setn_new_nocheck(out, m->key, m->klen, to_json(&m->value)))
				goto fail;
		}
		return out;
	}
fail:
	json_decref(out);
	return NULL;
}

int wh_schema_parse_trusted(json_t **out, const char *text, size_t len, const char *what,
			    struct wh_error *err)
{
	struct wh_jarena arena;
	const struct wh_jv *root = NULL;
	int error;

	*out = NULL;
	wh_jarena_init(&arena);
	error = wh_jv_parse(&arena, &root, text, len, what, err);
	if (error == 0 && !(*out = to_json(root)))
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
	wh_jarena_release(&arena);
	return error;
}
