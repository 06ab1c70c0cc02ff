/* error: located error values and finding lists (see error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

void wh_error_clear(struct wh_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->message[0] = '\0';
	err->path[0] = '\0';
	err->line = err->column = 0;
}

static void set_message(struct wh_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int wh_error_set(struct wh_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	wh_error_clear(err);
	err->code = code;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return code;
}

int wh_error_set_at(struct wh_error *err, int code, const char *path, int line, int column,
		    const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	wh_error_clear(err);
	err->code = code;
	wh_strlcpy(err->path, path ? path : "", sizeof(err->path));
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return code;
}

int wh_error_prefix(struct wh_error *err, const char *fmt, ...)
{
	char prefix[256], old[WH_ERROR_MESSAGE_MAX];
	va_list ap;

	if (!err)
		return WH_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
	return err->code;
}

void wh_error_format(const struct wh_error *err, char *out, size_t size)
{
	if (err->path[0] && err->line > 0)
		snprintf(out, size, "%s:%d:%d: %s", err->path, err->line,
			 err->column > 0 ? err->column : 1, err->message);
	else if (err->path[0])
		snprintf(out, size, "%s: %s", err->path, err->message);
	else
		snprintf(out, size, "%s", err->message);
}

int wh_error_exit_code(int code)
{
	switch (code) {
	case WH_OK:
		return 0;
	case WH_EDELIVERY:
		return 1;
	case WH_EUSAGE:
		return 2;
	case WH_EPAYLOAD:
		return 4;
	default:
		return 3;
	}
}

void wh_diags_init(struct wh_diags *diags)
{
	memset(diags, 0, sizeof(*diags));
}

void wh_diags_release(struct wh_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->count; i++) {
		free(diags->items[i].path);
		free(diags->items[i].message);
	}
	free(diags->items);
	wh_diags_init(diags);
}

static int diags_push(struct wh_diags *diags, enum wh_severity severity, const char *path, int line,
		      int column, char *message)
{
	struct wh_diag *d;

	if (!message)
		return WH_ENOMEM;
	if (diags->count == diags->alloc) {
		size_t alloc = diags->alloc ? diags->alloc * 2 : 16;
		struct wh_diag *items = realloc(diags->items, alloc * sizeof(*items));
		if (!items) {
			free(message);
			return WH_ENOMEM;
		}
		diags->items = items;
		diags->alloc = alloc;
	}
	d = &diags->items[diags->count];
	d->path = strdup(path ? path : "");
	if (!d->path) {
		free(message);
		return WH_ENOMEM;
	}
	d->severity = severity;
	d->line = line;
	d->column = column;
	d->message = message;
	diags->count++;
	if (severity == WH_SEVERITY_ERROR)
		diags->errors++;
	else
		diags->warnings++;
	return 0;
}

int wh_diags_add(struct wh_diags *diags, enum wh_severity severity, const char *path, int line,
		 int column, const char *fmt, ...)
{
	va_list ap;
	char *message;

	va_start(ap, fmt);
	message = wh_vstrdupf(fmt, ap);
	va_end(ap);
	return diags_push(diags, severity, path, line, column, message);
}

int wh_diags_add_error(struct wh_diags *diags, const struct wh_error *err)
{
	return diags_push(diags, WH_SEVERITY_ERROR, err->path, err->line, err->column,
			  strdup(err->message));
}

static int diag_compare(const void *a, const void *b)
{
	const struct wh_diag *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return strcmp(x->message, y->message);
}

void wh_diags_sort(struct wh_diags *diags)
{
	if (diags->count > 1)
		qsort(diags->items, diags->count, sizeof(*diags->items), diag_compare);
}
