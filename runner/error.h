/*
 * error: how failures travel. Every fallible function returns 0 or a
 * negative wh_error_code and fills a caller-provided struct wh_error with a
 * message and, where the failure has one, a source location (file, line,
 * column, 1-based). Library errors (git_error_last(), curl's error buffer,
 * jansson's json_error_t, libyaml's problem mark, sqlite3_errmsg) are
 * translated into a wh_error once, at the module that calls the library.
 * Only the CLI prints errors and maps codes to exit codes (SPEC section 7).
 *
 * wh_diags collects many located findings (errors and warnings) for the
 * commands that report everything at once, such as `validate`.
 */
#ifndef WH_ERROR_H
#define WH_ERROR_H

#include <stddef.h>

enum wh_error_code {
	WH_OK = 0,
	WH_EDELIVERY = -1, /* a required delivery failed or is pending: exit 1 */
	WH_EUSAGE = -2,	   /* bad command line: exit 2 */
	WH_ECONFIG = -3,   /* repo, ref, YAML, definitions, secrets: exit 3 */
	WH_EPAYLOAD = -4,  /* payload rejected, nothing sent: exit 4 */
	WH_EIO = -5,	   /* file system, journal: exit 3 */
	WH_ENOMEM = -6,	   /* out of memory: exit 3 */
	WH_ENOTFOUND = -7, /* a looked-up thing does not exist (callers decide) */
	WH_EINTERNAL = -8, /* a bug: exit 3 with "internal error" */
};

#define WH_ERROR_MESSAGE_MAX 1024
#define WH_ERROR_PATH_MAX    512

struct wh_error {
	int code;
	char message[WH_ERROR_MESSAGE_MAX];
	char path[WH_ERROR_PATH_MAX]; /* "" when the error has no file */
	int line, column;	      /* 0 when unknown */
};

#define WH_ERROR_INIT                                                                              \
	{                                                                                          \
		0, {0}, {0}, 0, 0                                                                  \
	}

void wh_error_clear(struct wh_error *err);

/* Sets err (which may be NULL) and returns code, so callers can write
 * `return wh_error_set(err, WH_ECONFIG, "...")`. */
int wh_error_set(struct wh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int wh_error_set_at(struct wh_error *err, int code, const char *path, int line, int column,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Prefixes the message with "prefix: " (e.g. a hook name); returns err->code. */
int wh_error_prefix(struct wh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "path:line:column: message" (parts that are unknown are left out). */
void wh_error_format(const struct wh_error *err, char *out, size_t size);

/* The exit code of SPEC section 7 for an error code. */
int wh_error_exit_code(int code);

enum wh_severity { WH_SEVERITY_ERROR, WH_SEVERITY_WARNING };

struct wh_diag {
	enum wh_severity severity;
	char *path; /* owned; may be "" */
	int line, column;
	char *message; /* owned */
};

struct wh_diags {
	struct wh_diag *items;
	size_t count, alloc;
	size_t errors, warnings;
};

void wh_diags_init(struct wh_diags *diags);
void wh_diags_release(struct wh_diags *diags);
/* Returns 0, or WH_ENOMEM. */
int wh_diags_add(struct wh_diags *diags, enum wh_severity severity, const char *path, int line,
		 int column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Adds err as an error finding. */
int wh_diags_add_error(struct wh_diags *diags, const struct wh_error *err);
/* Sorts by path, line, column, then message. */
void wh_diags_sort(struct wh_diags *diags);

#endif
