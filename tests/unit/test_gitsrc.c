/*
 * Unit tests for gitsrc, against real repositories that the `git` CLI
 * builds in a temporary directory (removed at the end).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "check.h"
#include "gitsrc.h"
#include "util.h"

static char tmp[256];

/* Runs a shell command built from fmt; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* The first line a shell command prints, without its newline. */
static void capture(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void capture(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return;
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

/* Commits everything in REPO with a fixed date N minutes after a base, so that
 * commit time order is well defined. */
static int commit_all(const char *repo, int n, const char *message)
{
	return sh("cd '%s' && git add -A && GIT_AUTHOR_DATE='%d +0000' GIT_COMMITTER_DATE='%d "
		  "+0000' git commit -q -m '%s'",
		  repo, 1600000000 + n * 60, 1600000000 + n * 60, message);
}

static int oid_is(const git_oid *id, const char *hex)
{
	char got[GIT_OID_HEXSZ + 1];

	git_oid_tostr(got, sizeof(got), id);
	if (strcmp(got, hex) == 0)
		return 1;
	fprintf(stderr, "  oid %s, want %s\n", got, hex);
	return 0;
}

static int has(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		return 1;
	fprintf(stderr, "  \"%s\" does not contain \"%s\"\n", haystack, needle);
	return 0;
}

/* The main fixture: a work tree with three commits on main and a branch.
 *   c1 (tag v1, lightweight): hooks/a.yaml v1, hooks/team/b.yml, hooks/a/b/c.yaml,
 *      hooks/notes.txt, hooks/x.json, hooks/link.yaml -> a.yaml (symlink),
 *      schemas/clusters_deployed.json, schemas/sub/nested.json, schemas/readme.md, README
 *   c2 (tag v2, annotated): hooks/a.yaml v2
 *   c3 (main, HEAD): README changed
 *   feature (from c1): hooks/f.yaml added */
static char repo[512], c1[64], c2[64], c3[64], c4[64];

static int build_main_repo(void)
{
	int rc = 0;

	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	rc |= sh("git init -q '%s' && mkdir -p '%s/hooks/team' '%s/hooks/a/b' '%s/schemas/sub'",
		 repo, repo, repo, repo);
	rc |= sh("cd '%s' && printf 'name: a v1\\n' >hooks/a.yaml && printf 'name: b\\n' "
		 ">hooks/team/b.yml && printf 'name: c\\n' >hooks/a/b/c.yaml && echo notes "
		 ">hooks/notes.txt && echo '{}' >hooks/x.json && ln -s a.yaml hooks/link.yaml && "
		 "echo '{\"type\":\"object\"}' >schemas/clusters_deployed.json && echo '{}' "
		 ">schemas/sub/nested.json && echo readme >schemas/readme.md && echo hello >README",
		 repo);
	rc |= commit_all(repo, 1, "c1");
	rc |= sh("cd '%s' && git tag v1", repo);
	rc |= sh("cd '%s' && printf 'name: a v2\\n' >hooks/a.yaml", repo);
	rc |= commit_all(repo, 2, "c2");
	rc |= sh("cd '%s' && git tag -a -m 'release 2' v2", repo);
	rc |= sh("cd '%s' && echo changed >README", repo);
	rc |= commit_all(repo, 3, "c3");
	rc |= sh("cd '%s' && git checkout -q -b feature v1 && echo 'name: f' >hooks/f.yaml", repo);
	rc |= commit_all(repo, 4, "c4");
	rc |= sh("cd '%s' && git checkout -q main", repo);
	capture(c1, sizeof(c1), "cd '%s' && git rev-parse v1", repo);
	capture(c2, sizeof(c2), "cd '%s' && git rev-parse 'v2^{commit}'", repo);
	capture(c3, sizeof(c3), "cd '%s' && git rev-parse main", repo);
	capture(c4, sizeof(c4), "cd '%s' && git rev-parse feature", repo);
	return rc;
}

static void test_open(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_gitsrc *src = NULL;
	char path[600], real[4096] = "";
	git_oid id;

	CHECK("open a work tree", wh_gitsrc_open(&src, repo, &err) == 0);
	if (src) {
		CHECK("realpath of the repo", realpath(repo, real) != NULL);
		CHECK_STR("path is the work tree top", wh_gitsrc_path(src), real);
		CHECK("repository is exposed", wh_gitsrc_repository(src) != NULL);
	}
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/hooks/team", repo);
	CHECK("open a subdirectory of the work tree", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("HEAD from a subdirectory", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("HEAD from a subdirectory is main", oid_is(&id, c3));
		CHECK_STR("path from a subdirectory is the top", wh_gitsrc_path(src), real);
	}
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/not-a-repo", tmp);
	CHECK("mkdir", sh("mkdir -p '%s'", path) == 0);
	CHECK("open a plain folder fails", wh_gitsrc_open(&src, path, &err) == WH_ECONFIG);
	CHECK("no object on failure", src == NULL);
	CHECK("message says not a repository", has(err.message, "not a Git repository: "));
	CHECK("message names the path", has(err.message, path));

	snprintf(path, sizeof(path), "%s/does/not/exist", tmp);
	CHECK("open a missing path fails", wh_gitsrc_open(&src, path, &err) == WH_ECONFIG);
	wh_gitsrc_free(NULL);
}

static void test_resolve(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_gitsrc *src = NULL;
	char shortsha[16];
	git_oid id;

	if (wh_gitsrc_open(&src, repo, &err) != 0) {
		CHECK("open for resolve", 0);
		return;
	}
	CHECK("HEAD", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0 && oid_is(&id, c3));
	CHECK("branch name", wh_gitsrc_resolve(&id, src, "main", &err) == 0 && oid_is(&id, c3));
	CHECK("other branch", wh_gitsrc_resolve(&id, src, "feature", &err) == 0 && oid_is(&id, c4));
	CHECK("full ref name",
	      wh_gitsrc_resolve(&id, src, "refs/heads/feature", &err) == 0 && oid_is(&id, c4));
	CHECK("lightweight tag", wh_gitsrc_resolve(&id, src, "v1", &err) == 0 && oid_is(&id, c1));
	CHECK("annotated tag is peeled to its commit",
	      wh_gitsrc_resolve(&id, src, "v2", &err) == 0 && oid_is(&id, c2));
	CHECK("HEAD~1", wh_gitsrc_resolve(&id, src, "HEAD~1", &err) == 0 && oid_is(&id, c2));
	CHECK("HEAD~2", wh_gitsrc_resolve(&id, src, "HEAD~2", &err) == 0 && oid_is(&id, c1));
	CHECK("full sha", wh_gitsrc_resolve(&id, src, c2, &err) == 0 && oid_is(&id, c2));
	wh_strlcpy(shortsha, c2, 8);
	CHECK("short sha", wh_gitsrc_resolve(&id, src, shortsha, &err) == 0 && oid_is(&id, c2));

	CHECK("missing ref fails", wh_gitsrc_resolve(&id, src, "nope", &err) == WH_ECONFIG);
	CHECK("missing ref: code in err", err.code == WH_ECONFIG);
	CHECK("missing ref: message names the ref", has(err.message, "ref 'nope' not found in "));
	CHECK("missing ref: message names the repo", has(err.message, wh_gitsrc_path(src)));
	CHECK("a short hex name is simply not found",
	      wh_gitsrc_resolve(&id, src, "abc", &err) == WH_ECONFIG &&
		  has(err.message, "ref 'abc' not found in "));
	CHECK("HEAD~9 beyond the root fails",
	      wh_gitsrc_resolve(&id, src, "HEAD~9", &err) == WH_ECONFIG &&
		  has(err.message, "'HEAD~9'"));
	CHECK("a tree is not a commit",
	      wh_gitsrc_resolve(&id, src, "HEAD:hooks", &err) == WH_ECONFIG &&
		  has(err.message, "names a tree, not a commit"));
	CHECK("a blob is not a commit",
	      wh_gitsrc_resolve(&id, src, "HEAD:README", &err) == WH_ECONFIG &&
		  has(err.message, "names a blob, not a commit"));
	CHECK("a range is not one revision",
	      wh_gitsrc_resolve(&id, src, "v1..v2", &err) == WH_ECONFIG &&
		  has(err.message, "'v1..v2'"));
	wh_gitsrc_free(src);
}

/* Writes blobs until two ids share their first 4 hex digits; returns that
 * prefix, which revparse cannot resolve to one object. */
static int make_ambiguous_prefix(git_repository *r, char prefix[5])
{
	static unsigned short seen[65536];
	char text[64];
	git_oid id;

	memset(seen, 0, sizeof(seen));
	for (int i = 1; i < 5000; i++) {
		char hex[GIT_OID_HEXSZ + 1];
		unsigned v;

		snprintf(text, sizeof(text), "blob %d\n", i);
		if (git_blob_create_from_buffer(&id, r, text, strlen(text)) < 0)
			return -1;
		git_oid_tostr(hex, sizeof(hex), &id);
		v = (unsigned)strtoul((char[5]){hex[0], hex[1], hex[2], hex[3], 0}, NULL, 16);
		if (seen[v]) {
			memcpy(prefix, hex, 4);
			prefix[4] = '\0';
			return 0;
		}
		seen[v] = 1;
	}
	return -1;
}

static void test_ambiguous(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_gitsrc *src = NULL;
	char prefix[5];
	git_oid id;

	if (wh_gitsrc_open(&src, repo, &err) != 0) {
		CHECK("open for ambiguity", 0);
		return;
	}
	CHECK("two objects share a prefix",
	      make_ambiguous_prefix(wh_gitsrc_repository(src), prefix) == 0);
	CHECK("ambiguous short sha fails",
	      wh_gitsrc_resolve(&id, src, prefix, &err) == WH_ECONFIG &&
		  has(err.message, "is ambiguous") && has(err.message, prefix));
	wh_gitsrc_free(src);
}

static void test_read(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_config_files files;
	struct wh_gitsrc *src = NULL;
	char hooks_tree[64], schemas_tree[64];
	git_oid id;

	if (wh_gitsrc_open(&src, repo, &err) != 0) {
		CHECK("open for read", 0);
		return;
	}
	capture(hooks_tree, sizeof(hooks_tree), "cd '%s' && git rev-parse v1:hooks", repo);
	capture(schemas_tree, sizeof(schemas_tree), "cd '%s' && git rev-parse v1:schemas", repo);

	CHECK("resolve v1", wh_gitsrc_resolve(&id, src, "v1", &err) == 0);
	CHECK("read v1", wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
	CHECK_STR("commit hex", files.commit_hex, c1);
	CHECK("commit oid", oid_is(&files.commit, c1));
	CHECK("hooks tree oid", oid_is(&files.hooks_tree, hooks_tree));
	CHECK("schemas tree oid", oid_is(&files.schemas_tree, schemas_tree));
	CHECK("three definitions (nested, .yml; no .txt, .json, symlink)", files.nhooks == 3);
	if (files.nhooks == 3) {
		CHECK_STR("sorted 1", files.hooks[0].path, "hooks/a.yaml");
		CHECK_STR("sorted 2 (nested)", files.hooks[1].path, "hooks/a/b/c.yaml");
		CHECK_STR("sorted 3 (.yml)", files.hooks[2].path, "hooks/team/b.yml");
		CHECK_STR("content at v1", files.hooks[0].data, "name: a v1\n");
		CHECK("size", files.hooks[0].size == strlen("name: a v1\n"));
		CHECK_STR("nested content", files.hooks[1].data, "name: c\n");
	}
	CHECK("one top-level schema", files.nschemas == 1);
	if (files.nschemas == 1) {
		CHECK_STR("schema path", files.schemas[0].path, "schemas/clusters_deployed.json");
		CHECK_STR("schema data", files.schemas[0].data, "{\"type\":\"object\"}\n");
	}
	CHECK("symlink skipped and reported", files.nskipped == 1);
	if (files.nskipped == 1) {
		CHECK_STR("skipped path", files.skipped[0].path, "hooks/link.yaml");
		CHECK_STR("skipped kind", files.skipped[0].kind, "symbolic link");
	}
	wh_config_files_release(&files);
	CHECK("release empties", files.hooks == NULL && files.nhooks == 0);
	wh_config_files_release(&files);
	wh_config_files_release(NULL);

	CHECK("resolve feature", wh_gitsrc_resolve(&id, src, "feature", &err) == 0);
	CHECK("read feature", wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
	CHECK("feature has four definitions", files.nhooks == 4);
	if (files.nhooks == 4)
		CHECK_STR("feature's new file", files.hooks[2].path, "hooks/f.yaml");
	wh_config_files_release(&files);

	CHECK("resolve v2", wh_gitsrc_resolve(&id, src, "v2", &err) == 0);
	CHECK("read v2", wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
	CHECK("v2 content", files.nhooks == 3 && strcmp(files.hooks[0].data, "name: a v2\n") == 0);
	wh_config_files_release(&files);

	CHECK("file above the size limit fails",
	      wh_gitsrc_read(&files, src, &id, 8, 100, &err) == WH_ECONFIG);
	CHECK_STR("size error names the path", err.path, "hooks/a.yaml");
	CHECK("size error says the limit", has(err.message, "limit of 8 bytes"));
	CHECK("nothing left after a failure", files.nhooks == 0 && files.hooks == NULL);
	CHECK("file exactly at the limit passes",
	      wh_gitsrc_read(&files, src, &id, 18, 100, &err) == 0); /* the largest file */
	wh_config_files_release(&files);
	CHECK("too many files fails",
	      wh_gitsrc_read(&files, src, &id, 4096, 3, &err) == WH_ECONFIG);
	CHECK("count error says the limit", has(err.message, "more than 3 "));
	CHECK("exactly max files passes", wh_gitsrc_read(&files, src, &id, 4096, 5, &err) == 0);
	wh_config_files_release(&files);
	wh_gitsrc_free(src);
}

static void test_dirty(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_config_files files;
	struct wh_gitsrc *src = NULL;
	int dirty = -1;
	git_oid id;

	if (wh_gitsrc_open(&src, repo, &err) != 0) {
		CHECK("open for dirty", 0);
		return;
	}
	CHECK("clean work tree", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);

	CHECK("edit outside", sh("cd '%s' && echo x >>README && echo y >hooksfoo.yaml && mkdir "
				 "-p other/hooks && echo z >other/hooks/a.yaml",
				 repo) == 0);
	CHECK("changes outside hooks/ are not dirty",
	      wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);

	CHECK("edit tracked",
	      sh("cd '%s' && printf 'name: uncommitted\\n' >hooks/a.yaml", repo) == 0);
	CHECK("modified tracked file is dirty",
	      wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 1);
	CHECK("resolve HEAD while dirty", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
	CHECK("read while dirty",
	      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0 && files.nhooks == 3);
	if (files.nhooks == 3)
		CHECK_STR("read returns the committed content", files.hooks[0].data,
			  "name: a v2\n");
	wh_config_files_release(&files);
	CHECK("restore", sh("cd '%s' && git checkout -q -- hooks/a.yaml", repo) == 0);
	CHECK("clean again", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);

	CHECK("add untracked", sh("cd '%s' && echo 'name: new' >hooks/new.yaml", repo) == 0);
	CHECK("untracked file is dirty", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 1);
	CHECK("read ignores the untracked file",
	      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0 && files.nhooks == 3);
	wh_config_files_release(&files);
	CHECK("remove untracked", sh("rm '%s/hooks/new.yaml'", repo) == 0);

	CHECK("add untracked folder",
	      sh("mkdir -p '%s/hooks/newdir' && echo x >'%s/hooks/newdir/x.yaml'", repo, repo) ==
		  0);
	CHECK("untracked folder is dirty", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 1);
	CHECK("remove untracked folder", sh("rm -r '%s/hooks/newdir'", repo) == 0);

	CHECK("stage schema", sh("cd '%s' && echo '{}' >schemas/clusters_deployed.json && git add "
				 "schemas",
				 repo) == 0);
	CHECK("staged schema change is dirty",
	      wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 1);
	CHECK("unstage",
	      sh("cd '%s' && git reset -q --hard && rm -rf other hooksfoo.yaml", repo) == 0);
	CHECK("clean at the end", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);
	wh_gitsrc_free(src);
}

static void test_bare(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_config_files files;
	struct wh_gitsrc *src = NULL;
	char bare[600];
	int dirty = -1;
	git_oid id;

	snprintf(bare, sizeof(bare), "%s/bare.git", tmp);
	CHECK("clone --bare", sh("git clone -q --bare '%s' '%s'", repo, bare) == 0);
	CHECK("open bare", wh_gitsrc_open(&src, bare, &err) == 0);
	if (!src)
		return;
	CHECK("bare path is the Git directory", has(wh_gitsrc_path(src), "/bare.git"));
	CHECK("bare HEAD", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0 && oid_is(&id, c3));
	CHECK("bare annotated tag",
	      wh_gitsrc_resolve(&id, src, "v2", &err) == 0 && oid_is(&id, c2));
	CHECK("bare read", wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
	CHECK("bare definitions", files.nhooks == 3 && files.nschemas == 1);
	wh_config_files_release(&files);
	CHECK("bare is never dirty", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);
	wh_gitsrc_free(src);
}

static void test_empty_and_no_hooks(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_config_files files;
	struct wh_gitsrc *src = NULL;
	char path[600];
	int dirty = -1;
	git_oid id;

	snprintf(path, sizeof(path), "%s/empty", tmp);
	CHECK("init empty", sh("git init -q '%s'", path) == 0);
	CHECK("open empty", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("HEAD of an empty repo fails",
		      wh_gitsrc_resolve(&id, src, "HEAD", &err) == WH_ECONFIG);
		CHECK("empty repo message", has(err.message, "repository has no commits"));
		CHECK("any ref of an empty repo fails",
		      wh_gitsrc_resolve(&id, src, "main", &err) == WH_ECONFIG &&
			  has(err.message, "repository has no commits"));
		CHECK("empty repo is clean", wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 0);
		CHECK("new hooks/ folder",
		      sh("mkdir '%s/hooks' && echo x >'%s/hooks/a.yaml'", path, path) == 0);
		CHECK("untracked hooks/ in an empty repo is dirty",
		      wh_gitsrc_dirty(&dirty, src, &err) == 0 && dirty == 1);
	}
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/nohooks", tmp);
	CHECK("init nohooks", sh("git init -q '%s' && echo hi >'%s/README'", path, path) == 0);
	CHECK("commit nohooks", commit_all(path, 1, "readme") == 0);
	CHECK("open nohooks", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("resolve nohooks", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("read without hooks/ succeeds",
		      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
		CHECK("zero files",
		      files.nhooks == 0 && files.nschemas == 0 && files.nskipped == 0);
		CHECK("zero hooks tree", git_oid_is_zero(&files.hooks_tree));
		CHECK("zero schemas tree", git_oid_is_zero(&files.schemas_tree));
		wh_config_files_release(&files);
	}
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/hooksfile", tmp);
	CHECK("hooks as a file", sh("git init -q '%s' && echo hi >'%s/hooks'", path, path) == 0);
	CHECK("commit hooks file", commit_all(path, 1, "hooks file") == 0);
	CHECK("open hooksfile", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("resolve hooksfile", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("hooks that is a file fails",
		      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == WH_ECONFIG);
		CHECK_STR("names hooks", err.path, "hooks");
		CHECK("says not a folder", has(err.message, "not a folder"));
		wh_config_files_release(&files);
	}
	wh_gitsrc_free(src);
}

/* A gitlink (submodule) and a symlinked schema are reported, not read; folders
 * nested deeper than the limit are an error. */
static void test_skipped_and_depth(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_config_files files;
	struct wh_gitsrc *src = NULL;
	char path[600], deep[600];
	git_oid id;
	int n;

	snprintf(path, sizeof(path), "%s/links", tmp);
	/* Committed without `git add -A`, which would drop the gitlink that has
	 * no folder in the work tree. */
	CHECK("links repo",
	      sh("git init -q '%s' && cd '%s' && mkdir hooks schemas && echo 'a: 1' >hooks/a.yaml "
		 "&& echo '{}' >real.json && ln -s ../real.json schemas/s.json && git add -A && "
		 "git update-index --add --cacheinfo 160000,%s,hooks/sub && git commit -q -m links",
		 path, path, c1) == 0);
	CHECK("open links", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("resolve links", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("read links", wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0);
		CHECK("one definition, no schema", files.nhooks == 1 && files.nschemas == 0);
		CHECK("two skipped", files.nskipped == 2);
		if (files.nskipped == 2) {
			CHECK_STR("submodule path", files.skipped[0].path, "hooks/sub");
			CHECK_STR("submodule kind", files.skipped[0].kind, "submodule");
			CHECK_STR("schema symlink path", files.skipped[1].path, "schemas/s.json");
			CHECK_STR("schema symlink kind", files.skipped[1].kind, "symbolic link");
		}
		wh_config_files_release(&files);
	}
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/deep", tmp);
	n = snprintf(deep, sizeof(deep), "%s/hooks", path);
	for (int i = 0; i <= WH_GITSRC_MAX_DEPTH; i++)
		n += snprintf(deep + n, sizeof(deep) - (size_t)n, "/d");
	CHECK("deep repo", sh("git init -q '%s' && mkdir -p '%s' && echo 'a: 1' >'%s/x.yaml'", path,
			      deep, deep) == 0 &&
			       commit_all(path, 1, "deep") == 0);
	CHECK("open deep", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("resolve deep", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("too deep fails",
		      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == WH_ECONFIG &&
			  has(err.message, "nested more than"));
		wh_config_files_release(&files);
		CHECK("one level less",
		      sh("cd '%s' && git mv '%s/x.yaml' '%s/../x.yaml'", path, deep, deep) == 0 &&
			  commit_all(path, 2, "less deep") == 0);
		CHECK("resolve less deep", wh_gitsrc_resolve(&id, src, "HEAD", &err) == 0);
		CHECK("at the limit passes",
		      wh_gitsrc_read(&files, src, &id, 4096, 100, &err) == 0 && files.nhooks == 1);
		wh_config_files_release(&files);
	}
	wh_gitsrc_free(src);
}

struct walk_log {
	char ids[16][GIT_OID_HEXSZ + 1];
	char parents[16][GIT_OID_HEXSZ + 1];
	int count, stop_after;
};

static int record(git_commit *commit, git_commit *parent, void *payload)
{
	struct walk_log *log = payload;

	if (log->count >= 16)
		return -100;
	git_oid_tostr(log->ids[log->count], GIT_OID_HEXSZ + 1, git_commit_id(commit));
	if (parent)
		git_oid_tostr(log->parents[log->count], GIT_OID_HEXSZ + 1, git_commit_id(parent));
	else
		log->parents[log->count][0] = '\0';
	log->count++;
	return log->stop_after && log->count == log->stop_after ? 7 : 0;
}

/* w1 root with hooks/ (counts), w2 README only, w3 hooks/, w4 schemas/,
 * w5 README only, w6 hooks/ and README; then every blob is deleted from the
 * object database to prove that the walk reads trees only. */
static void test_walk(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_gitsrc *src = NULL;
	struct walk_log log;
	char path[600], w[7][64];
	git_oid start;

	snprintf(path, sizeof(path), "%s/walk", tmp);
	CHECK("w1", sh("git init -q '%s' && mkdir '%s/hooks' && echo 1 >'%s/hooks/a.yaml' && "
		       "echo 1 >'%s/README'",
		       path, path, path, path) == 0 &&
			commit_all(path, 1, "w1") == 0);
	CHECK("w2", sh("echo 2 >'%s/README'", path) == 0 && commit_all(path, 2, "w2") == 0);
	CHECK("w3", sh("echo 3 >'%s/hooks/b.yaml'", path) == 0 && commit_all(path, 3, "w3") == 0);
	CHECK("w4", sh("mkdir '%s/schemas' && echo {} >'%s/schemas/s.json'", path, path) == 0 &&
			commit_all(path, 4, "w4") == 0);
	CHECK("w5", sh("echo 5 >'%s/README'", path) == 0 && commit_all(path, 5, "w5") == 0);
	CHECK("w6", sh("echo 6 >'%s/README' && echo 6 >'%s/hooks/a.yaml'", path, path) == 0 &&
			commit_all(path, 6, "w6") == 0);
	for (int i = 1; i <= 6; i++)
		capture(w[i], sizeof(w[i]), "cd '%s' && git rev-parse HEAD~%d", path, 6 - i);
	CHECK("delete every blob",
	      sh("cd '%s' && git rev-list --objects --all | cut -d' ' -f1 | git cat-file "
		 "--batch-check='%%(objecttype) "
		 "%%(objectname)' | awk '$1 == \"blob\" {print substr($2,1,2) \"/\" substr($2,3)}' "
		 "| (cd .git/objects && xargs rm -f) && ! git cat-file -e HEAD:README 2>/dev/null",
		 path) == 0);

	CHECK("open walk repo", wh_gitsrc_open(&src, path, &err) == 0);
	if (!src)
		return;
	CHECK("resolve walk HEAD", wh_gitsrc_resolve(&start, src, "HEAD", &err) == 0);
	memset(&log, 0, sizeof(log));
	CHECK("walk succeeds without any blob",
	      wh_gitsrc_walk(src, &start, record, &log, &err) == 0);
	if (err.code)
		fprintf(stderr, "  walk error: %s\n", err.message);
	CHECK("four config commits", log.count == 4);
	if (log.count == 4) {
		CHECK_STR("newest first: w6", log.ids[0], w[6]);
		CHECK_STR("w6's parent", log.parents[0], w[5]);
		CHECK_STR("then w4 (schemas)", log.ids[1], w[4]);
		CHECK_STR("then w3 (hooks)", log.ids[2], w[3]);
		CHECK_STR("w3's parent", log.parents[2], w[2]);
		CHECK_STR("then root w1", log.ids[3], w[1]);
		CHECK_STR("root has no parent", log.parents[3], "");
	}

	memset(&log, 0, sizeof(log));
	log.stop_after = 2;
	CHECK("callback stops the walk", wh_gitsrc_walk(src, &start, record, &log, &err) == 7);
	CHECK("stopped after two", log.count == 2);

	CHECK("resolve w2", wh_gitsrc_resolve(&start, src, "HEAD~4", &err) == 0);
	memset(&log, 0, sizeof(log));
	CHECK("walk from w2", wh_gitsrc_walk(src, &start, record, &log, &err) == 0);
	CHECK("only the root from w2", log.count == 1);
	wh_gitsrc_free(src);
	src = NULL;

	snprintf(path, sizeof(path), "%s/nohooks", tmp);
	CHECK("open nohooks for walk", wh_gitsrc_open(&src, path, &err) == 0);
	if (src) {
		CHECK("resolve", wh_gitsrc_resolve(&start, src, "HEAD", &err) == 0);
		memset(&log, 0, sizeof(log));
		CHECK("walk", wh_gitsrc_walk(src, &start, record, &log, &err) == 0);
		CHECK("a root without config folders does not count", log.count == 0);
	}
	wh_gitsrc_free(src);
}

int main(void)
{
	char home[300];
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/whrun-gitsrc.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(home, sizeof(home), "%s/home", tmp);
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	if (sh("mkdir -p '%s' && git config --global init.defaultBranch main && git config "
	       "--global advice.detachedHead false",
	       home) != 0)
		return 1;
	git_libgit2_init();

	CHECK("build the main fixture", build_main_repo() == 0);
	test_open();
	test_resolve();
	test_read();
	test_dirty();
	test_bare();
	test_empty_and_no_hooks();
	test_skipped_and_depth();
	test_walk();
	test_ambiguous();

	git_libgit2_shutdown();
	sh("rm -rf '%s'", tmp);
	return check_done();
}
