/* util: strings, capped buffers, file reading, wiping (see util.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"

size_t wh_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

char *wh_vstrdupf(const char *fmt, va_list ap)
{
	va_list copy;
	int len;
	char *out;

	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		return NULL;
	out = malloc((size_t)len + 1);
	if (out)
		vsnprintf(out, (size_t)len + 1, fmt, ap);
	return out;
}

char *wh_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = wh_vstrdupf(fmt, ap);
	va_end(ap);
	return out;
}

void wh_buf_init(struct wh_buf *buf, size_t cap)
{
	buf->ptr = NULL;
	buf->len = buf->alloc = 0;
	buf->cap = cap;
}

void wh_buf_release(struct wh_buf *buf)
{
	free(buf->ptr);
	buf->ptr = NULL;
	buf->len = buf->alloc = 0;
}

void wh_buf_reset(struct wh_buf *buf)
{
	buf->len = 0;
	if (buf->ptr)
		buf->ptr[0] = '\0';
}

int wh_buf_add(struct wh_buf *buf, const void *data, size_t len)
{
	if (len > buf->cap || buf->len > buf->cap - len)
		return WH_EIO;
	if (buf->len + len + 1 > buf->alloc) {
		size_t alloc = buf->alloc ? buf->alloc : 64;
		char *ptr;

		while (alloc < buf->len + len + 1)
			alloc *= 2;
		ptr = realloc(buf->ptr, alloc);
		if (!ptr)
			return WH_ENOMEM;
		buf->ptr = ptr;
		buf->alloc = alloc;
	}
	if (len)
		memcpy(buf->ptr + buf->len, data, len);
	buf->len += len;
	buf->ptr[buf->len] = '\0';
	return 0;
}

int wh_buf_adds(struct wh_buf *buf, const char *s)
{
	return wh_buf_add(buf, s, strlen(s));
}

int wh_buf_addf(struct wh_buf *buf, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int error;

	va_start(ap, fmt);
	s = wh_vstrdupf(fmt, ap);
	va_end(ap);
	if (!s)
		return WH_ENOMEM;
	error = wh_buf_add(buf, s, strlen(s));
	free(s);
	return error;
}

char *wh_buf_detach(struct wh_buf *buf)
{
	char *out = buf->ptr ? buf->ptr : strdup("");

	buf->ptr = NULL;
	buf->len = buf->alloc = 0;
	return out;
}

int wh_read_file(char **out, size_t *out_len, const char *path, size_t max, struct wh_error *err)
{
	struct wh_buf buf = WH_BUF_INIT(max);
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int error = 0;

	*out = NULL;
	if (!f)
		return wh_error_set(err, WH_EIO, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((error = wh_buf_add(&buf, chunk, n)) < 0) {
			if (error == WH_EIO)
				wh_error_set(err, WH_EIO, "%s: larger than the limit of %zu bytes",
					     path, max);
			else
				wh_error_set(err, error, "%s: out of memory", path);
			goto out;
		}
	}
	if (ferror(f)) {
		error = wh_error_set(err, WH_EIO, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (out_len)
		*out_len = buf.len;
	*out = wh_buf_detach(&buf);
	if (!*out)
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
out:
	if (f != stdin)
		fclose(f);
	wh_buf_release(&buf);
	return error;
}

void wh_wipe(void *ptr, size_t len)
{
	if (ptr && len)
		OPENSSL_cleanse(ptr, len);
}

void wh_free_secret(char *secret)
{
	if (!secret)
		return;
	wh_wipe(secret, strlen(secret));
	free(secret);
}
