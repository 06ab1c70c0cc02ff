/*
 * secret: resolves the ${env:NAME} and ${file:PATH} references that
 * definitions use for credentials, at the moment a hook is about to
 * deliver (never at load time, so a missing variable only fails the hooks
 * that need it). Resolved values are malloc'ed, and callers release them
 * with wh_free_secret(), which wipes them first. Values are never logged:
 * wh_secret_mask() gives the text to show instead.
 */
#ifndef WH_SECRET_H
#define WH_SECRET_H

#include "error.h"

/* Largest ${file:...} secret read, in bytes. */
#define WH_SECRET_FILE_MAX 65536

/*
 * Resolves one reference (the whole string is ${env:NAME} or ${file:PATH})
 * into *out (caller frees with wh_free_secret). A file's trailing newline
 * is dropped. An unset or empty variable, or an unreadable file, is
 * WH_ECONFIG naming the variable or path (never the value).
 */
int wh_secret_resolve(char **out, const char *reference, struct wh_error *err);

/*
 * Expands every reference inside text (e.g. "Bearer ${env:TOKEN}") into
 * *out (caller frees with wh_free_secret). *masked, when not NULL,
 * receives the same text with each reference shown as "***" (caller frees
 * with free). Resolved values containing CR, LF or NUL are refused
 * (they would inject headers).
 */
int wh_secret_expand(char **out, char **masked, const char *text, struct wh_error *err);

#endif
