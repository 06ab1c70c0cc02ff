/*
 * kind.h: what the shipped plugins (whrun-kind-*.c) share: reading the
 * request on stdin and printing the one-line result (the protocol is in
 * whrun-kind.7.md). Header-only: each plugin is one executable.
 */
#ifndef WH_KIND_H
#define WH_KIND_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define KIND_INPUT_MAX (64u * 1024 * 1024)

/* Prints {"status", "code", "detail"} on stdout; returns 0 (the exit
 * status: the result says what happened). */
static int kind_result(const char *status, long code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int kind_result(const char *status, long code, const char *fmt, ...)
{
	char detail[2048];
	va_list ap;
	json_t *out;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	out = json_pack("{s:s, s:I, s:s}", "status", status, "code", (json_int_t)code, "detail",
			detail);
	if (!out || json_dumpf(out, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		json_decref(out);
		return 1;
	}
	json_decref(out);
	return 0;
}

/* The request on stdin, parsed (NULL with a message on stderr when it is
 * not a JSON object). */
static json_t *kind_read_request(void)
{
	json_error_t jerr;
	json_t *req = json_loadf(stdin, 0, &jerr);

	if (!req || !json_is_object(req)) {
		fprintf(stderr, "no JSON request on stdin: %s\n",
			req ? "not an object" : jerr.text);
		json_decref(req);
		return NULL;
	}
	return req;
}

/* A string field of the request's target, or NULL. */
static const char *kind_target_string(const json_t *req, const char *name)
{
	return json_string_value(json_object_get(json_object_get(req, "target"), name));
}

/* The whole main() of a plugin: "describe" prints schema, "deliver" runs
 * deliver(); anything else is a usage error (exit 2). */
static int kind_main(int argc, char **argv, const char *name, const char *schema,
		     int (*deliver)(void))
{
	if (argc == 2 && strcmp(argv[1], "describe") == 0)
		return fputs(schema, stdout) == EOF || fflush(stdout) != 0;
	if (argc == 2 && strcmp(argv[1], "deliver") == 0)
		return deliver();
	fprintf(stderr, "usage: %s describe|deliver (run by whrun)\n", name);
	return 2;
}

#endif
