/*
 * commands: one function per whrun command (runner/cmd_*.c). Each takes the
 * parsed options, prints its results on stdout (text or json per
 * opts->output), and returns 0 or a negative wh_error_code with err set.
 * A command may print warnings on stderr; the CLI prints the error it
 * returns and picks the exit code.
 */
#ifndef WH_COMMANDS_H
#define WH_COMMANDS_H

#include <jansson.h>

#include "cli.h"
#include "error.h"

int wh_cmd_run(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_validate(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_list(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_diff(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_log(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_deliveries(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_show(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_resend(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_retry(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_ping(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_schema(const struct wh_options *opts, struct wh_error *err);
int wh_cmd_plugins(const struct wh_options *opts, struct wh_error *err);

/* Prints every finding on stderr as "path:line:col: error: message". */
void wh_print_diags(const struct wh_diags *diags);

/* The findings as a JSON array of {severity, path, line, column, message}
 * (new reference; NULL when out of memory). */
json_t *wh_diags_to_json(const struct wh_diags *diags, int severity);

/* Prints value on stdout as indented JSON and a newline; consumes value. */
int wh_print_json(json_t *value, struct wh_error *err);

#endif
