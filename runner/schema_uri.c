/*
 * schema_uri: URI-reference resolution (RFC 3986 section 5.2) and JSON
 * pointers (RFC 6901) for the schema module. Works on strings only: no
 * normalisation beyond dot-segment removal, no network, no file access.
 */
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"
#include "util.h"
#include "banned.h"

struct uri_parts {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_len, auth_len, path_len, query_len, frag_len;
	int has_scheme, has_auth, has_query, has_frag;
};

static void uri_parse(struct uri_parts *u, const char *s)
{
	const char *p = s, *end;

	memset(u, 0, sizeof(*u));
	/* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	end = p;
	if ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z')) {
		while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
		       (*end >= '0' && *end <= '9') || *end == '+' || *end == '-' || *end == '.')
			end++;
		if (*end == ':') {
			u->has_scheme = 1;
			u->scheme = p;
			u->scheme_len = (size_t)(end - p);
			p = end + 1;
		}
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		end = p + strcspn(p, "/?#");
		u->has_auth = 1;
		u->auth = p;
		u->auth_len = (size_t)(end - p);
		p = end;
	}
	end = p + strcspn(p, "?#");
	u->path = p;
	u->path_len = (size_t)(end - p);
	p = end;
	if (*p == '?') {
		p++;
		end = p + strcspn(p, "#");
		u->has_query = 1;
		u->query = p;
		u->query_len = (size_t)(end - p);
		p = end;
	}
	if (*p == '#') {
		u->has_frag = 1;
		u->frag = p + 1;
		u->frag_len = strlen(p + 1);
	}
}

/* RFC 3986 5.2.4, on a NUL-terminated malloc'ed path, in place. */
static void remove_dot_segments(char *path)
{
	char *in = path, *out = path;

	while (*in) {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0) {
			in += 2;
		} else if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			if (in[3] == '/')
				in += 3;
			else {
				in += 2;
				*in = '/';
			}
			while (out > path && *--out != '/')
				;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			*in = '\0';
		} else {
			if (*in == '/')
				*out++ = *in++;
			while (*in && *in != '/')
				*out++ = *in++;
		}
	}
	*out = '\0';
}

char *wh_suri_resolve(const char *base, const char *ref)
{
	struct uri_parts b, r;
	struct wh_buf out = WH_BUF_INIT(1 << 20), path = WH_BUF_INIT(1 << 20);
	const struct uri_parts *auth_from, *query_from;
	int ok = 1;

	uri_parse(&b, base ? base : "");
	uri_parse(&r, ref);
	if (r.has_scheme) {
		auth_from = &r;
		query_from = &r;
		ok &= wh_buf_add(&path, r.path, r.path_len) == 0;
	} else if (r.has_auth) {
		auth_from = &r;
		query_from = &r;
		ok &= wh_buf_add(&path, r.path, r.path_len) == 0;
	} else {
		auth_from = &b;
		if (r.path_len == 0) {
			ok &= wh_buf_add(&path, b.path, b.path_len) == 0;
			query_from = r.has_query ? &r : &b;
		} else {
			query_from = &r;
			if (r.path[0] == '/') {
				ok &= wh_buf_add(&path, r.path, r.path_len) == 0;
			} else if (b.has_auth && b.path_len == 0) {
				ok &= wh_buf_adds(&path, "/") == 0;
				ok &= wh_buf_add(&path, r.path, r.path_len) == 0;
			} else {
				size_t keep = b.path_len;

				while (keep > 0 && b.path[keep - 1] != '/')
					keep--;
				ok &= wh_buf_add(&path, b.path, keep) == 0;
				ok &= wh_buf_add(&path, r.path, r.path_len) == 0;
			}
		}
	}
	ok &= wh_buf_add(&path, "", 0) == 0;
	if (ok && path.ptr && (r.has_scheme || r.has_auth || r.path_len))
		remove_dot_segments(path.ptr);
	{
		const struct uri_parts *scheme_from = r.has_scheme ? &r : &b;

		if (scheme_from->has_scheme) {
			ok &= wh_buf_add(&out, scheme_from->scheme, scheme_from->scheme_len) == 0;
			ok &= wh_buf_adds(&out, ":") == 0;
		}
	}
	if (auth_from->has_auth) {
		ok &= wh_buf_adds(&out, "//") == 0;
		ok &= wh_buf_add(&out, auth_from->auth, auth_from->auth_len) == 0;
	}
	ok &= wh_buf_adds(&out, path.ptr ? path.ptr : "") == 0;
	if (query_from->has_query) {
		ok &= wh_buf_adds(&out, "?") == 0;
		ok &= wh_buf_add(&out, query_from->query, query_from->query_len) == 0;
	}
	if (r.has_frag) {
		ok &= wh_buf_adds(&out, "#") == 0;
		ok &= wh_buf_add(&out, r.frag, r.frag_len) == 0;
	}
	wh_buf_release(&path);
	if (!ok) {
		wh_buf_release(&out);
		return NULL;
	}
	return wh_buf_detach(&out);
}

char *wh_suri_split(const char *uri, const char **fragment)
{
	const char *hash = strchr(uri, '#');
	size_t len = hash ? (size_t)(hash - uri) : strlen(uri);
	char *out = malloc(len + 1);

	if (out) {
		memcpy(out, uri, len);
		out[len] = '\0';
	}
	*fragment = hash ? hash + 1 : NULL;
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *wh_suri_decode(const char *s)
{
	size_t len = strlen(s), j = 0;
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < len + 1 ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

json_t *wh_json_pointer_get(json_t *root, const char *pointer)
{
	json_t *cur = root;
	const char *p = pointer;
	char token[1024];

	if (*p == '\0')
		return root;
	if (*p != '/')
		return NULL;
	while (cur && *p == '/') {
		size_t n = 0;

		p++;
		while (*p && *p != '/') {
			char c = *p++;

			if (c == '~') {
				if (*p == '0')
					c = '~';
				else if (*p == '1')
					c = '/';
				else
					return NULL;
				p++;
			}
			if (n + 1 >= sizeof(token))
				return NULL;
			token[n++] = c;
		}
		token[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, token);
		} else if (json_is_array(cur)) {
			char *end;
			unsigned long idx;

			if (n == 0 || (n > 1 && token[0] == '0') || token[0] < '0' ||
			    token[0] > '9')
				return NULL;
			idx = strtoul(token, &end, 10);
			if (*end)
				return NULL;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
	}
	return cur;
}

int wh_spointer_append(struct wh_buf *buf, const char *token)
{
	int error = wh_buf_adds(buf, "/");

	for (const char *p = token; !error && *p; p++) {
		if (*p == '~')
			error = wh_buf_adds(buf, "~0");
		else if (*p == '/')
			error = wh_buf_adds(buf, "~1");
		else
			error = wh_buf_add(buf, p, 1);
	}
	return error ? WH_ENOMEM : 0;
}
