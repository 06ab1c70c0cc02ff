/*
 * test_journal: the outbox against real SQLite files in temporary
 * directories: round trips, the schedule, leases and their takeover, file
 * modes, open errors, and many processes at once (fork).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "journal.h"
#include "util.h"

static char base[256];
static int dir_counter;

static char *new_dir(void)
{
	return wh_strdupf("%s/state%d", base, ++dir_counter);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* One value from a query on the journal file (independent connection). */
static int64_t sql_int(const char *dir, const char *sql)
{
	char *path = wh_strdupf("%s/journal.db", dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return v;
}

/* Column col of the first row of a query on the journal file, with a
 * read-write connection; -1 when it fails. */
static int64_t sql_int2(const char *dir, const char *sql, int col)
{
	char *path = wh_strdupf("%s/journal.db", dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, col);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return v;
}

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* A message for hook with n targets http://127.0.0.1:9/<i>. */
struct fixture {
	char id[WH_JOURNAL_MESSAGE_ID_LEN + 1];
	char urls[16][64];
	struct wh_journal_target targets[16];
	struct wh_journal_message message;
};

static void fixture_init(struct fixture *f, const char *hook, const char *stage, size_t n)
{
	struct wh_error err = WH_ERROR_INIT;
	static const char body[] = "{\"id\":\"x\",\"data\":{}}\0tail"; /* a NUL inside */

	memset(f, 0, sizeof(*f));
	if (wh_journal_new_message_id(f->id, sizeof(f->id), &err) < 0)
		fprintf(stderr, "message id: %s\n", err.message);
	for (size_t i = 0; i < n; i++) {
		snprintf(f->urls[i], sizeof(f->urls[i]), "http://127.0.0.1:9/%zu", i);
		f->targets[i].index = i;
		f->targets[i].url = f->urls[i];
		f->targets[i].method = i % 2 ? "PUT" : "POST";
	}
	f->message.id = f->id;
	f->message.type = stage;
	f->message.hook = hook;
	f->message.kind = "standard";
	f->message.config_commit = "0123456789abcdef0123456789abcdef01234567";
	f->message.envelope = "{\"id\":\"x\",\"data\":{}}";
	f->message.body = body;
	f->message.body_len = sizeof(body) - 1;
	f->message.targets = f->targets;
	f->message.ntargets = n;
}

static struct wh_journal *open_create(const char *dir)
{
	struct wh_journal *j = NULL;
	struct wh_error err = WH_ERROR_INIT;

	if (wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err) < 0)
		fprintf(stderr, "open %s: %s\n", dir, err.message);
	return j;
}

static struct wh_journal_result result_of(enum wh_journal_outcome outcome, int http, int final)
{
	struct wh_journal_result r = {0};
	r.outcome = outcome;
	r.http_status = http;
	r.final = final;
	r.duration_ms = 7;
	return r;
}

static void test_ids_and_names(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char a[WH_JOURNAL_MESSAGE_ID_LEN + 1], b[WH_JOURNAL_MESSAGE_ID_LEN + 1], t[40];
	int well_formed = 1;

	CHECK("id", wh_journal_new_message_id(a, sizeof(a), &err) == 0);
	sleep_ms(2);
	CHECK("id", wh_journal_new_message_id(b, sizeof(b), &err) == 0);
	CHECK("msg_ + 26", strlen(a) == 30 && strncmp(a, "msg_", 4) == 0);
	for (size_t i = 4; i < 30; i++)
		if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]))
			well_formed = 0;
	CHECK("Crockford base32", well_formed);
	CHECK("ids sort by time", strcmp(a, b) < 0);
	CHECK("small buffer refused", wh_journal_new_message_id(t, 10, &err) < 0);

	wh_journal_format_time(t, sizeof(t), 1795341600123LL);
	CHECK_STR("RFC 3339 UTC", t, "2026-11-22T10:00:00.123Z");
	CHECK("status names",
	      wh_journal_status_parse("gone") == WH_JOURNAL_GONE &&
		  wh_journal_status_parse("nope") == -1 &&
		  strcmp(wh_journal_status_name(WH_JOURNAL_DELIVERED), "delivered") == 0);
	CHECK("secret headers", wh_journal_header_is_secret("Authorization") &&
				    wh_journal_header_is_secret("proxy-authorization") &&
				    wh_journal_header_is_secret("X-Hub-Signature-256") &&
				    wh_journal_header_is_secret("Stripe-Signature") &&
				    wh_journal_header_is_secret("X-Api-Key") &&
				    wh_journal_header_is_secret("X-Auth-Token") &&
				    !wh_journal_header_is_secret("Content-Type") &&
				    !wh_journal_header_is_secret("webhook-id"));
}

static void test_schedule(void)
{
	static const int64_t want[] = {5000,	 300000,   1800000, 7200000,
				       18000000, 36000000, 36000000};
	int ok = wh_journal_schedule_len == 7;

	for (size_t i = 0; i < WH_ARRAY_SIZE(want); i++)
		if (wh_journal_next_attempt(1000, (int)i) != 1000 + want[i])
			ok = 0;
	CHECK("schedule 5s 5m 30m 2h 5h 10h 10h", ok);
	CHECK("schedule exhausted", wh_journal_next_attempt(1000, 7) == -1);
	CHECK("negative", wh_journal_next_attempt(1000, -1) == -1);
}

static void test_state_dir(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *dir = NULL;
	char *home = getenv("HOME") ? wh_strdupf("%s", getenv("HOME")) : NULL;

	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("HOME", "/h", 1);
	CHECK("explicit wins",
	      wh_journal_state_dir(&dir, "/given", &err) == 0 && strcmp(dir, "/given") == 0);
	free(dir);
	CHECK("XDG",
	      wh_journal_state_dir(&dir, NULL, &err) == 0 && strcmp(dir, "/x/state/whrun") == 0);
	free(dir);
	setenv("XDG_STATE_HOME", "relative", 1); /* XDG says: ignore relative paths */
	CHECK("HOME", wh_journal_state_dir(&dir, "", &err) == 0 &&
			  strcmp(dir, "/h/.local/state/whrun") == 0);
	free(dir);
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	CHECK("none", wh_journal_state_dir(&dir, NULL, &err) == WH_ECONFIG && dir == NULL);
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

static void test_open_and_modes(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_journal *j = NULL;
	char *dir = new_dir(), *nested = wh_strdupf("%s/a/b", dir);
	char *db = wh_strdupf("%s/journal.db", nested), *wal = wh_strdupf("%s-wal", db),
	     *shm = wh_strdupf("%s-shm", db);
	struct fixture f;
	mode_t old = umask(0);
	struct stat st;

	CHECK("existing: no journal is not found",
	      wh_journal_open(&j, nested, WH_JOURNAL_EXISTING, &err) == WH_ENOTFOUND && !j);
	CHECK("existing: created nothing", stat(dir, &st) < 0 && errno == ENOENT);

	j = open_create(nested);
	CHECK("create", j != NULL);
	fixture_init(&f, "h", "clusters_deployed", 1);
	CHECK("insert", wh_journal_insert(j, &f.message, 1, 1000, &err) == 0);
	CHECK("directory 0700", mode_of(dir) == 0700);
	CHECK("nested directory 0700", mode_of(nested) == 0700);
	CHECK("db 0600 under umask 0", mode_of(db) == 0600);
	CHECK("wal 0600", mode_of(wal) == 0600);
	CHECK("shm 0600", mode_of(shm) == 0600);
	CHECK("WAL mode", sql_int(nested, "SELECT count(*) FROM pragma_journal_mode "
					  "WHERE journal_mode = 'wal'") == 1);
	CHECK("schema version", sql_int(nested, "PRAGMA user_version") == WH_JOURNAL_SCHEMA);
	CHECK_STR("path", wh_journal_path(j), db);
	{
		const char *owner = wh_journal_owner(j), *dash = strchr(owner, '-');
		const char *at = strchr(owner, '@');
		CHECK("owner is pid-token@host:start",
		      strtol(owner, NULL, 10) == (long)getpid() && dash && at && at - dash == 17 &&
			  strlen(at) > 18 && at[17] == ':' && strtoull(at + 18, NULL, 10) > 0);
	}
	wh_journal_close(j);
	j = NULL;

	/* Reopening keeps what is there and does not change the schema. */
	CHECK("reopen existing", wh_journal_open(&j, nested, WH_JOURNAL_EXISTING, &err) == 0);
	wh_journal_close(j);
	j = open_create(nested);
	CHECK("reopen create", j != NULL);
	wh_journal_close(j);
	CHECK("one message still", sql_int(nested, "SELECT count(*) FROM messages") == 1);
	umask(old);
	free(dir);
	free(nested);
	free(db);
	free(wal);
	free(shm);
}

static void test_open_errors(void)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_journal *j = NULL;
	char *dir = new_dir(), *path;
	int fd, rc;

	/* A file where the state directory should be. */
	fd = open(dir, O_CREAT | O_WRONLY, 0600);
	close(fd);
	path = wh_strdupf("%s/sub", dir);
	rc = wh_journal_open(&j, path, WH_JOURNAL_CREATE, &err);
	CHECK("file as directory: EIO", rc == WH_EIO && !j);
	CHECK("message names the directory", strstr(err.message, "state directory") != NULL);
	free(path);
	unlink(dir);
	free(dir);

	/* journal.db is a directory. */
	dir = new_dir();
	path = wh_strdupf("%s/journal.db", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	CHECK("db is a directory: EIO",
	      wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err) == WH_EIO);
	rmdir(path);
	free(path);

	/* Not a database. */
	path = wh_strdupf("%s/journal.db", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK("write garbage", write(fd, "this is not sqlite, not at all, no. ", 36) == 36 &&
				   write(fd, path, strlen(path)) > 0);
	close(fd);
	CHECK("garbage: ECONFIG", wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err) == WH_ECONFIG);
	CHECK("garbage message", strstr(err.message, "not a usable whrun journal") != NULL);
	CHECK("garbage, reading: ECONFIG",
	      wh_journal_open(&j, dir, WH_JOURNAL_EXISTING, &err) == WH_ECONFIG);
	unlink(path);

	/* Written by a newer whrun. */
	j = open_create(dir);
	wh_journal_close(j);
	j = NULL;
	{
		sqlite3 *db = NULL;
		sqlite3_open(path, &db);
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	CHECK("newer: ECONFIG", wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err) == WH_ECONFIG);
	CHECK("newer message", strstr(err.message, "newer whrun") != NULL);
	free(path);
	free(dir);

	/* A directory this process cannot write. As root, permissions do not
	 * stop writes, so a directory under /proc (where nobody can create
	 * one) stands in; tests/cli/t0810 covers a read-only mount. */
	if (geteuid() != 0) {
		dir = new_dir();
		mkdir(dir, 0500);
		rc = wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err);
		CHECK("read-only directory: EIO", rc == WH_EIO && !j);
		chmod(dir, 0700);
		rmdir(dir);
		free(dir);
	} else {
		rc = wh_journal_open(&j, "/proc/self/whrun-state", WH_JOURNAL_CREATE, &err);
		CHECK("unwritable directory (root: /proc): EIO", rc == WH_EIO && !j);
	}
	CHECK("unwritable message", strstr(err.message, "cannot create") != NULL);
}

static void test_round_trip(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *dir = new_dir();
	struct wh_journal *j = open_create(dir);
	struct fixture f, g;
	struct wh_journal_deliveries list = {0};
	struct wh_journal_stored_message m = {0};
	struct wh_journal_attempts attempts = {0};
	struct wh_journal_list_filter filter = {NULL, NULL, -1, 0};
	struct wh_journal_header req[] = {{"Content-Type", "application/json"},
					  {"Authorization", "Bearer s3cret"},
					  {"X-Hub-Signature-256", "sha256=abc"},
					  {"X-Team", "infra"},
					  {"X-Team", "ops"}};
	struct wh_journal_header resp[] = {{"Retry-After", "120"}, {"Set-Cookie", "sid=1"}};
	struct wh_journal_result r;
	char *big = malloc(WH_JOURNAL_BODY_CAP + 100);
	char id[40];
	int lost = -1;
	int64_t before = wh_journal_now();

	fixture_init(&f, "alpha", "clusters_deployed", 3);
	fixture_init(&g, "beta", "cluster_created", 1);
	CHECK("insert two messages at once",
	      wh_journal_insert(j, (struct wh_journal_message[]){f.message, g.message}, 2, 60000,
				&err) == 0);
	/* The compound literal got the ids; read them back from the list. */
	CHECK("list all", wh_journal_list(&list, j, &filter, &err) == 0 && list.count == 4);
	CHECK("newest first", list.count == 4 && list.items[0].id > list.items[3].id &&
				  strcmp(list.items[0].hook, "beta") == 0);
	if (list.count == 4) {
		const struct wh_journal_delivery *d = &list.items[3];
		CHECK_STR("message id", d->message_id, f.id);
		CHECK_STR("stage", d->stage, "clusters_deployed");
		CHECK_STR("url", d->url, "http://127.0.0.1:9/0");
		CHECK_STR("method", d->method, "POST");
		CHECK_STR("commit", d->config_commit, "0123456789abcdef0123456789abcdef01234567");
		CHECK("pending, due now", d->status == WH_JOURNAL_PENDING && d->attempts == 0 &&
					      d->next_attempt_at >= before &&
					      d->next_attempt_at <= wh_journal_now());
		CHECK("leased to us", d->lease_owner &&
					  strcmp(d->lease_owner, wh_journal_owner(j)) == 0 &&
					  d->lease_until >= before + 60000);
		CHECK_STR("second target", list.items[2].method, "PUT");
	}
	wh_journal_deliveries_release(&list);

	filter.hook = "alpha";
	filter.limit = 2;
	CHECK("hook + limit", wh_journal_list(&list, j, &filter, &err) == 0 && list.count == 2 &&
				  list.items[0].target_index == 2);
	wh_journal_deliveries_release(&list);
	filter = (struct wh_journal_list_filter){NULL, "cluster_created", -1, 0};
	CHECK("stage", wh_journal_list(&list, j, &filter, &err) == 0 && list.count == 1);
	wh_journal_deliveries_release(&list);

	/* Lookups. */
	CHECK("by message id", wh_journal_lookup(&list, j, f.id, &err) == 0 && list.count == 3 &&
				   list.items[0].target_index == 0);
	f.targets[0].id = list.count ? list.items[0].id : 0;
	f.targets[1].id = list.count > 1 ? list.items[1].id : 0;
	f.targets[2].id = list.count > 2 ? list.items[2].id : 0;
	wh_journal_deliveries_release(&list);
	snprintf(id, sizeof(id), "dlv_%" PRId64, f.targets[1].id);
	CHECK("by dlv_N", wh_journal_lookup(&list, j, id, &err) == 0 && list.count == 1 &&
			      list.items[0].target_index == 1);
	wh_journal_deliveries_release(&list);
	CHECK("by N", wh_journal_lookup(&list, j, id + 4, &err) == 0 && list.count == 1);
	wh_journal_deliveries_release(&list);
	CHECK("unknown", wh_journal_lookup(&list, j, "dlv_9999", &err) == WH_ENOTFOUND &&
			     strstr(err.message, "dlv_9999"));
	CHECK("unknown message", wh_journal_lookup(&list, j, "msg_nope", &err) == WH_ENOTFOUND);
	CHECK("garbage id", wh_journal_lookup(&list, j, "drop table", &err) == WH_ENOTFOUND);

	CHECK("message", wh_journal_get_message(&m, j, f.id, &err) == 0);
	CHECK("body exact, NUL included",
	      m.body_len == f.message.body_len && memcmp(m.body, f.message.body, m.body_len) == 0);
	CHECK_STR("envelope", m.envelope, "{\"id\":\"x\",\"data\":{}}");
	CHECK_STR("type", m.type, "clusters_deployed");
	wh_journal_message_release(&m);
	CHECK("no message", wh_journal_get_message(&m, j, "msg_x", &err) == WH_ENOTFOUND);

	/* Attempts: a retry in the run, then delivered. */
	r = result_of(WH_JOURNAL_OUTCOME_RETRY, 503, 0);
	r.request_headers = req;
	r.nrequest_headers = WH_ARRAY_SIZE(req);
	r.response_headers = resp;
	r.nresponse_headers = WH_ARRAY_SIZE(resp);
	memset(big, 'y', WH_JOURNAL_BODY_CAP + 100);
	r.response_body = big;
	r.response_body_len = WH_JOURNAL_BODY_CAP + 100;
	r.error = "HTTP 503 Service Unavailable";
	CHECK("record retry",
	      wh_journal_record(j, f.targets[0].id, &r, &lost, &err) == 0 && lost == 0);
	r = result_of(WH_JOURNAL_OUTCOME_DELIVERED, 204, 1);
	CHECK("record delivered", wh_journal_record(j, f.targets[0].id, &r, &lost, &err) == 0);
	CHECK("lookup", wh_journal_lookup(&list, j, f.id, &err) == 0);
	if (list.count == 3) {
		const struct wh_journal_delivery *d = &list.items[0];
		CHECK("delivered", d->status == WH_JOURNAL_DELIVERED && d->attempts == 2 &&
				       d->http_status == 204 && !d->last_error && !d->lease_owner &&
				       d->next_attempt_at == 0);
	}
	wh_journal_deliveries_release(&list);
	CHECK("attempts", wh_journal_get_attempts(&attempts, j, f.targets[0].id, &err) == 0 &&
			      attempts.count == 2);
	if (attempts.count == 2) {
		const struct wh_journal_attempt *a = &attempts.items[0];
		CHECK("numbers", a->number == 1 && attempts.items[1].number == 2);
		CHECK("outcome", a->outcome == WH_JOURNAL_OUTCOME_RETRY &&
				     attempts.items[1].outcome == WH_JOURNAL_OUTCOME_DELIVERED);
		CHECK("http", a->http_status == 503 && a->duration_ms == 7 && a->started_at > 0);
		CHECK_STR("error", a->error, "HTTP 503 Service Unavailable");
		CHECK("Authorization masked",
		      strstr(a->request_headers, "s3cret") == NULL &&
			  strstr(a->request_headers, "\"Authorization\":\"[redacted]\""));
		CHECK("signature masked", strstr(a->request_headers, "sha256=abc") == NULL);
		CHECK("repeated header joined",
		      strstr(a->request_headers, "\"X-Team\":\"infra, ops\"") != NULL);
		CHECK("response headers", strstr(a->response_headers, "\"Retry-After\":\"120\"") &&
					      !strstr(a->response_headers, "sid=1"));
		CHECK("body capped", a->response_body_len == WH_JOURNAL_BODY_CAP &&
					 a->response_truncated == 1 && a->response_body[0] == 'y');
		CHECK("no body", attempts.items[1].response_body == NULL &&
				     attempts.items[1].response_truncated == 0);
		CHECK_STR("made by us", a->lease_owner, wh_journal_owner(j));
	}
	wh_journal_attempts_release(&attempts);

	/* Final retry: back to the outbox, 5 s later, lease released. */
	before = wh_journal_now();
	r = result_of(WH_JOURNAL_OUTCOME_RETRY, 0, 1);
	r.error = "connect: Connection refused";
	CHECK("final retry", wh_journal_record(j, f.targets[1].id, &r, NULL, &err) == 0);
	r = result_of(WH_JOURNAL_OUTCOME_GONE, 410, 1);
	CHECK("gone", wh_journal_record(j, f.targets[2].id, &r, NULL, &err) == 0);
	CHECK("lookup", wh_journal_lookup(&list, j, f.id, &err) == 0);
	if (list.count == 3) {
		const struct wh_journal_delivery *d = &list.items[1];
		CHECK("deferred", d->status == WH_JOURNAL_PENDING && d->deferrals == 1 &&
				      d->next_attempt_at >= before + 5000 &&
				      d->next_attempt_at <= wh_journal_now() + 5000 &&
				      !d->lease_owner && d->http_status == 0);
		CHECK_STR("last error", d->last_error, "connect: Connection refused");
		CHECK("gone",
		      list.items[2].status == WH_JOURNAL_GONE && list.items[2].http_status == 410);
		CHECK_STR("gone error", list.items[2].last_error, "HTTP 410");
	}
	wh_journal_deliveries_release(&list);
	filter = (struct wh_journal_list_filter){NULL, NULL, WH_JOURNAL_GONE, 0};
	CHECK("status filter", wh_journal_list(&list, j, &filter, &err) == 0 && list.count == 1);
	wh_journal_deliveries_release(&list);

	CHECK("unknown delivery", wh_journal_record(j, 424242, &r, NULL, &err) == WH_ENOTFOUND);

	/* A duplicate message id inserts nothing. */
	CHECK("duplicate message", wh_journal_insert(j, &f.message, 1, 1000, &err) == WH_ECONFIG);
	CHECK("nothing added", sql_int(dir, "SELECT count(*) FROM deliveries") == 4);

	/* resend: a new delivery of an existing message. */
	f.targets[0].id = 0;
	CHECK("add deliveries", wh_journal_add_deliveries(j, f.id, f.targets, 1, 1000, &err) == 0 &&
				    f.targets[0].id > 0);
	CHECK("now 4 of message", wh_journal_lookup(&list, j, f.id, &err) == 0 && list.count == 4);
	wh_journal_deliveries_release(&list);
	CHECK("add to unknown", wh_journal_add_deliveries(j, "msg_unknown", f.targets, 1, 1000,
							  &err) == WH_ENOTFOUND);

	wh_journal_close(j);
	free(big);
	free(dir);
}

static long long file_size(const char *dir, const char *name)
{
	char *path = wh_strdupf("%s/%s", dir, name);
	struct stat st;
	long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;

	free(path);
	return size;
}

/* Request headers as stored: escaped, masked, repeated names joined, what
 * is not UTF-8 replaced (as jansson's json_dumps wrote them before). */
static void test_headers_text(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *dir = new_dir();
	struct wh_journal *j = open_create(dir);
	struct fixture f;
	struct wh_journal_attempts attempts = {0};
	struct wh_journal_header req[] = {{"A", "x\"y\\z\n\t\x01/"},
					  {"B", "caf\xc3\xa9"},
					  {"C", "ok1"},
					  {"C", "bad\xff"},
					  {"C", "ok2"},
					  {"X-Api-Key", "k1"},
					  {"X-Api-Key", "k2"},
					  {"\xffname", "v"},
					  {"Authorization\xff", "Bearer s3cr3t"},
					  {NULL, "skipped"},
					  {"D", NULL},
					  {"E", "bad\xc0\x80"},
					  {"F", "\xed\xa0\x80"},
					  {"G", "\xf0\x9f\x98\x80"},
					  {"H", "bad\xe2\x82"},
					  {"C", "ok3"}};
	struct wh_journal_header resp[] = {{"K", "v"}};
	struct wh_journal_result r = result_of(WH_JOURNAL_OUTCOME_DELIVERED, 200, 1);

	fixture_init(&f, "alpha", "clusters_deployed", 1);
	CHECK("insert", j && wh_journal_insert(j, &f.message, 1, 60000, &err) == 0);
	r.request_headers = req;
	r.nrequest_headers = WH_ARRAY_SIZE(req);
	r.response_headers = resp;
	r.nresponse_headers = WH_ARRAY_SIZE(resp);
	CHECK("record", j && wh_journal_record(j, f.targets[0].id, &r, NULL, &err) == 0);
	CHECK("attempt", j && wh_journal_get_attempts(&attempts, j, f.targets[0].id, &err) == 0 &&
			     attempts.count == 1);
	if (attempts.count == 1) {
		CHECK_STR(
		    "request headers text", attempts.items[0].request_headers,
		    "{\"A\":\"x\\\"y\\\\z\\n\\t\\u0001/\",\"B\":\"caf\xc3\xa9\","
		    "\"C\":\"[not UTF-8], ok2, ok3\",\"X-Api-Key\":\"[redacted], "
		    "[redacted]\",\"[not UTF-8]\":\"[redacted], "
		    "[redacted]\",\"D\":\"\",\"E\":\"[not UTF-8]\","
		    "\"F\":\"[not UTF-8]\",\"G\":\"\xf0\x9f\x98\x80\",\"H\":\"[not UTF-8]\"}");
		CHECK_STR("response headers text", attempts.items[0].response_headers,
			  "{\"K\":\"v\"}");
	}
	wh_journal_attempts_release(&attempts);
	wh_journal_close(j);
	free(dir);
}

/* The log outlives a writer (no checkpoint, nothing written at open once
 * the schema is current), readers see what is in it, and a writer that
 * leaves a long log copies it back and starts it over when it closes. */
static void test_persistent_wal(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *dir = new_dir();
	struct wh_journal *j = open_create(dir);
	struct wh_journal_deliveries list = {0};
	struct wh_journal_list_filter filter = {NULL, NULL, -1, 0};
	struct fixture f;
	long long wal;
	int ok = 1;

	fixture_init(&f, "alpha", "clusters_deployed", 2);
	CHECK("insert", j && wh_journal_insert(j, &f.message, 1, 60000, &err) == 0);
	wh_journal_close(j);
	wal = file_size(dir, "journal.db-wal");
	CHECK("the log stays after close", wal > 0);
	CHECK("not copied back", sql_int(dir, "SELECT count(*) FROM deliveries") == 2 &&
				     file_size(dir, "journal.db") <= 4096);
	j = open_create(dir);
	wh_journal_close(j);
	CHECK("a writer's open writes nothing", j && file_size(dir, "journal.db-wal") == wal);
	j = NULL;
	CHECK("a reader sees the log", wh_journal_open(&j, dir, WH_JOURNAL_EXISTING, &err) == 0 &&
					   wh_journal_list(&list, j, &filter, &err) == 0 &&
					   list.count == 2);
	wh_journal_deliveries_release(&list);
	wh_journal_close(j);
	CHECK("a reader keeps the log", file_size(dir, "journal.db-wal") == wal);

	/* about 1,500 pages of log in one handle */
	j = open_create(dir);
	for (int i = 0; ok && i < 150; i++) {
		fixture_init(&f, "alpha", "clusters_deployed", 16);
		ok = j && wh_journal_insert(j, &f.message, 1, 60000, &err) == 0;
	}
	CHECK("many inserts", ok);
	CHECK("a long log", file_size(dir, "journal.db-wal") > 1000 * 4096);
	wh_journal_close(j);
	/* the second column: the frames in the log */
	CHECK("restarted at close", sql_int2(dir, "PRAGMA wal_checkpoint(PASSIVE)", 1) < 8);
	CHECK("copied back", sql_int(dir, "SELECT count(*) FROM deliveries") == 2 + 150 * 16 &&
				 file_size(dir, "journal.db") > 4096);
	free(dir);
}

static void test_leases_and_schedule(void)
{
	struct wh_error err = WH_ERROR_INIT;
	char *dir = new_dir();
	struct wh_journal *a = open_create(dir), *b = open_create(dir);
	struct wh_journal_deliveries list = {0};
	struct wh_journal_claim_filter all = {NULL, 1, 0}, due = {NULL, 0, 0};
	struct wh_journal_result r;
	struct fixture f;
	int lost = -1;
	int64_t id, before;

	CHECK("two handles, two owners", strcmp(wh_journal_owner(a), wh_journal_owner(b)) != 0);
	fixture_init(&f, "alpha", "clusters_deployed", 2);
	CHECK("insert leased", wh_journal_insert(a, &f.message, 1, 60000, &err) == 0);
	CHECK("second claimer gets no leased row",
	      wh_journal_claim_due(&list, b, &all, 60000, &err) == 0 && list.count == 0);
	wh_journal_deliveries_release(&list);
	CHECK("even the owner cannot claim twice",
	      wh_journal_claim_due(&list, a, &all, 60000, &err) == 0 && list.count == 0);
	wh_journal_deliveries_release(&list);
	CHECK("renew", wh_journal_renew(a, f.targets[0].id, 120000, &err) == 0);
	CHECK("renew someone else's",
	      wh_journal_renew(b, f.targets[0].id, 1, &err) == WH_ENOTFOUND);

	/* Lease expiry: a's lease on target 1 is cut to 1 ms; b takes over. */
	CHECK("shorten", wh_journal_renew(a, f.targets[1].id, 1, &err) == 0);
	sleep_ms(5);
	CHECK("takeover after expiry", wh_journal_claim_due(&list, b, &due, 60000, &err) == 0 &&
					   list.count == 1 && list.items[0].id == f.targets[1].id);
	CHECK("claimed row shows the lease",
	      list.count == 1 && strcmp(list.items[0].lease_owner, wh_journal_owner(b)) == 0);
	wh_journal_deliveries_release(&list);
	r = result_of(WH_JOURNAL_OUTCOME_DELIVERED, 200, 1);
	CHECK("late record by the old owner",
	      wh_journal_record(a, f.targets[1].id, &r, &lost, &err) == 0 && lost == 1);
	CHECK("old owner did not change the status",
	      sql_int(dir, "SELECT count(*) FROM deliveries WHERE status = 'pending' AND "
			   "attempts = 1 AND lease_owner IS NOT NULL") == 1);
	CHECK("but its attempt is recorded", sql_int(dir, "SELECT count(*) FROM attempts") == 1);
	CHECK("old owner cannot renew",
	      wh_journal_renew(a, f.targets[1].id, 1000, &err) == WH_ENOTFOUND);
	r = result_of(WH_JOURNAL_OUTCOME_RETRY, 503, 1);
	CHECK("new owner records",
	      wh_journal_record(b, f.targets[1].id, &r, &lost, &err) == 0 && lost == 0);
	CHECK("attempt 2", sql_int(dir, "SELECT max(number) FROM attempts") == 2);

	/* Not due: only --all claims it. */
	CHECK("not due yet",
	      wh_journal_claim_due(&list, b, &due, 60000, &err) == 0 && list.count == 0);
	wh_journal_deliveries_release(&list);

	/* Release gives it back untouched. */
	CHECK("claim --all",
	      wh_journal_claim_due(&list, b, &all, 60000, &err) == 0 && list.count == 1);
	wh_journal_deliveries_release(&list);
	CHECK("release", wh_journal_release(b, f.targets[1].id, &err) == 0);
	CHECK("release twice", wh_journal_release(b, f.targets[1].id, &err) == WH_ENOTFOUND);

	/* Walk the schedule to the end: 1 deferral so far, 6 more, then failed. */
	id = f.targets[1].id;
	for (int k = 2; k <= 8; k++) {
		before = wh_journal_now();
		CHECK("claim", wh_journal_claim_due(&list, a, &all, 60000, &err) == 0 &&
				   list.count == 1 && list.items[0].deferrals == k - 1);
		wh_journal_deliveries_release(&list);
		r = result_of(WH_JOURNAL_OUTCOME_RETRY, 500, 1);
		CHECK("record", wh_journal_record(a, id, &r, NULL, &err) == 0);
		if (k <= 7)
			CHECK("next step of the schedule",
			      sql_int(dir, "SELECT next_attempt_at FROM deliveries WHERE status = "
					   "'pending' AND deferrals > 0") -
				      before >=
				  wh_journal_schedule_ms[k - 1]);
	}
	CHECK("failed once the schedule is exhausted",
	      sql_int(dir,
		      "SELECT count(*) FROM deliveries WHERE status = 'failed' AND "
		      "deferrals = 7 AND next_attempt_at IS NULL AND lease_owner IS NULL") == 1);

	/* Retry-After later than the schedule step wins. */
	fixture_init(&f, "gamma", "clusters_deployed", 1);
	CHECK("insert", wh_journal_insert(a, &f.message, 1, 60000, &err) == 0);
	before = wh_journal_now();
	r = result_of(WH_JOURNAL_OUTCOME_RETRY, 429, 1);
	r.retry_after_ms = 3600 * 1000;
	CHECK("record 429", wh_journal_record(a, f.targets[0].id, &r, NULL, &err) == 0);
	CHECK("Retry-After honoured",
	      sql_int(dir, "SELECT next_attempt_at FROM deliveries WHERE hook = 'gamma'") >=
		  before + 3600 * 1000);

	/* Hook filter and limit on claims. */
	fixture_init(&f, "delta", "clusters_deployed", 5);
	CHECK("insert, lease expires at once", wh_journal_insert(a, &f.message, 1, 0, &err) == 0);
	all.hook = "delta";
	all.limit = 3;
	CHECK("claim limit", wh_journal_claim_due(&list, b, &all, 60000, &err) == 0 &&
				 list.count == 3 && strcmp(list.items[0].hook, "delta") == 0 &&
				 list.items[0].id < list.items[1].id);
	wh_journal_deliveries_release(&list);
	CHECK("the rest",
	      wh_journal_claim_due(&list, b, &all, 60000, &err) == 0 && list.count == 2);
	wh_journal_deliveries_release(&list);

	wh_journal_close(a);
	wh_journal_close(b);
	free(dir);
}

/* Waits for every child; returns how many exited 0. */
static int wait_children(pid_t *pids, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		int status = 0;
		if (waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	}
	return ok;
}

/* 20 processes at once on a journal none of them finds: each creates it
 * (or finds it being created), inserts a message with 10 deliveries and
 * records an attempt of each. */
static void test_twenty_writers(void)
{
	enum { PROCS = 20, TARGETS = 10 };
	char *dir = new_dir();
	pid_t pids[PROCS];
	int gate[2];
	struct timespec t0, t1;

	CHECK("pipe", pipe(gate) == 0);
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			struct wh_error err = WH_ERROR_INIT;
			struct wh_journal *j = NULL;
			struct fixture f;
			char c;
			int status = 0;

			close(gate[1]);
			if (read(gate[0], &c, 1) < 0) /* EOF when the parent opens the gate */
				_exit(9);
			if (wh_journal_open(&j, dir, WH_JOURNAL_CREATE, &err) < 0) {
				fprintf(stderr, "child %d: open: %s\n", p, err.message);
				_exit(1);
			}
			fixture_init(&f, p % 2 ? "odd" : "even", "clusters_deployed", TARGETS);
			if (wh_journal_insert(j, &f.message, 1, 60000, &err) < 0) {
				fprintf(stderr, "child %d: insert: %s\n", p, err.message);
				status = 1;
			}
			for (int t = 0; !status && t < TARGETS; t++) {
				struct wh_journal_result r = result_of(
				    t % 3 ? WH_JOURNAL_OUTCOME_DELIVERED : WH_JOURNAL_OUTCOME_RETRY,
				    t % 3 ? 200 : 503, 1);
				if (wh_journal_record(j, f.targets[t].id, &r, NULL, &err) < 0) {
					fprintf(stderr, "child %d: record: %s\n", p, err.message);
					status = 1;
				}
			}
			wh_journal_close(j);
			_exit(status);
		}
	}
	close(gate[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(gate[1]);
	CHECK("20 writers succeed", wait_children(pids, PROCS) == PROCS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("20 processes x (open + insert 10 + 10 records): %.0f ms\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	CHECK("20 messages", sql_int(dir, "SELECT count(*) FROM messages") == PROCS);
	CHECK("200 deliveries", sql_int(dir, "SELECT count(*) FROM deliveries") == PROCS * TARGETS);
	CHECK("200 attempts", sql_int(dir, "SELECT count(*) FROM attempts") == PROCS * TARGETS);
	CHECK("each recorded once",
	      sql_int(dir, "SELECT count(*) FROM deliveries WHERE attempts = 1 AND lease_owner IS "
			   "NULL") == PROCS * TARGETS);
	CHECK("statuses", sql_int(dir, "SELECT count(*) FROM deliveries WHERE status = "
				       "'delivered'") == PROCS * 6);
	free(dir);
}

/* Two processes claim from the same 200 due rows in a loop: each row is
 * claimed exactly once. */
static void test_two_claimers(void)
{
	enum { ROWS = 200, CLAIMERS = 2 };
	char *dir = new_dir();
	struct wh_error err = WH_ERROR_INIT;
	struct wh_journal *j = open_create(dir);
	pid_t pids[CLAIMERS];
	int gate[2], ready[2], seen[ROWS + 1] = {0}, dup = 0, total = 0, per[CLAIMERS] = {0};
	int64_t first_id = 0;

	for (int m = 0; m < ROWS / 10; m++) {
		struct fixture f;
		fixture_init(&f, "claimed", "clusters_deployed", 10);
		/* lease 0: as if the inserting process had died at once */
		if (wh_journal_insert(j, &f.message, 1, 0, &err) < 0)
			fprintf(stderr, "insert: %s\n", err.message);
		if (!first_id)
			first_id = f.targets[0].id;
	}
	wh_journal_close(j);
	sleep_ms(2);
	CHECK("pipe", pipe(gate) == 0 && pipe(ready) == 0);
	for (int c = 0; c < CLAIMERS; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			struct wh_journal *cj = NULL;
			struct wh_journal_claim_filter filter = {NULL, 0, 3};
			char path[512], ch;
			FILE *out;
			int status = 0;

			close(gate[1]);
			close(ready[0]);
			/* a barrier: every claimer has its journal open before any claims */
			snprintf(path, sizeof(path), "%s/claimed.%d", dir, c);
			if (!(out = fopen(path, "w")) ||
			    wh_journal_open(&cj, dir, WH_JOURNAL_CREATE, &err) < 0)
				_exit(1);
			if (write(ready[1], "r", 1) != 1 || read(gate[0], &ch, 1) < 0)
				_exit(9);
			for (;;) {
				struct wh_journal_deliveries list = {0};
				if (wh_journal_claim_due(&list, cj, &filter, 60000, &err) < 0) {
					fprintf(stderr, "claim: %s\n", err.message);
					status = 1;
					break;
				}
				if (list.count == 0)
					break;
				for (size_t i = 0; i < list.count; i++) {
					struct wh_journal_result r =
					    result_of(WH_JOURNAL_OUTCOME_DELIVERED, 200, 1);
					fprintf(out, "%" PRId64 "\n", list.items[i].id);
					if (wh_journal_record(cj, list.items[i].id, &r, NULL,
							      &err) < 0)
						status = 1;
				}
				wh_journal_deliveries_release(&list);
				sleep_ms(
				    5); /* let the other claimer in, even on a loaded machine */
			}
			fclose(out);
			wh_journal_close(cj);
			_exit(status);
		}
	}
	close(gate[0]);
	close(ready[1]);
	for (int c = 0; c < CLAIMERS; c++) {
		char ch;
		if (read(ready[0], &ch, 1) != 1)
			break;
	}
	close(ready[0]);
	close(gate[1]);
	CHECK("claimers succeed", wait_children(pids, CLAIMERS) == CLAIMERS);
	for (int c = 0; c < CLAIMERS; c++) {
		char path[512];
		FILE *in;
		long long id;

		snprintf(path, sizeof(path), "%s/claimed.%d", dir, c);
		if (!(in = fopen(path, "r")))
			continue;
		while (fscanf(in, "%lld", &id) == 1) {
			int64_t k = id - first_id + 1;
			total++;
			per[c]++;
			if (k < 1 || k > ROWS || seen[k]++)
				dup++;
		}
		fclose(in);
	}
	printf("claims: %d and %d\n", per[0], per[1]);
	CHECK("every row claimed", total == ROWS);
	CHECK("no row claimed twice", dup == 0);
	CHECK("both took part", per[0] > 0 && per[1] > 0);
	CHECK("all delivered, one attempt each",
	      sql_int(dir, "SELECT count(*) FROM deliveries WHERE status = 'delivered' AND "
			   "attempts = 1") == ROWS);
	free(dir);
}

/* Runs a child that opens the journal, inserts a message of hook with 3
 * targets leased for 10 minutes, says so on a pipe, then waits for the
 * parent to close its end (or to be killed). Returns the child's pid; *gate
 * is the parent's end to close. */
static pid_t leasing_child(const char *dir, const char *hook, int *gate)
{
	int done[2], hold[2];
	char c = 0;
	pid_t pid;

	if (pipe(done) < 0 || pipe(hold) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct wh_error err = WH_ERROR_INIT;
		struct wh_journal *cj = NULL;
		struct fixture f;

		close(done[0]);
		close(hold[1]);
		fixture_init(&f, hook, "clusters_deployed", 3);
		if (wh_journal_open(&cj, dir, WH_JOURNAL_CREATE, &err) < 0 ||
		    wh_journal_insert(cj, &f.message, 1, 10 * 60 * 1000, &err) < 0)
			_exit(1);
		if (write(done[1], "i", 1) != 1) /* "about to send the first byte" */
			_exit(1);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0); /* no close, no release: as if it died */
	}
	close(done[1]);
	close(hold[0]);
	if (read(done[0], &c, 1) != 1 || c != 'i')
		pid = -1;
	close(done[0]);
	*gate = hold[1];
	return pid;
}

static size_t claim_count(struct wh_journal *j, const char *hook)
{
	struct wh_error err = WH_ERROR_INIT;
	struct wh_journal_deliveries list = {0};
	struct wh_journal_claim_filter due = {hook, 0, 0};
	size_t n = 0;

	if (wh_journal_claim_due(&list, j, &due, 60000, &err) == 0)
		n = list.count;
	else
		fprintf(stderr, "claim: %s\n", err.message);
	for (size_t i = 0; i < list.count; i++)
		if (list.items[i].attempts != 0)
			n = 1000; /* never: nothing was attempted */
	wh_journal_deliveries_release(&list);
	return n;
}

/* At-least-once: a process killed (SIGKILL, no close, no cleanup) right
 * after the outbox insert leaves pending rows leased for 10 minutes; the
 * next claimer sees that the owner is dead and takes them at once. A live
 * owner keeps its rows; a zombie, a reused pid and an owner of another host
 * or pid namespace are judged as the journal's header says. */
static void test_killed_writer(void)
{
	char *dir = new_dir();
	struct wh_journal *j;
	int gate = -1, status = 0;
	pid_t pid;
	char sql[512];

	pid = leasing_child(dir, "killed", &gate);
	CHECK("child inserted", pid > 0);
	j = open_create(dir);
	CHECK("a live owner keeps its lease", j && claim_count(j, "killed") == 0);
	kill(pid, SIGKILL);
	/* not reaped yet: a zombie is dead too */
	for (int i = 0; i < 200; i++) {
		char path[64], buf[256] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((f = fopen(path, "r"))) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
		}
		if (strstr(buf, ") Z "))
			break;
		sleep_ms(5);
	}
	CHECK("a zombie owner's rows are taken at once", j && claim_count(j, "killed") == 3);
	waitpid(pid, &status, 0);
	CHECK("child was killed", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(gate);

	pid = leasing_child(dir, "reaped", &gate);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(gate);
	CHECK("a reaped owner's rows are taken at once", j && claim_count(j, "reaped") == 3);

	/* Another host tag with a dead pid: only expiry ends the lease. */
	pid = leasing_child(dir, "foreign", &gate);
	close(gate);
	waitpid(pid, &status, 0);
	snprintf(sql, sizeof(sql),
		 "UPDATE deliveries SET lease_owner = '%ld-0123456789abcdef@ffffffffffffffff:1' "
		 "WHERE hook = 'foreign'",
		 (long)pid);
	{
		char *path = wh_strdupf("%s/journal.db", dir);
		sqlite3 *db = NULL;
		CHECK("rewrite owners", sqlite3_open(path, &db) == SQLITE_OK &&
					    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
		/* our own pid, started at another time: a reused pid */
		snprintf(sql, sizeof(sql),
			 "UPDATE deliveries SET lease_owner = '%ld-0123456789abcdef@' || "
			 "substr('%s', instr('%s', '@') + 1, 16) || ':1' WHERE hook = 'foreign' "
			 "AND target_index = 0",
			 (long)getpid(), wh_journal_owner(j), wh_journal_owner(j));
		CHECK("reused pid owner", sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_close(db);
		free(path);
	}
	CHECK("another host's lease lasts; a reused pid's does not",
	      j && claim_count(j, "foreign") == 1);
	CHECK("the one taken is the reused pid's",
	      sql_int(dir, "SELECT target_index FROM deliveries WHERE hook = 'foreign' AND "
			   "lease_owner NOT LIKE '%@ffffffffffffffff:1'") == 0);
	wh_journal_close(j);
	free(dir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[300];

	snprintf(base, sizeof(base), "%s/whrun-journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_ids_and_names();
	test_schedule();
	test_state_dir();
	test_open_and_modes();
	test_open_errors();
	test_round_trip();
	test_headers_text();
	test_persistent_wal();
	test_leases_and_schedule();
	test_killed_writer();
	test_twenty_writers();
	test_two_claimers();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return check_done();
}
