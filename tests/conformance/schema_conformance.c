/*
 * schema_conformance: runs the official JSON-Schema-Test-Suite through the
 * validator, in place. Usage:
 *
 *   schema_conformance DEFAULT_SUITE_DIR KNOWN_FAILURES [-v] [FILTER]
 *
 * The suite is $JSON_SCHEMA_TEST_SUITE when set, else DEFAULT_SUITE_DIR; it
 * holds tests/<draft>/ (json files) and remotes/, which are served as
 * http://localhost:1234/<path> through a --remote style mapping (no network).
 * For draft2020-12 and draft7 it reports the required tests (tests/<draft>/
 * *.json) and the optional ones (optional/, optional/format/) separately.
 * A required test that fails and is not listed in KNOWN_FAILURES fails the
 * run; a listed test that passes is reported as such. Optional tests never
 * fail the run. A missing suite exits 77 (ctest SKIP). -v prints every
 * failure; FILTER keeps only files whose path contains it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"
#include "util.h"

struct known {
	char **keys; /* "draft/file | case | test" */
	int *seen;
	size_t count;
};

struct tally {
	size_t passed, failed, known_failed, unexpected_passes;
};

static int verbose;
static const char *filter;

static int load_known(struct known *k, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	memset(k, 0, sizeof(*k));
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *bar;
		int bars = 0;

		if (*p == '#' || *p == '\n')
			continue;
		/* keep the first three fields, drop the reason */
		for (bar = p; *bar; bar++)
			if (*bar == '|' && ++bars == 3)
				break;
		while (bar > p && bar[-1] == ' ')
			bar--;
		*bar = '\0';
		k->keys = realloc(k->keys, (k->count + 1) * sizeof(*k->keys));
		k->seen = realloc(k->seen, (k->count + 1) * sizeof(*k->seen));
		k->keys[k->count] = strdup(p);
		k->seen[k->count++] = 0;
	}
	fclose(f);
	return 0;
}

static int known_index(const struct known *k, const char *key)
{
	for (size_t i = 0; i < k->count; i++)
		if (strcmp(k->keys[i], key) == 0)
			return (int)i;
	return -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.json files of dir (names only). */
static size_t list_json(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
			*out = realloc(*out, (n + 1) * sizeof(**out));
			(*out)[n++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(*out, n, sizeof(**out), cmp_names);
	return n;
}

static const char *dialect;

static void run_file(const char *path, const char *label, const char *remote_rule, int required,
		     struct known *known, struct tally *t)
{
	struct wh_error err = WH_ERROR_INIT;
	char *text = NULL;
	size_t len, ci;
	json_t *cases = NULL, *tc;

	if (filter && !strstr(path, filter))
		return;
	if (wh_read_file(&text, &len, path, 64u << 20, &err) ||
	    wh_schema_parse(&cases, text, len, path, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		t->failed++;
		free(text);
		return;
	}
	json_array_foreach(cases, ci, tc)
	{
		const char *cdesc = json_string_value(json_object_get(tc, "description"));
		json_t *tests = json_object_get(tc, "tests"), *test;
		struct wh_schema_config cfg = {"", &remote_rule, 1, 1, dialect};
		struct wh_schema *schema = NULL;
		struct wh_error cerr = WH_ERROR_INIT;
		struct wh_schema_issues issues = WH_SCHEMA_ISSUES_INIT;
		size_t ti;
		int compiled =
		    wh_schema_compile(&schema, json_object_get(tc, "schema"), &cfg, &issues, &cerr);

		json_array_foreach(tests, ti, test)
		{
			const char *tdesc = json_string_value(json_object_get(test, "description"));
			int want = json_is_true(json_object_get(test, "valid")), got = -1, ok, k;
			char key[2048];

			if (compiled == 0)
				got = wh_schema_validate(schema, json_object_get(test, "data"),
							 NULL) == 0;
			ok = got == want;
			snprintf(key, sizeof(key), "%s | %s | %s", label, cdesc ? cdesc : "",
				 tdesc ? tdesc : "");
			k = required ? known_index(known, key) : -1;
			if (k >= 0)
				known->seen[k] = 1;
			if (ok) {
				t->passed++;
				if (k >= 0) {
					t->unexpected_passes++;
					printf("NOW PASSING (remove from known failures): %s\n",
					       key);
				}
			} else {
				if (k >= 0)
					t->known_failed++;
				else
					t->failed++;
				if (verbose || (required && k < 0)) {
					printf("FAIL %s (want %s, got %s)\n", key,
					       want ? "valid" : "invalid",
					       got < 0 ? "schema error"
					       : got   ? "valid"
						       : "invalid");
					if (got < 0)
						printf("     %s\n", cerr.message);
					for (size_t i = 0; got < 0 && i < issues.count && i < 5;
					     i++)
						printf("     %s: %s\n",
						       issues.items[i].keyword_location,
						       issues.items[i].message);
				}
			}
		}
		wh_schema_issues_release(&issues);
		wh_schema_free(schema);
	}
	json_decref(cases);
	free(text);
}

static void run_dir(const char *suite, const char *draft, const char *sub, const char *rule,
		    int required, struct known *known, struct tally *t)
{
	char dir[4096], path[4200], label[512];
	char **names;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/tests/%s%s", suite, draft, sub);
	n = list_json(dir, &names);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(label, sizeof(label), "%s%s/%s", draft, sub, names[i]);
		run_file(path, label, rule, required, known, t);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	const char *env = getenv("JSON_SCHEMA_TEST_SUITE");
	const char *suite = env && *env ? env : argc > 1 ? argv[1] : NULL;
	const char *drafts[] = {"draft2020-12", "draft7"};
	struct known known;
	struct stat st;
	char rule[4200], probe[4200];
	int failed = 0;

	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else
			filter = argv[i];
	}
	if (!suite) {
		fprintf(stderr,
			"usage: schema_conformance SUITE_DIR KNOWN_FAILURES [-v] [FILTER]\n");
		return 2;
	}
	snprintf(probe, sizeof(probe), "%s/tests", suite);
	if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("SKIP: no JSON-Schema-Test-Suite at %s (set JSON_SCHEMA_TEST_SUITE)\n",
		       suite);
		return 77;
	}
	load_known(&known, argc > 2 ? argv[2] : "");
	snprintf(rule, sizeof(rule), "http://localhost:1234/=%s/remotes", suite);
	for (size_t d = 0; d < WH_ARRAY_SIZE(drafts); d++) {
		struct tally req = {0}, opt = {0}, fmt = {0};

		dialect = d == 0 ? NULL : "http://json-schema.org/draft-07/schema#";

		run_dir(suite, drafts[d], "", rule, 1, &known, &req);
		run_dir(suite, drafts[d], "/optional", rule, 0, &known, &opt);
		run_dir(suite, drafts[d], "/optional/format", rule, 0, &known, &fmt);
		printf("%s required: %zu/%zu passed, %zu known failures, %zu unexpected failures\n",
		       drafts[d], req.passed, req.passed + req.failed + req.known_failed,
		       req.known_failed, req.failed);
		printf("%s optional: %zu/%zu passed\n", drafts[d], opt.passed,
		       opt.passed + opt.failed);
		printf("%s optional/format (assertion, not required): %zu/%zu passed\n", drafts[d],
		       fmt.passed, fmt.passed + fmt.failed);
		failed |= req.failed != 0;
	}
	for (size_t i = 0; i < known.count; i++)
		if (!known.seen[i] && !filter)
			printf("known failure not found in the suite: %s\n", known.keys[i]);
	return failed ? 1 : 0;
}
