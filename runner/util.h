/*
 * util: small pieces every module uses: bounded string copies, formatted
 * allocation, a growable byte buffer with a size cap (after curl's dynbuf:
 * a buffer that would grow past its cap fails instead), reading a whole
 * file with a size limit, and wiping secrets.
 */
#ifndef WH_UTIL_H
#define WH_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#include "error.h"

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t wh_strlcpy(char *dst, const char *src, size_t size);

/* malloc'ed formatted strings, or NULL on failure. Caller frees. */
char *wh_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *wh_vstrdupf(const char *fmt, va_list ap);

struct wh_buf {
	char *ptr;    /* always NUL-terminated once anything was added */
	size_t len;   /* bytes used, not counting the NUL */
	size_t alloc; /* bytes allocated */
	size_t cap;   /* the most len may reach */
};

#define WH_BUF_INIT(cap)                                                                           \
	{                                                                                          \
		NULL, 0, 0, (cap)                                                                  \
	}

void wh_buf_init(struct wh_buf *buf, size_t cap);
/* Frees the memory and resets to empty (cap kept). */
void wh_buf_release(struct wh_buf *buf);
/* Returns 0, WH_ENOMEM, or WH_EIO when the cap would be exceeded. */
int wh_buf_add(struct wh_buf *buf, const void *data, size_t len);
int wh_buf_adds(struct wh_buf *buf, const char *s);
int wh_buf_addf(struct wh_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (never NULL on success: "" for empty). */
char *wh_buf_detach(struct wh_buf *buf);
/* Makes len 0 and keeps the memory. */
void wh_buf_reset(struct wh_buf *buf);

/* Reads a whole file (or stdin for "-") into *out (malloc'ed, NUL-terminated),
 * failing with WH_EIO when it is larger than max bytes. */
int wh_read_file(char **out, size_t *out_len, const char *path, size_t max, struct wh_error *err);

/* Overwrites len bytes with zeros in a way the compiler keeps. */
void wh_wipe(void *ptr, size_t len);
/* Wipes and frees a NUL-terminated secret; NULL is fine. */
void wh_free_secret(char *secret);

#define WH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
