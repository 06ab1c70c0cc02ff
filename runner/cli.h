/*
 * cli: the command line. Parses options (which may stand before or after the
 * command, SPEC section 6), dispatches to the command, prints results and
 * errors, and alone decides the exit code (SPEC section 7). Commands live in
 * runner/cmd_*.c and receive the parsed options; they print their results on
 * stdout and hand errors back as struct wh_error values.
 */
#ifndef WH_CLI_H
#define WH_CLI_H

#include <signal.h>
#include <stddef.h>

#include "error.h"

enum wh_output { WH_OUTPUT_TEXT, WH_OUTPUT_JSON, WH_OUTPUT_MARKDOWN };

/*
 * A stop request, owned by main and set by its SIGINT/SIGTERM handler.
 * The CLI sets `honoured` while a command that checks `requested` runs
 * (those that deliver: the main job, retry, resend, ping); they then stop
 * starting work, let what is in flight finish and record it, and give the
 * rest back to the outbox. Otherwise the signal keeps its default action.
 */
struct wh_stop {
	volatile sig_atomic_t requested;
	volatile sig_atomic_t honoured;
};

#define WH_MAX_LIST_OPTION 32

struct wh_options {
	const char *command; /* "run" for `whrun --stage S` */
	const char *args[8]; /* positional words after the command */
	size_t nargs;

	const char *repo;      /* --repo, $WHRUN_REPO, "." */
	const char *ref;       /* --ref, $WHRUN_REF, "HEAD" */
	const char *state_dir; /* --state, $WHRUN_STATE_DIR, $XDG_STATE_HOME/whrun */
	enum wh_output output;
	int output_given;
	int dry_run;
	double max_time; /* seconds; 0 = unlimited */

	const char *stage;
	const char *payload; /* a path or "-" */
	const char *data;    /* a JSON text */
	int concurrency;
	const char *allow_net[WH_MAX_LIST_OPTION];
	size_t nallow_net;

	const char *hook;
	const char *status;
	long limit; /* -1 when not given */
	long count; /* -n; -1 when not given */
	int all;
	int watch;

	const char *schema;
	const char *instance;
	const char *ndjson;
	const char *remote[WH_MAX_LIST_OPTION]; /* "URI_PREFIX=DIR" */
	size_t nremote;

	struct wh_stop *stop; /* main's; NULL when nothing can ask for a stop */
};

/* Parses argv into opts (which borrows argv's strings). On a usage error
 * returns WH_EUSAGE with err set. Sets *help when --help was asked. */
int wh_cli_parse(struct wh_options *opts, int *help, int argc, char **argv, struct wh_error *err);

/* Runs whrun with these arguments and returns the process exit code.
 * stop (may be NULL) is main's stop request (see struct wh_stop). */
int wh_cli_main(int argc, char **argv, struct wh_stop *stop);

/* Prints err on stderr as "whrun: path:line:col: message". */
void wh_cli_print_error(const struct wh_error *err);

#endif
