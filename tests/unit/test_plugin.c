/*
 * test_plugin: one plugin process from start to result (data-driven: a
 * shell script body -> the outcome and what the error says), the caps on
 * stdout and stderr, the timeout kill, the child's environment, and the
 * stdin request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "check.h"
#include "plugin.h"
#include "util.h"

static char dir[] = "/tmp/whrun-test-plugin.XXXXXX";

/* Writes a plugin whose deliver runs body; returns its path (static). */
static const char *script(const char *body)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/whrun-kind-t", dir);
	unlink(path);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static int run(struct wh_plugin_result *res, struct wh_plugin_proc **proc, const char *body,
	       long timeout_ms)
{
	struct wh_error err = WH_ERROR_INIT;
	int finished;

	if (wh_plugin_proc_start(proc, script(body), "deliver", NULL, "{\"x\":1}", 7, 1024, &err) <
	    0) {
		fprintf(stderr, "start: %s\n", err.message);
		return -1;
	}
	finished = wh_plugin_proc_wait(*proc, timeout_ms);
	return wh_plugin_proc_result(res, *proc, !finished, timeout_ms, 0);
}

static const struct {
	const char *body;
	enum wh_outcome outcome;
	const char *error_has;
} cases[] = {
    {"cat >/dev/null; echo '{\"status\": \"delivered\"}'", WH_OUTCOME_DELIVERED, ""},
    {"read x; [ \"$x\" = '{\"x\":1}' ] && echo '{\"status\": \"delivered\"}'", WH_OUTCOME_DELIVERED,
     ""},
    {"echo '{\"status\": \"retry\", \"code\": 503, \"detail\": \"busy\"}'", WH_OUTCOME_RETRY,
     "plugin: retry (code 503): busy"},
    {"echo '{\"status\": \"failed\", \"code\": \"E_AUTH\"}'", WH_OUTCOME_FAILED,
     "plugin: failed (code E_AUTH)"},
    {"echo '{\"status\": \"gone\"}'", WH_OUTCOME_GONE, "plugin: gone"},
    {"echo '{\"status\": \"maybe\"}'", WH_OUTCOME_RETRY, "unknown status 'maybe'"},
    {"echo '[1, 2]'", WH_OUTCOME_RETRY, "not a JSON object"},
    {"echo '{\"code\": 1}'", WH_OUTCOME_RETRY, "no \"status\" string"},
    {"true", WH_OUTCOME_RETRY, "no output"},
    {"echo '{\"status\": \"delivered\"}'; exit 3", WH_OUTCOME_RETRY, "exited with status 3"},
    {"kill -TERM $$", WH_OUTCOME_RETRY, "killed by signal 15"},
    {"head -c 5000 /dev/zero | tr '\\0' a", WH_OUTCOME_RETRY, "more than 1024 bytes on stdout"},
    {"printf 'bad \\001\\377 bytes' >&2; echo '{\"status\": \"delivered\"}'", WH_OUTCOME_DELIVERED,
     "stderr: bad ?? bytes"},
    {"head -c 100000 /dev/zero | tr '\\0' e >&2; echo '{\"status\": \"failed\"}'",
     WH_OUTCOME_FAILED, "more bytes of stderr dropped"},
};

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	for (size_t i = 0; i < WH_ARRAY_SIZE(cases); i++) {
		struct wh_plugin_result res;
		struct wh_plugin_proc *proc = NULL;
		char what[128];

		memset(&res, 0, sizeof(res));
		snprintf(what, sizeof(what), "case %zu outcome", i);
		CHECK(what, run(&res, &proc, cases[i].body, 5000) == 0);
		CHECK(what, res.outcome == cases[i].outcome);
		snprintf(what, sizeof(what), "case %zu error", i);
		CHECK(what, res.error && strstr(res.error, cases[i].error_has));
		if (!res.error || !strstr(res.error, cases[i].error_has))
			fprintf(stderr, "  error: %s\n", res.error ? res.error : "(null)");
		CHECK(what, !cases[i].error_has[0] == !(res.error && res.error[0]));
		wh_plugin_result_release(&res);
		wh_plugin_proc_free(proc);
	}

	/* a plugin that hangs is killed at its timeout */
	{
		struct wh_plugin_result res;
		struct wh_plugin_proc *proc = NULL;

		memset(&res, 0, sizeof(res));
		CHECK("hang runs", run(&res, &proc, "sleep 30", 200) == 0);
		CHECK("hang: retry", res.outcome == WH_OUTCOME_RETRY);
		CHECK("hang: says killed", res.error && strstr(res.error, "within 200 ms; killed"));
		wh_plugin_result_release(&res);
		wh_plugin_proc_free(proc);
	}

	/* the environment leaves out referenced variables and anything not meant
	 * for plugins; WHRUN_PLUGIN_* and the basics pass */
	{
		struct wh_hook hook;
		const struct wh_hook *hooks[1] = {&hook};
		char *secrets[1] = {"${env:WH_TEST_SECRET}"};
		char **env;
		int has_secret = 0, has_other = 0, has_plugin_var = 0;

		setenv("WH_TEST_SECRET", "s3cret", 1);
		setenv("WH_TEST_OTHER", "not-for-plugins", 1);
		setenv("WHRUN_PLUGIN_TEST", "kept", 1);
		memset(&hook, 0, sizeof(hook));
		hook.secrets[0] = secrets[0];
		hook.nsecrets = 1;
		hook.definition =
		    json_pack("{s:[{s:s}]}", "targets", "token", "x ${env:WH_TEST_TOKEN}");
		setenv("WH_TEST_TOKEN", "t0ken", 1);
		env = wh_plugin_child_env(hooks, 1);
		CHECK("env built", env != NULL);
		for (char **e = env; e && *e; e++) {
			has_secret |= strstr(*e, "s3cret") || strstr(*e, "t0ken");
			has_other |= strncmp(*e, "WH_TEST_OTHER=", 14) == 0;
			has_plugin_var |= strcmp(*e, "WHRUN_PLUGIN_TEST=kept") == 0;
		}
		CHECK("referenced variables left out", !has_secret);
		CHECK("variables not meant for plugins left out", !has_other);
		CHECK("WHRUN_PLUGIN_ variables kept", has_plugin_var);
		wh_plugin_env_free(env);
		json_decref(hook.definition);
	}

	/* resolved fields and the request */
	{
		struct wh_error err = WH_ERROR_INIT;
		json_t *fields =
		    json_pack("{s:s, s:[s], s:i}", "url", "spool://${env:WH_TEST_TOKEN}", "list",
			      "${env:WH_TEST_SECRET}", "n", 3);
		json_t *resolved = NULL, *req;
		struct wh_plugin_request pr;
		struct wh_hook hook;
		const char *secrets[1] = {"s3cret"};
		char *text = NULL;
		size_t len = 0;

		CHECK("resolve", wh_plugin_resolve_fields(&resolved, fields, &err) == 0);
		CHECK_STR("resolved url", json_string_value(json_object_get(resolved, "url")),
			  "spool://t0ken");
		CHECK_STR("the written fields are untouched",
			  json_string_value(json_object_get(fields, "url")),
			  "spool://${env:WH_TEST_TOKEN}");
		memset(&hook, 0, sizeof(hook));
		hook.name = "h";
		hook.kind_name = "t";
		hook.file = "hooks/a.yaml";
		memset(&pr, 0, sizeof(pr));
		pr.hook = &hook;
		pr.message_id = "msg_1";
		pr.type = "clusters_deployed";
		pr.commit = "abc";
		pr.body = "{\"id\":\"msg_1\"}";
		pr.body_len = strlen(pr.body);
		pr.target = resolved;
		pr.secrets = secrets;
		pr.nsecrets = 1;
		pr.attempt = 2;
		pr.max_attempts = 3;
		pr.deadline = 1700000000.5;
		CHECK("request", wh_plugin_request_build(&text, &len, &pr, &err) == 0);
		req = text ? json_loadb(text, len, 0, NULL) : NULL;
		CHECK("request is JSON", req != NULL);
		CHECK("attempt", json_integer_value(json_object_get(req, "attempt")) == 2);
		CHECK_STR("message parsed",
			  json_string_value(json_object_get(json_object_get(req, "message"), "id")),
			  "msg_1");
		CHECK_STR("secret",
			  json_string_value(json_array_get(json_object_get(req, "secrets"), 0)),
			  "s3cret");
		CHECK_STR("target kept for the next attempt",
			  json_string_value(json_object_get(resolved, "url")), "spool://t0ken");
		CHECK("deadline_ms",
		      json_integer_value(json_object_get(req, "deadline_ms")) == 1700000000500LL);
		json_decref(req);
		free(text);
		wh_plugin_json_free_secret(resolved);
		json_decref(fields);
	}

	script("true");
	{
		char path[300];
		snprintf(path, sizeof(path), "%s/whrun-kind-t", dir);
		unlink(path);
		rmdir(dir);
	}
	wh_plugin_cache_clear();
	return check_done();
}
