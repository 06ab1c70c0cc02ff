/*
 * cli: option parsing, per-command help, dispatch and exit codes.
 *
 * Options may appear anywhere on the line (`whrun --repo R list` equals
 * `whrun list --repo R`); each command accepts the common options plus its
 * own, and an option it does not take is a usage error (exit 2) rather than
 * silently ignored. `--` ends the options.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plugin.h"
#include "util.h"
#include "banned.h"

enum option_id {
	OPT_REPO,
	OPT_REF,
	OPT_STATE,
	OPT_OUTPUT,
	OPT_DRY_RUN,
	OPT_MAX_TIME,
	OPT_HELP,
	OPT_STAGE,
	OPT_PAYLOAD,
	OPT_DATA,
	OPT_CONCURRENCY,
	OPT_ALLOW_NET,
	OPT_HOOK,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_COUNT,
	OPT_ALL,
	OPT_WATCH,
	OPT_SCHEMA,
	OPT_INSTANCE,
	OPT_NDJSON,
	OPT_REMOTE,
	OPT__COUNT
};

#define BIT(o) (1u << (o))
#define COMMON                                                                                     \
	(BIT(OPT_REPO) | BIT(OPT_REF) | BIT(OPT_STATE) | BIT(OPT_OUTPUT) | BIT(OPT_DRY_RUN) |      \
	 BIT(OPT_MAX_TIME) | BIT(OPT_HELP))

struct option_def {
	enum option_id id;
	const char *name; /* long name without "--" */
	char short_name;  /* 0 when none */
	int takes_value;
	const char *value_name;
	const char *help;
};

static const struct option_def option_defs[] = {
    {OPT_REPO, "repo", 0, 1, "PATH", "config repository (env WHRUN_REPO, default .)"},
    {OPT_REF, "ref", 0, 1, "REF", "Git ref to read definitions at (env WHRUN_REF, default HEAD)"},
    {OPT_STATE, "state", 0, 1, "DIR",
     "state directory holding journal.db (env WHRUN_STATE_DIR, default "
     "$XDG_STATE_HOME/whrun)"},
    {OPT_OUTPUT, "output", 0, 1, "FORMAT", "text or json (diff: markdown or json)"},
    {OPT_DRY_RUN, "dry-run", 0, 0, NULL, "print what would be sent; send nothing"},
    {OPT_MAX_TIME, "max-time", 0, 1, "SECONDS", "overall time limit"},
    {OPT_HELP, "help", 'h', 0, NULL, "show this help"},
    {OPT_STAGE, "stage", 0, 1, "STAGE", "lifecycle stage to deliver"},
    {OPT_PAYLOAD, "payload", 0, 1, "FILE", "payload file, or - for stdin"},
    {OPT_DATA, "data", 0, 1, "JSON", "payload given inline"},
    {OPT_CONCURRENCY, "concurrency", 0, 1, "N", "deliveries in flight at once (default 64)"},
    {OPT_ALLOW_NET, "allow-net", 0, 1, "CIDR", "allow a refused address range (repeatable)"},
    {OPT_HOOK, "hook", 0, 1, "HOOK", "only this hook"},
    {OPT_STATUS, "status", 0, 1, "STATUS", "pending, delivered, failed or gone"},
    {OPT_LIMIT, "limit", 0, 1, "N", "at most N rows"},
    {OPT_COUNT, NULL, 'n', 1, "N", "at most N commits"},
    {OPT_ALL, "all", 0, 0, NULL, "every pending delivery, due or not"},
    {OPT_WATCH, "watch", 0, 0, NULL, "stay and deliver as deliveries come due"},
    {OPT_SCHEMA, "schema", 0, 1, "FILE", "JSON Schema file"},
    {OPT_INSTANCE, "instance", 0, 1, "FILE", "one JSON instance"},
    {OPT_NDJSON, "ndjson", 0, 1, "FILE", "one JSON instance per line"},
    {OPT_REMOTE, "remote", 0, 1, "PREFIX=DIR", "serve $refs under PREFIX from DIR (repeatable)"},
};

struct command_def {
	const char *name;
	const char *usage;
	const char *summary;
	unsigned options;
	int min_args, max_args;
	int (*run)(const struct wh_options *opts, struct wh_error *err);
};

static const struct command_def commands[] = {
    {"run", "whrun --stage STAGE [--payload FILE|-|--data JSON] [options]",
     "validate the payload, sign it and deliver it to every matching hook",
     COMMON | BIT(OPT_STAGE) | BIT(OPT_PAYLOAD) | BIT(OPT_DATA) | BIT(OPT_CONCURRENCY) |
	 BIT(OPT_ALLOW_NET),
     0, 0, wh_cmd_run},
    {"validate", "whrun validate [--ref REF]",
     "check every definition and schema at the ref (exit 3 on errors)", COMMON, 0, 0,
     wh_cmd_validate},
    {"list", "whrun list [--stage STAGE]", "hooks at the ref, with events and targets",
     COMMON | BIT(OPT_STAGE), 0, 0, wh_cmd_list},
    {"diff", "whrun diff A..B [--output markdown|json]",
     "hooks added, removed and changed between two refs", COMMON, 1, 1, wh_cmd_diff},
    {"log", "whrun log [--hook HOOK] [-n N] [--ref REF]",
     "commits that changed definitions: author, date, what changed per hook",
     COMMON | BIT(OPT_HOOK) | BIT(OPT_COUNT), 0, 0, wh_cmd_log},
    {"deliveries", "whrun deliveries [--hook H] [--stage S] [--status S] [--limit N]",
     "the journal, newest first",
     COMMON | BIT(OPT_HOOK) | BIT(OPT_STAGE) | BIT(OPT_STATUS) | BIT(OPT_LIMIT), 0, 0,
     wh_cmd_deliveries},
    {"show", "whrun show ID", "one delivery: the request as sent and every attempt", COMMON, 1, 1,
     wh_cmd_show},
    {"resend", "whrun resend ID",
     "deliver a message again (same webhook-id, fresh timestamp and signature)",
     COMMON | BIT(OPT_ALLOW_NET), 1, 1, wh_cmd_resend},
    {"retry", "whrun retry [--all] [--hook H] [--limit N] [--watch]",
     "deliver what is due in the outbox",
     COMMON | BIT(OPT_ALL) | BIT(OPT_HOOK) | BIT(OPT_LIMIT) | BIT(OPT_WATCH) |
	 BIT(OPT_CONCURRENCY) | BIT(OPT_ALLOW_NET),
     0, 0, wh_cmd_retry},
    {"ping", "whrun ping HOOK", "send a ping message to every target of a hook",
     COMMON | BIT(OPT_ALLOW_NET), 1, 1, wh_cmd_ping},
    {"schema", "whrun schema validate --schema FILE (--instance FILE | --ndjson FILE)",
     "validate JSON instances against a JSON Schema (draft 2020-12 or draft-07)",
     COMMON | BIT(OPT_SCHEMA) | BIT(OPT_INSTANCE) | BIT(OPT_NDJSON) | BIT(OPT_REMOTE), 1, 1,
     wh_cmd_schema},
    {"plugins", "whrun plugins",
     "plugin kinds found (whrun-kind-NAME on $WHRUN_PLUGIN_PATH, --exec-path, $PATH)", COMMON, 0, 0,
     wh_cmd_plugins},
};

static const struct command_def *find_command(const char *name)
{
	for (size_t i = 0; i < WH_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const struct option_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < WH_ARRAY_SIZE(option_defs); i++) {
		const char *n = option_defs[i].name;
		if (n && strlen(n) == len && strncmp(n, name, len) == 0)
			return &option_defs[i];
	}
	return NULL;
}

static const struct option_def *find_short(char c)
{
	for (size_t i = 0; i < WH_ARRAY_SIZE(option_defs); i++)
		if (option_defs[i].short_name == c)
			return &option_defs[i];
	return NULL;
}

/* name is the option as written: "--limit", "-n". */
static int parse_long(long *out, const char *value, const char *name, long min,
		      struct wh_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min)
		return wh_error_set(err, WH_EUSAGE, "%s expects a whole number >= %ld, not '%s'",
				    name, min, value);
	*out = v;
	return 0;
}

static int set_option(struct wh_options *opts, unsigned *seen, const struct option_def *def,
		      const char *value, struct wh_error *err)
{
	char name[64];
	long n = 0;
	char *end;
	int error = 0;

	if (def->name)
		snprintf(name, sizeof(name), "--%s", def->name);
	else
		snprintf(name, sizeof(name), "-%c", def->short_name);
	*seen |= BIT(def->id);
	switch (def->id) {
	case OPT_REPO:
		opts->repo = value;
		break;
	case OPT_REF:
		opts->ref = value;
		break;
	case OPT_STATE:
		opts->state_dir = value;
		break;
	case OPT_OUTPUT:
		opts->output_given = 1;
		if (strcmp(value, "text") == 0)
			opts->output = WH_OUTPUT_TEXT;
		else if (strcmp(value, "json") == 0)
			opts->output = WH_OUTPUT_JSON;
		else if (strcmp(value, "markdown") == 0)
			opts->output = WH_OUTPUT_MARKDOWN;
		else
			error = wh_error_set(err, WH_EUSAGE,
					     "--output expects text, json or markdown, not '%s'",
					     value);
		break;
	case OPT_DRY_RUN:
		opts->dry_run = 1;
		break;
	case OPT_MAX_TIME:
		errno = 0;
		opts->max_time = strtod(value, &end);
		if (errno || end == value || *end || !(opts->max_time > 0) ||
		    opts->max_time > 86400.0 * 365)
			error = wh_error_set(err, WH_EUSAGE,
					     "--max-time expects a positive number of seconds, "
					     "not '%s'",
					     value);
		break;
	case OPT_HELP:
		break;
	case OPT_STAGE:
		opts->stage = value;
		break;
	case OPT_PAYLOAD:
		opts->payload = value;
		break;
	case OPT_DATA:
		opts->data = value;
		break;
	case OPT_CONCURRENCY:
		if (!(error = parse_long(&n, value, name, 1, err))) {
			if (n > 10000)
				error =
				    wh_error_set(err, WH_EUSAGE, "--concurrency is at most 10000");
			opts->concurrency = (int)n;
		}
		break;
	case OPT_ALLOW_NET:
		if (opts->nallow_net == WH_MAX_LIST_OPTION)
			return wh_error_set(err, WH_EUSAGE, "too many --allow-net options");
		opts->allow_net[opts->nallow_net++] = value;
		break;
	case OPT_HOOK:
		opts->hook = value;
		break;
	case OPT_STATUS:
		opts->status = value;
		break;
	case OPT_LIMIT:
		error = parse_long(&opts->limit, value, name, 1, err);
		break;
	case OPT_COUNT:
		error = parse_long(&opts->count, value, name, 1, err);
		break;
	case OPT_ALL:
		opts->all = 1;
		break;
	case OPT_WATCH:
		opts->watch = 1;
		break;
	case OPT_SCHEMA:
		opts->schema = value;
		break;
	case OPT_INSTANCE:
		opts->instance = value;
		break;
	case OPT_NDJSON:
		opts->ndjson = value;
		break;
	case OPT_REMOTE:
		if (opts->nremote == WH_MAX_LIST_OPTION)
			return wh_error_set(err, WH_EUSAGE, "too many --remote options");
		if (!strchr(value, '='))
			return wh_error_set(err, WH_EUSAGE,
					    "--remote expects URI_PREFIX=DIR, not '%s'", value);
		opts->remote[opts->nremote++] = value;
		break;
	case OPT__COUNT:
		break;
	}
	return error;
}

static void defaults_from_env(struct wh_options *opts)
{
	const char *v;

	if ((v = getenv("WHRUN_REPO")) && *v)
		opts->repo = v;
	if ((v = getenv("WHRUN_REF")) && *v)
		opts->ref = v;
	if ((v = getenv("WHRUN_STATE_DIR")) && *v)
		opts->state_dir = v;
}

int wh_cli_parse(struct wh_options *opts, int *help, int argc, char **argv, struct wh_error *err)
{
	const char *words[16];
	size_t nwords = 0;
	unsigned seen = 0;
	int only_words = 0;
	const struct command_def *cmd;

	memset(opts, 0, sizeof(*opts));
	opts->repo = ".";
	opts->ref = "HEAD";
	opts->limit = -1;
	opts->count = -1;
	opts->concurrency = 64;
	defaults_from_env(opts);
	*help = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct option_def *def = NULL;
		const char *value = NULL;

		if (only_words || arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (nwords == WH_ARRAY_SIZE(words))
				return wh_error_set(err, WH_EUSAGE, "too many arguments");
			words[nwords++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_words = 1;
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			def = find_long(arg + 2, len);
			if (!def)
				return wh_error_set(err, WH_EUSAGE, "unknown option '%s'", arg);
			if (eq) {
				if (!def->takes_value)
					return wh_error_set(err, WH_EUSAGE,
							    "option '--%s' takes no value",
							    def->name);
				value = eq + 1;
			}
		} else {
			def = find_short(arg[1]);
			if (!def)
				return wh_error_set(err, WH_EUSAGE, "unknown option '%s'", arg);
			if (arg[2]) {
				if (!def->takes_value)
					return wh_error_set(err, WH_EUSAGE, "unknown option '%s'",
							    arg);
				value = arg + 2;
			}
		}
		if (def->takes_value && !value) {
			if (i + 1 >= argc)
				return wh_error_set(err, WH_EUSAGE, "option '%s' needs a value %s",
						    arg, def->value_name);
			value = argv[++i];
		}
		if (def->id == OPT_HELP)
			*help = 1;
		if (set_option(opts, &seen, def, value, err) < 0)
			return err->code;
	}

	if (nwords == 0) {
		if (*help && !(seen & BIT(OPT_STAGE)))
			return 0;
		if (!(seen & BIT(OPT_STAGE)))
			return wh_error_set(err, WH_EUSAGE, "no command given; try 'whrun --help'");
		opts->command = "run";
	} else {
		opts->command = words[0];
		for (size_t i = 1; i < nwords; i++) {
			if (opts->nargs == WH_ARRAY_SIZE(opts->args))
				return wh_error_set(err, WH_EUSAGE, "too many arguments");
			opts->args[opts->nargs++] = words[i];
		}
	}

	cmd = find_command(opts->command);
	if (!cmd || (strcmp(cmd->name, "run") == 0 && nwords))
		return wh_error_set(err, WH_EUSAGE,
				    "'%s' is not a whrun command; try 'whrun --help'",
				    opts->command);
	if (*help)
		return 0;
	for (int id = 0; id < OPT__COUNT; id++) {
		if ((seen & BIT(id)) && !(cmd->options & BIT(id))) {
			const struct option_def *def = NULL;
			for (size_t k = 0; k < WH_ARRAY_SIZE(option_defs); k++)
				if ((int)option_defs[k].id == id)
					def = &option_defs[k];
			if (def->name)
				return wh_error_set(err, WH_EUSAGE,
						    "'whrun %s' does not take --%s; try 'whrun %s "
						    "--help'",
						    cmd->name, def->name, cmd->name);
			return wh_error_set(err, WH_EUSAGE, "'whrun %s' does not take -%c",
					    cmd->name, def->short_name);
		}
	}
	if (opts->output == WH_OUTPUT_MARKDOWN && strcmp(cmd->name, "diff") != 0)
		return wh_error_set(err, WH_EUSAGE, "--output markdown is for 'whrun diff' only");
	if ((int)opts->nargs < cmd->min_args || (int)opts->nargs > cmd->max_args)
		return wh_error_set(err, WH_EUSAGE, "usage: %s", cmd->usage);
	return 0;
}

static void print_options(FILE *out, unsigned mask)
{
	for (size_t i = 0; i < WH_ARRAY_SIZE(option_defs); i++) {
		const struct option_def *d = &option_defs[i];
		char left[64];

		if (!(mask & BIT(d->id)))
			continue;
		if (d->name)
			snprintf(left, sizeof(left), "--%s%s%s", d->name, d->takes_value ? " " : "",
				 d->takes_value ? d->value_name : "");
		else
			snprintf(left, sizeof(left), "-%c %s", d->short_name, d->value_name);
		fprintf(out, "  %-24s %s\n", left, d->help);
	}
}

static void print_help(FILE *out, const struct command_def *cmd)
{
	if (cmd) {
		fprintf(out, "usage: %s\n\n%s\n\noptions:\n", cmd->usage, cmd->summary);
		print_options(out, cmd->options);
		if (strcmp(cmd->name, "run") == 0)
			fprintf(out, "\nexit codes: 0 delivered (or nothing matched), 1 a required "
				     "delivery failed or is pending,\n2 usage, 3 config error, 4 "
				     "payload rejected (nothing sent)\n");
		return;
	}
	fprintf(out, "usage: whrun [--repo PATH] [--ref REF] [--state DIR] <command> [options]\n"
		     "       whrun --stage STAGE [--payload FILE|-|--data JSON]\n\n"
		     "Webhooks for deploy controllers: definitions read from Git, payloads\n"
		     "validated, signed, delivered and journaled.\n\ncommands:\n");
	for (size_t i = 0; i < WH_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\ncommon options:\n");
	print_options(out, COMMON);
	fprintf(out, "  %-24s %s\n", "--version", "print the version");
	fprintf(out, "  %-24s %s\n", "--exec-path", "print the directory of the shipped plugins");
	fprintf(out, "\n'whrun COMMAND --help' tells more about each command.\n");
}

void wh_cli_print_error(const struct wh_error *err)
{
	char line[WH_ERROR_MESSAGE_MAX + WH_ERROR_PATH_MAX + 64];

	wh_error_format(err, line, sizeof(line));
	fprintf(stderr, "whrun: %s%s\n", err->code == WH_EINTERNAL ? "internal error: " : "", line);
}

/* Commands that check opts->stop (see struct wh_stop). */
static int honours_stop(const char *command)
{
	static const char *const names[] = {"run", "retry", "resend", "ping"};
	for (size_t i = 0; i < WH_ARRAY_SIZE(names); i++)
		if (strcmp(names[i], command) == 0)
			return 1;
	return 0;
}

int wh_cli_main(int argc, char **argv, struct wh_stop *stop)
{
	struct wh_options opts;
	struct wh_error err = WH_ERROR_INIT;
	int help = 0, error;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--version") == 0) {
			printf("whrun %s\n", WHRUN_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--exec-path") == 0) {
			printf("%s\n", wh_plugin_libexec_dir());
			return 0;
		}
	}

	error = wh_cli_parse(&opts, &help, argc, argv, &err);
	if (error < 0) {
		wh_cli_print_error(&err);
		return 2;
	}
	if (help) {
		print_help(stdout, opts.command ? find_command(opts.command) : NULL);
		return 0;
	}

	if (stop && honours_stop(opts.command)) {
		opts.stop = stop;
		stop->honoured = 1;
	}
	error = find_command(opts.command)->run(&opts, &err);
	if (error < 0 && err.message[0])
		wh_cli_print_error(&err);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "whrun: error writing to standard output\n");
		return error < 0 ? wh_error_exit_code(error) : 3;
	}
	return wh_error_exit_code(error);
}
