/* journal: the SQLite outbox and delivery log (see journal.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journal.h"
#include "util.h"
#include "banned.h"

/*
 * The write-ahead log. No connection deletes the -wal file when it closes
 * or checkpoints it then (SQLITE_FCNTL_PERSIST_WAL,
 * SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): a run appends to the log and syncs it
 * once (the outbox commit) instead of creating it anew (a synced header,
 * a synced directory) and copying it back into the database at exit (two
 * more syncs). Committed transactions in the log are as durable as in the
 * database, and every reader sees them (through the -shm index; read-only,
 * see open_reader). SQLite's automatic checkpoint is replaced by
 * wal_committed, which only counts the log's frames, so that no commit in
 * the middle of a run stalls deliveries with a checkpoint.
 *
 * The first process to open the journal rebuilds the -shm index by reading
 * the whole log (some 5 us a page), so the log must stay short: a writer
 * whose log holds WAL_CHECKPOINT_FRAMES frames or more copies it back when
 * it closes (one run in many pays that: some 10 one-target runs, or every
 * run of a thousand targets, which writes ~400 frames), then restarts the
 * log with one small write so that the next process has almost nothing to
 * read. A log file longer than WAL_SIZE_LIMIT bytes is truncated to that
 * when it restarts.
 */
#define WAL_CHECKPOINT_FRAMES  128
#define WAL_CHECKPOINT_WAIT_MS 100
#define WAL_RUN_LIMIT_FRAMES   10000
#define WAL_SIZE_LIMIT	       "4194304" /* 4 MiB */
#define VFS_NAME	       "whrun-unix"

/* Below this much free space a writer refuses to start: it could not even
 * journal what it is about to send. */
#define MIN_FREE_BYTES (256 * 1024)

const int64_t wh_journal_schedule_ms[] = {
    5 * 1000LL,	       5 * 60 * 1000LL,	   30 * 60 * 1000LL,   2 * 3600 * 1000LL,
    5 * 3600 * 1000LL, 10 * 3600 * 1000LL, 10 * 3600 * 1000LL,
};
const size_t wh_journal_schedule_len = WH_ARRAY_SIZE(wh_journal_schedule_ms);

/* Statements of the hot write path (recording attempts, inserting
 * deliveries), prepared once per handle and reset after each use: with
 * 1,000 targets, preparing them per call was a quarter of the run. */
#define STMT_CACHE_SIZE 16

struct wh_journal {
	sqlite3 *db;
	char *path;
	char owner[96];
	char host[17]; /* this boot and pid namespace (see process_tag); "" when unknown */
	struct {
		const char *sql; /* a string literal: looked up by address */
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE_SIZE];
	size_t ncache;
	int batch;	/* inside wh_journal_batch_begin .. _end: its transaction is open */
	int wal_frames; /* frames in the log after our last commit */
};

static const char *const status_names[] = {"pending", "delivered", "failed", "gone"};
static const char *const outcome_names[] = {"delivered", "retry", "failed", "gone"};

/*
 * Version 1. deliveries.id is an INTEGER (shown as "dlv_N": short enough to
 * type after `whrun show`) and AUTOINCREMENT so that ids are never reused
 * and sort by creation. Statuses and outcomes are checked by the database.
 */
static const char schema_v1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE messages ("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " hook TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " config_commit TEXT NOT NULL,"
    " envelope TEXT,"
    " body BLOB NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE deliveries ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " message_id TEXT NOT NULL REFERENCES messages(id),"
    " hook TEXT NOT NULL,"
    " stage TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " target_index INTEGER NOT NULL,"
    " url TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status = 'pending' OR status = 'delivered' OR"
    " status = 'failed' OR status = 'gone'),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " deferrals INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER,"
    " http_status INTEGER,"
    " last_error TEXT,"
    " lease_owner TEXT,"
    " lease_until INTEGER,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';"
    "CREATE INDEX deliveries_message ON deliveries (message_id, target_index);"
    "CREATE INDEX deliveries_hook ON deliveries (hook);"
    "CREATE TABLE attempts ("
    " delivery_id INTEGER NOT NULL REFERENCES deliveries(id),"
    " number INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " duration_ms INTEGER NOT NULL,"
    " http_status INTEGER,"
    " outcome TEXT NOT NULL CHECK (outcome = 'delivered' OR outcome = 'retry' OR"
    " outcome = 'failed' OR outcome = 'gone'),"
    " error TEXT,"
    " request_headers TEXT,"
    " response_headers TEXT,"
    " response_body BLOB,"
    " response_truncated INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " UNIQUE (delivery_id, number));"
    "PRAGMA user_version = 1;";

#define DELIVERY_COLUMNS                                                                           \
	"d.id, d.message_id, d.hook, d.stage, d.kind, m.config_commit, d.target_index, d.url, "    \
	"d.method, d.status, d.attempts, d.deferrals, d.next_attempt_at, d.http_status, "          \
	"d.last_error, d.lease_owner, d.lease_until, d.created_at, d.updated_at "                  \
	"FROM deliveries d JOIN messages m ON m.id = d.message_id "

const char *wh_journal_status_name(enum wh_journal_status status)
{
	return (size_t)status < WH_ARRAY_SIZE(status_names) ? status_names[status] : "unknown";
}

int wh_journal_status_parse(const char *name)
{
	for (size_t i = 0; name && i < WH_ARRAY_SIZE(status_names); i++)
		if (strcmp(status_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *wh_journal_outcome_name(enum wh_journal_outcome outcome)
{
	return (size_t)outcome < WH_ARRAY_SIZE(outcome_names) ? outcome_names[outcome] : "unknown";
}

static int outcome_parse(const char *name)
{
	for (size_t i = 0; name && i < WH_ARRAY_SIZE(outcome_names); i++)
		if (strcmp(outcome_names[i], name) == 0)
			return (int)i;
	return WH_JOURNAL_OUTCOME_FAILED;
}

int64_t wh_journal_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wh_journal_format_time(char *out, size_t size, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&secs, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm)) {
		wh_strlcpy(out, "", size);
		return;
	}
	snprintf(out, size, "%s.%03dZ", base, (int)(ms % 1000));
}

int64_t wh_journal_next_attempt(int64_t now, int deferrals)
{
	if (deferrals < 0 || (size_t)deferrals >= wh_journal_schedule_len)
		return -1;
	return now + wh_journal_schedule_ms[deferrals];
}

int wh_journal_header_is_secret(const char *name)
{
	/* any of these, in any case, anywhere in the name */
	static const char *const words[] = {"authorization", "signature", "token",  "secret",
					    "api-key",	     "api_key",	  "apikey", "password",
					    "cookie",	     "session"};

	for (const char *p = name; *p; p++) {
		char c = (char)(*p | 0x20); /* lower case for letters */

		/* one pass over the name, stopping at the words' first letters */
		if (c != 'a' && c != 's' && c != 't' && c != 'p' && c != 'c')
			continue;
		for (size_t i = 0; i < WH_ARRAY_SIZE(words); i++)
			if (words[i][0] == c && strncasecmp(p, words[i], strlen(words[i])) == 0)
				return 1;
	}
	return 0;
}

static int random_bytes(void *out, size_t len, struct wh_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)out + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return wh_error_set(err, WH_EIO, "getrandom: %s", strerror(errno));
		done += (size_t)n;
	}
	return 0;
}

int wh_journal_new_message_id(char *out, size_t size, struct wh_error *err)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char bits[16];
	uint64_t now = (uint64_t)wh_journal_now();
	int error;

	if (size < WH_JOURNAL_MESSAGE_ID_LEN + 1)
		return wh_error_set(err, WH_EINTERNAL, "message id buffer too small");
	for (int i = 0; i < 6; i++)
		bits[i] = (unsigned char)(now >> (8 * (5 - i)));
	if ((error = random_bytes(bits + 6, 10, err)) < 0)
		return error;
	/* 128 bits as 26 base32 digits, most significant first (2 leading
	 * zero bits), like a ULID. */
	memcpy(out, "msg_", 4);
	for (int i = 0; i < 26; i++) {
		int bit = 130 - 5 * (i + 1); /* lowest bit of this digit */
		unsigned v = 0;
		for (int b = 4; b >= 0; b--) {
			int pos = bit + b; /* bit position from the least significant */
			v <<= 1;
			if (pos < 128)
				v |= (bits[15 - pos / 8] >> (pos % 8)) & 1u;
		}
		out[4 + i] = alphabet[v];
	}
	out[WH_JOURNAL_MESSAGE_ID_LEN] = '\0';
	return 0;
}

/* Translates SQLite's error once, here. */
static int db_error(struct wh_journal *j, int rc, struct wh_error *err, const char *what)
{
	const char *msg = j && j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc);
	const char *path = j && j->path ? j->path : "journal";
	int code;

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		code = WH_ENOMEM;
		break;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return wh_error_set(err, WH_ECONFIG, "%s: %s: not a usable whrun journal (%s)",
				    path, what, msg);
	case SQLITE_FULL:
		return wh_error_set(err, WH_EIO, "%s: %s: disk full (%s)", path, what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return wh_error_set(err, WH_EIO,
				    "%s: %s: the journal is locked by another process (waited "
				    "up to %d s: %s)",
				    path, what, WH_JOURNAL_BUSY_MS / 1000, msg);
	case SQLITE_READONLY:
		return wh_error_set(err, WH_EIO, "%s: %s: the journal is read-only (%s)", path,
				    what, msg);
	default:
		code = WH_EIO;
		break;
	}
	return wh_error_set(err, code, "%s: %s: %s", path, what, msg);
}

static int exec_sql(struct wh_journal *j, const char *sql, struct wh_error *err, const char *what)
{
	int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_error(j, rc, err, what);
}

static int prepare(sqlite3_stmt **stmt, struct wh_journal *j, const char *sql, struct wh_error *err)
{
	int rc = sqlite3_prepare_v2(j->db, sql, -1, stmt, NULL);
	return rc == SQLITE_OK ? 0 : db_error(j, rc, err, "preparing a query");
}

/* Like prepare, for a statement literal kept in j's cache: returns it
 * reset with no bindings. Give it back with release_cached, never
 * sqlite3_finalize. */
static int prepare_cached(sqlite3_stmt **stmt, struct wh_journal *j, const char *sql,
			  struct wh_error *err)
{
	int rc;

	for (size_t i = 0; i < j->ncache; i++) {
		if (j->cache[i].sql == sql) {
			*stmt = j->cache[i].stmt;
			sqlite3_reset(*stmt);
			sqlite3_clear_bindings(*stmt);
			return 0;
		}
	}
	rc = sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	if (rc != SQLITE_OK)
		return db_error(j, rc, err, "preparing a query");
	if (j->ncache < STMT_CACHE_SIZE) {
		j->cache[j->ncache].sql = sql;
		j->cache[j->ncache].stmt = *stmt;
		j->ncache++;
	}
	return 0;
}

/* Gives back a statement from prepare_cached (or finalizes it when the
 * cache was full); NULL is fine. */
static void release_cached(struct wh_journal *j, sqlite3_stmt *stmt)
{
	if (!stmt)
		return;
	for (size_t i = 0; i < j->ncache; i++) {
		if (j->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			return;
		}
	}
	sqlite3_finalize(stmt);
}

static int exec_cached(struct wh_journal *j, const char *sql, struct wh_error *err,
		       const char *what)
{
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	if ((error = prepare_cached(&stmt, j, sql, err)) < 0)
		return error;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = db_error(j, rc, err, what);
	release_cached(j, stmt);
	return error;
}

static int begin_write(struct wh_journal *j, struct wh_error *err)
{
	return exec_cached(j, "BEGIN IMMEDIATE", err, "starting a write");
}

static int commit(struct wh_journal *j, struct wh_error *err)
{
	return exec_cached(j, "COMMIT", err, "committing");
}

static void rollback(struct wh_journal *j)
{
	if (!sqlite3_get_autocommit(j->db))
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text)
		sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, index);
}

static void bind_int_or_null(sqlite3_stmt *stmt, int index, int64_t value)
{
	if (value)
		sqlite3_bind_int64(stmt, index, value);
	else
		sqlite3_bind_null(stmt, index);
}

/* A column's text as a malloc'ed copy; NULL for SQL NULL. Sets *oom. */
static char *column_dup(sqlite3_stmt *stmt, int col, int *oom)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);
	char *copy;

	if (!text)
		return NULL;
	if (!(copy = malloc((size_t)len + 1))) {
		*oom = 1;
		return NULL;
	}
	memcpy(copy, text, (size_t)len);
	copy[len] = '\0';
	return copy;
}

/* A blob column as a malloc'ed copy with a NUL after it, its length in
 * *len; NULL (len 0) for SQL NULL. Sets *oom. */
static char *column_blob_dup(sqlite3_stmt *stmt, int col, size_t *len, int *oom)
{
	const void *blob;
	int n;
	char *copy;

	*len = 0;
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	blob = sqlite3_column_blob(stmt, col);
	n = sqlite3_column_bytes(stmt, col);
	if (!(copy = malloc((size_t)n + 1))) {
		*oom = 1;
		return NULL;
	}
	if (n)
		memcpy(copy, blob, (size_t)n);
	copy[n] = '\0';
	*len = (size_t)n;
	return copy;
}

/* --- lease owners and their liveness ------------------------------------ */

/*
 * A lease owner is "<pid>-<16 hex random>@<host tag>:<start time>". The
 * host tag is a 64-bit FNV-1a hash of the kernel's boot id and the inode of
 * our pid namespace: two processes with the same tag see the same pids.
 * The start time (clock ticks after boot, /proc/PID/stat field 22) tells a
 * process from a later one that reused its pid.
 */
static void host_tag(char *out, size_t size)
{
	char boot[64] = "";
	struct stat st;
	uint64_t h = 1469598103934665603ULL;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	char text[128];

	wh_strlcpy(out, "", size);
	if (f) {
		if (!fgets(boot, sizeof(boot), f))
			boot[0] = '\0';
		fclose(f);
	}
	if (!boot[0] || stat("/proc/self/ns/pid", &st) < 0)
		return;
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(text, sizeof(text), "%s:%llu", boot, (unsigned long long)st.st_ino);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	snprintf(out, size, "%016llx", (unsigned long long)h);
}

/* The start time of pid from /proc/PID/stat (field 22); 0 when unknown.
 * *state (may be NULL) receives its state letter ('Z' for a zombie). */
static unsigned long long process_stat(long pid, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	size_t n;
	FILE *f;

	if (state)
		*state = '?';
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || !p[2])
		return 0;
	p += 2;
	if (state)
		*state = *p;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

static unsigned long long process_start_time(long pid)
{
	return process_stat(pid, NULL);
}

/* 1 when owner names a process of this host tag that no longer runs: no
 * such pid, a zombie, or another process that reused the pid. 0 whenever
 * that cannot be known for sure (another host or pid namespace, an owner
 * written by an older whrun, no /proc): the lease then lasts until it
 * expires. */
static int owner_dead(const char *host, const char *owner)
{
	const char *at, *colon;
	unsigned long long start, now_start;
	char *end;
	long pid;
	char state;

	if (!host[0] || !owner)
		return 0;
	errno = 0;
	pid = strtol(owner, &end, 10);
	if (errno || end == owner || *end != '-' || pid <= 0 || !(at = strchr(owner, '@')) ||
	    strncmp(at + 1, host, strlen(host)) != 0 || at[1 + strlen(host)] != ':')
		return 0;
	colon = at + 1 + strlen(host);
	start = strtoull(colon + 1, NULL, 10);
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	now_start = process_stat(pid, &state);
	if (state == 'Z' || state == 'X')
		return 1;
	return start && now_start && now_start != start;
}

/* SQL: lease_dead(owner) -> 1 when owner_dead (see above). */
static void sql_lease_dead(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct wh_journal *j = sqlite3_user_data(ctx);
	const unsigned char *owner = argc == 1 ? sqlite3_value_text(argv[0]) : NULL;

	sqlite3_result_int(ctx, owner_dead(j->host, (const char *)owner));
}

/* --- the state directory and opening ----------------------------------- */

int wh_journal_state_dir(char **out, const char *state_dir, struct wh_error *err)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	*out = NULL;
	if (state_dir && *state_dir)
		*out = wh_strdupf("%s", state_dir);
	else if (xdg && *xdg == '/')
		*out = wh_strdupf("%s/whrun", xdg);
	else if (home && *home)
		*out = wh_strdupf("%s/.local/state/whrun", home);
	else
		return wh_error_set(err, WH_ECONFIG,
				    "no state directory: give --state DIR or set WHRUN_STATE_DIR, "
				    "XDG_STATE_HOME or HOME");
	return *out ? 0 : wh_error_set(err, WH_ENOMEM, "out of memory");
}

/* mkdir -p, each missing component 0700. */
static int make_dirs(const char *dir, struct wh_error *err)
{
	char *path = wh_strdupf("%s", dir);
	int error = 0;

	if (!path)
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			error =
			    wh_error_set(err, WH_EIO, "cannot create the state directory %s: %s",
					 path, strerror(errno));
			goto out;
		}
		*p = saved;
		if (!saved)
			break;
	}
out:
	free(path);
	return error;
}

/* Creates the database file 0600 ourselves (SQLite would honour the umask)
 * and checks it can be written; SQLite gives its -wal and -shm files the
 * database's mode. */
static int create_file(const char *path, struct wh_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0) {
		int rc = fchmod(fd, 0600);
		int saved = errno;
		close(fd);
		if (rc < 0)
			return wh_error_set(err, WH_EIO, "%s: %s", path, strerror(saved));
		return 0;
	}
	if (errno == EEXIST)
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return wh_error_set(err, WH_EIO, "cannot open the journal %s for writing: %s", path,
				    strerror(errno));
	close(fd);
	return 0;
}

static int check_free_space(const char *dir, struct wh_error *err)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) == 0 && vfs.f_frsize &&
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize < MIN_FREE_BYTES)
		return wh_error_set(err, WH_EIO,
				    "the state directory %s is full (less than %d KiB free); "
				    "nothing was sent",
				    dir, MIN_FREE_BYTES / 1024);
	return 0;
}

static int query_int(int64_t *out, struct wh_journal *j, const char *sql, struct wh_error *err)
{
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	if ((error = prepare(&stmt, j, sql, err)) < 0)
		return error;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		error = db_error(j, rc, err, "reading");
	sqlite3_finalize(stmt);
	return error;
}

/* Creates the schema, or brings an older one up to date, in one IMMEDIATE
 * transaction. A journal already up to date (the usual case) costs one
 * read and no write: the first write of every writer (the outbox insert,
 * a claim) comes before anything is sent, so it is the one that proves the
 * journal takes writes. */
static int setup_schema(struct wh_journal *j, struct wh_error *err)
{
	/* Added after version 1 shipped; harmless to readers, so no new version. */
	static const char gone_index[] =
	    "CREATE INDEX IF NOT EXISTS deliveries_gone ON deliveries (hook, url) WHERE status = "
	    "'gone'";
	int64_t state = 0, version;
	int error;

	/* user_version * 2 + 1 when the newest index exists */
	if ((error = query_int(&state, j,
			       "SELECT user_version * 2 + EXISTS (SELECT 1 FROM sqlite_master "
			       "WHERE type = 'index' AND name = 'deliveries_gone') FROM "
			       "pragma_user_version",
			       err)) < 0)
		return error;
	if (state == WH_JOURNAL_SCHEMA * 2 + 1)
		return 0;
	if ((error = begin_write(j, err)) < 0 ||
	    (error = query_int(&version, j, "PRAGMA user_version", err)) < 0)
		goto out;
	if (version > WH_JOURNAL_SCHEMA) {
		error = wh_error_set(err, WH_ECONFIG,
				     "%s: journal schema %" PRId64
				     " was written by a newer whrun (this one knows %d)",
				     j->path, version, WH_JOURNAL_SCHEMA);
		goto out;
	}
	if ((version == 0 && (error = exec_sql(j, schema_v1, err, "creating the schema")) < 0) ||
	    (error = exec_sql(j, gone_index, err, "creating an index")) < 0)
		goto out;
	error = commit(j, err);
out:
	if (error < 0)
		rollback(j);
	return error;
}

/* Switches to WAL (persistent in the file, so this is a no-op once done).
 * When several processes create the journal at once, the switch can fail
 * with SQLITE_BUSY without SQLite calling the busy handler (to avoid a
 * deadlock between readers that all want to upgrade), so it is retried here
 * with a short sleep, within the same overall wait as the busy timeout. */
static int enable_wal(struct wh_journal *j, struct wh_error *err)
{
	int64_t deadline = wh_journal_now() + WH_JOURNAL_BUSY_MS;
	long sleep_ms = 1;
	int error = 0, rc;

	for (;;) {
		sqlite3_stmt *stmt = NULL;
		const unsigned char *mode;

		if ((error = prepare(&stmt, j, "PRAGMA journal_mode = WAL", err)) < 0)
			return error;
		rc = sqlite3_step(stmt);
		mode = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
		if (mode && strcmp((const char *)mode, "wal") == 0)
			error = 0;
		else if (mode)
			error = wh_error_set(
			    err, WH_EIO, "%s: the file system does not support WAL mode", j->path);
		else if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && wh_journal_now() < deadline)
			error = 1; /* try again */
		else
			error = db_error(j, rc, err, "switching to WAL");
		sqlite3_finalize(stmt);
		if (error <= 0)
			return error;
		{
			struct timespec ts = {0, sleep_ms * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (sleep_ms < 32)
			sleep_ms *= 2;
	}
}

/* sqlite3_wal_hook: notes the log's length (see WAL_CHECKPOINT_FRAMES).
 * A log that grows past WAL_RUN_LIMIT_FRAMES within one long run (tens of
 * thousands of attempts, or runs that keep overlapping) gets a PASSIVE
 * checkpoint there, as SQLite's own auto-checkpoint would do: it waits
 * for no one, and bounds the log. */
static int wal_committed(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct wh_journal *j = ctx;

	j->wal_frames = frames;
	if (frames >= WAL_RUN_LIMIT_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static int configure(struct wh_journal *j, int writer, struct wh_error *err)
{
	int error, persist = 1;

	sqlite3_busy_timeout(j->db, WH_JOURNAL_BUSY_MS);
	sqlite3_extended_result_codes(j->db, 0);
	if (sqlite3_create_function(j->db, "lease_dead", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, j,
				    sql_lease_dead, NULL, NULL) != SQLITE_OK ||
	    sqlite3_db_config(j->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL) != SQLITE_OK ||
	    sqlite3_file_control(j->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist) != SQLITE_OK ||
	    sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK)
		return db_error(j, sqlite3_errcode(j->db), err, "configuring");
	if (!writer)
		return 0;
	sqlite3_wal_hook(j->db, wal_committed, j);
	if ((error = enable_wal(j, err)) < 0)
		return error;
	return exec_sql(j,
			"PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = " WAL_SIZE_LIMIT,
			err, "configuring");
}

/*
 * SQLite's unix VFS syncs the directory the first time it syncs a -wal
 * file it opened with SQLITE_OPEN_CREATE, and it always asks for that:
 * with a log kept between runs, every run would pay for a directory sync
 * (as much as a file sync) that only a new file needs. This VFS is the
 * unix one, except that a -wal file that exists and is not empty is
 * opened without SQLITE_OPEN_CREATE. That is as durable: a log with
 * content had its header written and synced by a process that found it
 * empty or missing, opened it with SQLITE_OPEN_CREATE and so synced the
 * directory before any transaction in it counted as committed. What is
 * left: a process killed between writing a new log's header and its first
 * sync, followed within the kernel's writeback delay by a commit of the
 * next process and a power cut; or a -wal copied in from elsewhere.
 */
static sqlite3_vfs *base_vfs;
static sqlite3_vfs own_vfs;

static int own_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
			int *out_flags)
{
	struct stat st;
	int rc;

	(void)vfs;
	if ((flags & SQLITE_OPEN_WAL) && (flags & SQLITE_OPEN_CREATE) && name &&
	    stat(name, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		rc = base_vfs->xOpen(base_vfs, name, file, flags & ~SQLITE_OPEN_CREATE, out_flags);
		if (rc != SQLITE_CANTOPEN)
			return rc;
		/* removed in between: create it */
	}
	return base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
}

static void register_vfs(void)
{
	if (!(base_vfs = sqlite3_vfs_find(NULL)))
		return;
	own_vfs = *base_vfs;
	own_vfs.zName = VFS_NAME;
	own_vfs.pNext = NULL;
	own_vfs.xOpen = own_vfs_open;
	if (sqlite3_vfs_register(&own_vfs, 0) != SQLITE_OK)
		base_vfs = NULL;
}

/* The VFS name for sqlite3_open_v2: ours, or NULL (the default) when it
 * could not be registered. */
static const char *vfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_vfs);
	return base_vfs ? VFS_NAME : NULL;
}

/* "file:" URI of path with immutable=1: characters outside the unreserved
 * set are percent-encoded. NULL when out of memory. */
static char *immutable_uri(const char *path)
{
	struct wh_buf buf = WH_BUF_INIT(16384);
	int error = wh_buf_adds(&buf, "file:");

	for (const unsigned char *p = (const unsigned char *)path; !error && *p; p++) {
		if (isalnum(*p) || strchr("/-._~", *p))
			error = wh_buf_add(&buf, p, 1);
		else
			error = wh_buf_addf(&buf, "%%%02X", *p);
	}
	if (!error)
		error = wh_buf_adds(&buf, "?immutable=1");
	if (error) {
		wh_buf_release(&buf);
		return NULL;
	}
	return wh_buf_detach(&buf);
}

/*
 * Readers open read-write when they may (a WAL reader writes the -shm
 * index) and read-only otherwise: SQLite then reads the -wal file that
 * writers keep (see WAL_CHECKPOINT_FRAMES) through the existing -shm file
 * even where neither can be written, such as a read-only mount. When even
 * that cannot read (a read-only mount without the -shm file) and the file
 * system is mounted read-only, the file is opened as immutable: correct
 * there, as nobody can write to it either, but the transactions still in
 * the -wal file (the newest ones) are then not seen.
 */
static int mounted_read_only(const char *path)
{
	struct statvfs vfs;
	return statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

static int open_reader(struct wh_journal *j, int64_t *version, struct wh_error *err)
{
	static const int flags[] = {SQLITE_OPEN_READWRITE, SQLITE_OPEN_READONLY,
				    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI};
	int error = 0, rc;

	for (size_t i = 0; i < WH_ARRAY_SIZE(flags); i++) {
		char *uri = NULL;

		if ((flags[i] & SQLITE_OPEN_URI) && !mounted_read_only(j->path))
			break; /* keep the previous error */
		sqlite3_close(j->db);
		j->db = NULL;
		if ((flags[i] & SQLITE_OPEN_URI) && !(uri = immutable_uri(j->path)))
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		wh_error_clear(err);
		rc = sqlite3_open_v2(uri ? uri : j->path, &j->db, flags[i] | SQLITE_OPEN_NOFOLLOW,
				     vfs_name());
		free(uri);
		if (rc != SQLITE_OK)
			error = db_error(j, rc, err, "opening");
		else if ((error = configure(j, 0, err)) == 0 &&
			 (error = query_int(version, j, "PRAGMA user_version", err)) == 0)
			return 0;
		if (error == WH_ECONFIG || error == WH_ENOMEM)
			break; /* not a database: another mode will not help */
	}
	return error;
}

int wh_journal_open(struct wh_journal **out, const char *dir, enum wh_journal_open_mode mode,
		    struct wh_error *err)
{
	struct wh_journal *j = NULL;
	unsigned char token[8];
	struct stat st;
	int error = 0, rc, writer = mode == WH_JOURNAL_CREATE;

	*out = NULL;
	if (!(j = calloc(1, sizeof(*j))) ||
	    !(j->path = wh_strdupf("%s/%s", dir, WH_JOURNAL_FILE))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = random_bytes(token, sizeof(token), err)) < 0)
		goto out;
	host_tag(j->host, sizeof(j->host));
	snprintf(j->owner, sizeof(j->owner), "%ld-%02x%02x%02x%02x%02x%02x%02x%02x@%s:%llu",
		 (long)getpid(), token[0], token[1], token[2], token[3], token[4], token[5],
		 token[6], token[7], j->host[0] ? j->host : "none",
		 process_start_time((long)getpid()));

	if (writer) {
		if ((error = make_dirs(dir, err)) < 0 || (error = create_file(j->path, err)) < 0 ||
		    (error = check_free_space(dir, err)) < 0)
			goto out;
		rc = sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
				     vfs_name());
		if (rc != SQLITE_OK) {
			error = db_error(j, rc, err, "opening");
			goto out;
		}
		if (sqlite3_db_readonly(j->db, "main") == 1) {
			error = wh_error_set(err, WH_EIO, "%s: the journal is read-only", j->path);
			goto out;
		}
		if ((error = configure(j, 1, err)) < 0 || (error = setup_schema(j, err)) < 0)
			goto out;
	} else {
		int64_t version = 0;

		if (stat(j->path, &st) < 0) {
			error = wh_error_set(err, errno == ENOENT ? WH_ENOTFOUND : WH_EIO,
					     "no journal at %s%s%s", j->path,
					     errno == ENOENT ? "" : ": ",
					     errno == ENOENT ? "" : strerror(errno));
			goto out;
		}
		error = open_reader(j, &version, err);
		if (error < 0)
			goto out;
		if (version == 0) {
			error = wh_error_set(err, WH_ENOTFOUND, "the journal %s is empty", j->path);
			goto out;
		}
		if (version > WH_JOURNAL_SCHEMA) {
			error = wh_error_set(err, WH_ECONFIG,
					     "%s: journal schema %" PRId64
					     " was written by a newer whrun",
					     j->path, version);
			goto out;
		}
	}
out:
	if (error < 0)
		wh_journal_close(j);
	else
		*out = j;
	return error;
}

void wh_journal_close(struct wh_journal *journal)
{
	if (!journal)
		return;
	if (journal->batch && journal->db)
		sqlite3_exec(journal->db, "COMMIT", NULL, NULL, NULL);
	for (size_t i = 0; i < journal->ncache; i++)
		sqlite3_finalize(journal->cache[i].stmt);
	/* Best effort, waiting briefly for other processes: when it cannot
	 * run now, a later writer's will. RESTART, then a write, which starts
	 * the log over from its beginning: the -shm index that remembers what
	 * was copied back does not outlive the last connection, so a log left
	 * whole would be read and copied again by the next process. */
	if (journal->db && journal->wal_frames >= WAL_CHECKPOINT_FRAMES) {
		sqlite3_busy_timeout(journal->db, WAL_CHECKPOINT_WAIT_MS);
		if (sqlite3_wal_checkpoint_v2(journal->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL,
					      NULL) == SQLITE_OK) {
			char sql[128];

			snprintf(sql, sizeof(sql),
				 "INSERT OR REPLACE INTO meta (key, value) VALUES "
				 "('last_checkpoint', '%" PRId64 "')",
				 wh_journal_now());
			sqlite3_exec(journal->db, sql, NULL, NULL, NULL);
		}
	}
	sqlite3_close(journal->db);
	free(journal->path);
	free(journal);
}

const char *wh_journal_owner(const struct wh_journal *journal)
{
	return journal->owner;
}

const char *wh_journal_path(const struct wh_journal *journal)
{
	return journal->path;
}

/* --- writing -------------------------------------------------------------- */

static int insert_targets(struct wh_journal *j, const char *message_id, const char *hook,
			  const char *stage, const char *kind, struct wh_journal_target *targets,
			  size_t ntargets, int64_t now, int64_t lease_ms, struct wh_error *err)
{
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	if ((error = prepare_cached(
		 &stmt, j,
		 "INSERT INTO deliveries (message_id, hook, stage, kind, target_index, "
		 "url, method, status, attempts, deferrals, next_attempt_at, "
		 "lease_owner, lease_until, created_at, updated_at) VALUES (?1, ?2, "
		 "?3, ?4, ?5, ?6, ?7, 'pending', 0, 0, ?8, ?9, ?10, ?8, ?8)",
		 err)) < 0)
		return error;
	for (size_t i = 0; i < ntargets; i++) {
		struct wh_journal_target *t = &targets[i];

		sqlite3_reset(stmt);
		bind_text(stmt, 1, message_id);
		bind_text(stmt, 2, hook);
		bind_text(stmt, 3, stage);
		bind_text(stmt, 4, kind);
		sqlite3_bind_int64(stmt, 5, (int64_t)t->index);
		bind_text(stmt, 6, t->url ? t->url : "");
		bind_text(stmt, 7, t->method ? t->method : "POST");
		sqlite3_bind_int64(stmt, 8, now);
		bind_text(stmt, 9, j->owner);
		sqlite3_bind_int64(stmt, 10, now + lease_ms);
		if ((rc = sqlite3_step(stmt)) != SQLITE_DONE) {
			error = db_error(j, rc, err, "inserting a delivery");
			break;
		}
		t->id = sqlite3_last_insert_rowid(j->db);
	}
	release_cached(j, stmt);
	return error;
}

int wh_journal_insert(struct wh_journal *journal, struct wh_journal_message *messages,
		      size_t nmessages, int64_t lease_ms, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int64_t now = wh_journal_now();
	int error, rc;

	/* The outbox row must outlive a power loss, not only a crash: this
	 * commit alone syncs the WAL. */
	if ((error = exec_sql(j, "PRAGMA synchronous = FULL", err, "configuring")) < 0)
		return error;
	if ((error = begin_write(j, err)) < 0 ||
	    (error = prepare(&stmt, j,
			     "INSERT INTO messages (id, type, hook, kind, config_commit, envelope, "
			     "body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			     err)) < 0)
		goto out;
	for (size_t i = 0; i < nmessages; i++) {
		const struct wh_journal_message *m = &messages[i];

		sqlite3_reset(stmt);
		bind_text(stmt, 1, m->id);
		bind_text(stmt, 2, m->type);
		bind_text(stmt, 3, m->hook);
		bind_text(stmt, 4, m->kind ? m->kind : "standard");
		bind_text(stmt, 5, m->config_commit ? m->config_commit : "");
		bind_text(stmt, 6, m->envelope);
		sqlite3_bind_blob64(stmt, 7, m->body ? m->body : "", m->body_len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 8, m->created_at ? m->created_at : now);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_CONSTRAINT) {
			error = wh_error_set(err, WH_ECONFIG,
					     "%s: message %s is already in the journal (or lacks "
					     "a field)",
					     j->path, m->id ? m->id : "(no id)");
			goto out;
		}
		if (rc != SQLITE_DONE) {
			error = db_error(j, rc, err, "inserting a message");
			goto out;
		}
		if ((error =
			 insert_targets(j, m->id, m->hook, m->type, m->kind ? m->kind : "standard",
					m->targets, m->ntargets, now, lease_ms, err)) < 0)
			goto out;
	}
	error = commit(j, err);
out:
	sqlite3_finalize(stmt);
	if (error < 0)
		rollback(j);
	sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	return error;
}

int wh_journal_add_deliveries(struct wh_journal *journal, const char *message_id,
			      struct wh_journal_target *targets, size_t ntargets, int64_t lease_ms,
			      struct wh_error *err)
{
	struct wh_journal *j = journal;
	struct wh_journal_stored_message m = {0};
	int error;

	if ((error = exec_sql(j, "PRAGMA synchronous = FULL", err, "configuring")) < 0)
		return error;
	if ((error = begin_write(j, err)) < 0 ||
	    (error = wh_journal_get_message(&m, j, message_id, err)) < 0)
		goto out;
	error = insert_targets(j, m.id, m.hook, m.type, m.kind, targets, ntargets, wh_journal_now(),
			       lease_ms, err);
	if (!error)
		error = commit(j, err);
out:
	wh_journal_message_release(&m);
	if (error < 0)
		rollback(j);
	sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	return error;
}

/* Reads one row of DELIVERY_COLUMNS. */
static int read_delivery(struct wh_journal_delivery *d, sqlite3_stmt *stmt)
{
	int oom = 0, status;

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(stmt, 0);
	d->message_id = column_dup(stmt, 1, &oom);
	d->hook = column_dup(stmt, 2, &oom);
	d->stage = column_dup(stmt, 3, &oom);
	d->kind = column_dup(stmt, 4, &oom);
	d->config_commit = column_dup(stmt, 5, &oom);
	d->target_index = (size_t)sqlite3_column_int64(stmt, 6);
	d->url = column_dup(stmt, 7, &oom);
	d->method = column_dup(stmt, 8, &oom);
	status = wh_journal_status_parse((const char *)sqlite3_column_text(stmt, 9));
	d->status = status < 0 ? WH_JOURNAL_FAILED : (enum wh_journal_status)status;
	d->attempts = sqlite3_column_int(stmt, 10);
	d->deferrals = sqlite3_column_int(stmt, 11);
	d->next_attempt_at = sqlite3_column_int64(stmt, 12);
	d->http_status = sqlite3_column_int(stmt, 13);
	d->last_error = column_dup(stmt, 14, &oom);
	d->lease_owner = column_dup(stmt, 15, &oom);
	d->lease_until = sqlite3_column_int64(stmt, 16);
	d->created_at = sqlite3_column_int64(stmt, 17);
	d->updated_at = sqlite3_column_int64(stmt, 18);
	return oom ? WH_ENOMEM : 0;
}

int wh_journal_lease_held(const struct wh_journal *journal, const struct wh_journal_delivery *d,
			  int64_t now)
{
	return d->status == WH_JOURNAL_PENDING && d->lease_owner && d->lease_until > now &&
	       !owner_dead(journal->host, d->lease_owner);
}

static void delivery_release(struct wh_journal_delivery *d)
{
	free(d->message_id);
	free(d->hook);
	free(d->stage);
	free(d->kind);
	free(d->config_commit);
	free(d->url);
	free(d->method);
	free(d->last_error);
	free(d->lease_owner);
}

void wh_journal_deliveries_release(struct wh_journal_deliveries *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		delivery_release(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* Steps stmt to the end, appending every row to out. */
static int collect_deliveries(struct wh_journal_deliveries *out, struct wh_journal *j,
			      sqlite3_stmt *stmt, struct wh_error *err)
{
	size_t alloc = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (out->count == alloc) {
			size_t n = alloc ? alloc * 2 : 16;
			void *p = realloc(out->items, n * sizeof(*out->items));
			if (!p)
				return wh_error_set(err, WH_ENOMEM, "out of memory");
			out->items = p;
			alloc = n;
		}
		if (read_delivery(&out->items[out->count++], stmt) < 0)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	return rc == SQLITE_DONE ? 0 : db_error(j, rc, err, "reading deliveries");
}

int wh_journal_claim_due(struct wh_journal_deliveries *out, struct wh_journal *journal,
			 const struct wh_journal_claim_filter *filter, int64_t lease_ms,
			 struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *select = NULL, *update = NULL;
	int64_t now = wh_journal_now();
	int error, rc;

	memset(out, 0, sizeof(*out));
	if ((error = begin_write(j, err)) < 0 ||
	    (error = prepare(&select, j,
			     "SELECT " DELIVERY_COLUMNS
			     "WHERE d.status = 'pending' AND (d.lease_until IS NULL OR "
			     "d.lease_until <= ?1 OR lease_dead(d.lease_owner)) AND (?2 OR "
			     "d.next_attempt_at <= ?1) AND (?3 IS "
			     "NULL OR d.hook = ?3) ORDER BY d.next_attempt_at, d.id LIMIT ?4",
			     err)) < 0 ||
	    (error = prepare(&update, j,
			     "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2, "
			     "updated_at = ?3 WHERE id = ?4",
			     err)) < 0)
		goto out;
	sqlite3_bind_int64(select, 1, now);
	sqlite3_bind_int(select, 2, filter && filter->all);
	bind_text(select, 3, filter ? filter->hook : NULL);
	sqlite3_bind_int64(select, 4, filter && filter->limit ? (int64_t)filter->limit : -1);
	if ((error = collect_deliveries(out, j, select, err)) < 0)
		goto out;
	for (size_t i = 0; i < out->count; i++) {
		struct wh_journal_delivery *d = &out->items[i];

		sqlite3_reset(update);
		bind_text(update, 1, j->owner);
		sqlite3_bind_int64(update, 2, now + lease_ms);
		sqlite3_bind_int64(update, 3, now);
		sqlite3_bind_int64(update, 4, d->id);
		if ((rc = sqlite3_step(update)) != SQLITE_DONE) {
			error = db_error(j, rc, err, "leasing a delivery");
			goto out;
		}
		free(d->lease_owner);
		if (!(d->lease_owner = wh_strdupf("%s", j->owner))) {
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
			goto out;
		}
		d->lease_until = now + lease_ms;
		d->updated_at = now;
	}
	error = commit(j, err);
out:
	sqlite3_finalize(select);
	sqlite3_finalize(update);
	if (error < 0) {
		rollback(j);
		wh_journal_deliveries_release(out);
	}
	return error;
}

/* Runs an UPDATE that names this handle's lease; WH_ENOTFOUND when it
 * changed no row. */
static int update_own(struct wh_journal *j, const char *sql, int64_t delivery_id, int64_t value,
		      struct wh_error *err)
{
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	if ((error = prepare(&stmt, j, sql, err)) < 0)
		return error;
	sqlite3_bind_int64(stmt, 1, delivery_id);
	bind_text(stmt, 2, j->owner);
	sqlite3_bind_int64(stmt, 3, value);
	sqlite3_bind_int64(stmt, 4, wh_journal_now());
	if ((rc = sqlite3_step(stmt)) != SQLITE_DONE)
		error = db_error(j, rc, err, "updating a lease");
	else if (sqlite3_changes(j->db) == 0)
		error = wh_error_set(err, WH_ENOTFOUND,
				     "delivery " WH_JOURNAL_ID_PREFIX "%" PRId64
				     " is not leased by this process",
				     delivery_id);
	sqlite3_finalize(stmt);
	return error;
}

int wh_journal_renew(struct wh_journal *journal, int64_t delivery_id, int64_t lease_ms,
		     struct wh_error *err)
{
	return update_own(journal,
			  "UPDATE deliveries SET lease_until = ?4 + ?3, updated_at = ?4 WHERE id = "
			  "?1 AND lease_owner = ?2 AND status = 'pending'",
			  delivery_id, lease_ms, err);
}

int wh_journal_release(struct wh_journal *journal, int64_t delivery_id, struct wh_error *err)
{
	return update_own(journal,
			  "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, "
			  "updated_at = ?4 WHERE id = ?1 AND lease_owner = ?2 AND ?3 = ?3",
			  delivery_id, 0, err);
}

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF): what a JSON string may hold. */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp, min;

		while (c < 0x80) {
			if (++i == len)
				return 1;
			c = s[i];
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Appends s[0..len) as the inside of a JSON string, escaped as jansson's
 * json_dumps escapes it (quote, backslash, control characters). */
static int json_escape(struct wh_buf *buf, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;
	int error = 0;

	while (!error && i < len) {
		size_t run = i;
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t esc_len = 2;
		unsigned char c;

		while (i < len && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
			i++;
		if ((error = wh_buf_add(buf, s + run, i - run)) < 0 || i == len)
			break;
		switch ((c = (unsigned char)s[i++])) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc_len = 6;
			break;
		}
		error = wh_buf_add(buf, esc, esc_len);
	}
	return error;
}

#define NOT_UTF8 "[not UTF-8]"

/* a may be NULL (no name) */
static int same_name(const char *a, const char *b)
{
	return a && a[0] == b[0] && strcmp(a, b) == 0;
}

/*
 * Headers as a compact JSON object (text, malloc'ed), credentials masked,
 * names in the order they first appear, the values of a repeated name
 * joined with ", ". A value that is not UTF-8 is stored as "[not UTF-8]",
 * and so are the values of that name before it; every name that is not
 * UTF-8 is stored as one "[not UTF-8]" key, its values masked. NULL with *oom = 0 when there are
 * none. Written by hand rather than with jansson: this runs for every attempt, and building then
 * dumping a json_t was half the cost of recording one.
 */
static char *headers_json(const struct wh_journal_header *headers, size_t n, int *oom)
{
	struct wh_buf buf = WH_BUF_INIT(SIZE_MAX / 2);
	const char **names = NULL;
	int error = 0, first = 1;

	if (!n)
		return NULL;
	if (!(names = calloc(n, sizeof(*names)))) {
		*oom = 1;
		return NULL;
	}
	/* names[i]: header i's name as stored, NULL when it has none */
	for (size_t i = 0; i < n; i++)
		if (headers[i].name)
			names[i] = utf8_valid((const unsigned char *)headers[i].name,
					      strlen(headers[i].name))
				       ? headers[i].name
				       : NOT_UTF8;
	error = wh_buf_add(&buf, "{", 1);
	for (size_t i = 0; !error && i < n; i++) {
		size_t from = i, k;
		int sep = 0, secret;

		if (!names[i])
			continue;
		for (k = 0; k < i && !same_name(names[k], names[i]); k++)
			;
		if (k < i)
			continue; /* written with its first occurrence */
		/* a name that is not UTF-8 cannot be told apart from a credential
		 * (its bytes are gone): its values are masked */
		secret = strcmp(names[i], NOT_UTF8) == 0 || wh_journal_header_is_secret(names[i]);
		/* the values after the last one that is not UTF-8 */
		for (k = i; !secret && k < n; k++) {
			const char *v = headers[k].value ? headers[k].value : "";
			if (same_name(names[k], names[i]) &&
			    !utf8_valid((const unsigned char *)v, strlen(v)))
				from = k;
		}
		error = wh_buf_adds(&buf, first ? "\"" : ",\"");
		first = 0;
		if (!error)
			error = json_escape(&buf, names[i], strlen(names[i]));
		if (!error)
			error = wh_buf_add(&buf, "\":\"", 3);
		for (k = from; !error && k < n; k++) {
			const char *v = headers[k].value ? headers[k].value : "";

			if (!same_name(names[k], names[i]))
				continue;
			if (sep)
				error = wh_buf_add(&buf, ", ", 2);
			sep = 1;
			if (secret)
				v = WH_JOURNAL_MASK;
			else if (k == from && !utf8_valid((const unsigned char *)v, strlen(v)))
				v = NOT_UTF8; /* the last one that is not UTF-8 */
			if (!error)
				error = json_escape(&buf, v, strlen(v));
		}
		if (!error)
			error = wh_buf_add(&buf, "\"", 1);
	}
	if (!error)
		error = wh_buf_add(&buf, "}", 1);
	free(names);
	if (error) {
		*oom = 1;
		wh_buf_release(&buf);
		return NULL;
	}
	return wh_buf_detach(&buf);
}

int wh_journal_record(struct wh_journal *journal, int64_t delivery_id,
		      const struct wh_journal_result *result, int *lease_lost, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *get = NULL, *add = NULL, *upd = NULL;
	int64_t now = wh_journal_now(), next_at = 0;
	char *request = NULL, *response = NULL, http_text[32];
	const char *status = "pending";
	int error, rc, oom = 0, attempts, deferrals, ours, release = 1;
	size_t body_len = result->response_body_len;

	if (lease_lost)
		*lease_lost = 0;
	request = headers_json(result->request_headers, result->nrequest_headers, &oom);
	response = headers_json(result->response_headers, result->nresponse_headers, &oom);
	if (oom) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	if (body_len > WH_JOURNAL_BODY_CAP)
		body_len = WH_JOURNAL_BODY_CAP;
	snprintf(http_text, sizeof(http_text), "HTTP %d", result->http_status);

	if ((error = j->batch ? exec_cached(j, "SAVEPOINT wh_record", err, "starting a write")
			      : begin_write(j, err)) < 0 ||
	    (error = prepare_cached(
		 &get, j,
		 "SELECT attempts, deferrals, lease_owner = ?2 AND status = 'pending', "
		 "next_attempt_at FROM deliveries WHERE id = ?1",
		 err)) < 0)
		goto out;
	sqlite3_bind_int64(get, 1, delivery_id);
	bind_text(get, 2, j->owner);
	rc = sqlite3_step(get);
	if (rc == SQLITE_DONE) {
		error = wh_error_set(err, WH_ENOTFOUND,
				     "no delivery " WH_JOURNAL_ID_PREFIX "%" PRId64 " in %s",
				     delivery_id, j->path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		error = db_error(j, rc, err, "reading a delivery");
		goto out;
	}
	attempts = sqlite3_column_int(get, 0);
	deferrals = sqlite3_column_int(get, 1);
	ours = sqlite3_column_int(get, 2);
	next_at = sqlite3_column_int64(get, 3);

	if ((error = prepare_cached(
		 &add, j,
		 "INSERT INTO attempts (delivery_id, number, started_at, duration_ms, "
		 "http_status, outcome, error, request_headers, response_headers, "
		 "response_body, response_truncated, lease_owner) VALUES (?1, ?2, ?3, "
		 "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		 err)) < 0)
		goto out;
	sqlite3_bind_int64(add, 1, delivery_id);
	sqlite3_bind_int(add, 2, attempts + 1);
	sqlite3_bind_int64(add, 3, result->started_at ? result->started_at : now);
	sqlite3_bind_int64(add, 4, result->duration_ms);
	bind_int_or_null(add, 5, result->http_status);
	bind_text(add, 6, wh_journal_outcome_name(result->outcome));
	bind_text(add, 7, result->error);
	bind_text(add, 8, request);
	bind_text(add, 9, response);
	if (result->response_body)
		sqlite3_bind_blob64(add, 10, result->response_body, body_len, SQLITE_TRANSIENT);
	sqlite3_bind_int(add, 11,
			 result->response_truncated || body_len < result->response_body_len);
	bind_text(add, 12, j->owner);
	if ((rc = sqlite3_step(add)) != SQLITE_DONE) {
		error = db_error(j, rc, err, "recording an attempt");
		goto out;
	}

	switch (result->outcome) {
	case WH_JOURNAL_OUTCOME_DELIVERED:
		status = "delivered";
		next_at = 0;
		break;
	case WH_JOURNAL_OUTCOME_GONE:
		status = "gone";
		next_at = 0;
		break;
	case WH_JOURNAL_OUTCOME_FAILED:
		status = "failed";
		next_at = 0;
		break;
	case WH_JOURNAL_OUTCOME_RETRY:
		if (!result->final) {
			release = 0;
			break;
		}
		next_at = wh_journal_next_attempt(now, deferrals);
		if (next_at < 0) {
			status = "failed";
			next_at = 0;
			break;
		}
		if (result->retry_after_ms > 0 && now + result->retry_after_ms > next_at)
			next_at = now + result->retry_after_ms;
		deferrals++;
		break;
	}

	if (!ours) {
		if (lease_lost)
			*lease_lost = 1;
		error =
		    prepare_cached(&upd, j,
				   "UPDATE deliveries SET attempts = attempts + 1, updated_at = ?2 "
				   "WHERE id = ?1",
				   err);
		if (!error) {
			sqlite3_bind_int64(upd, 1, delivery_id);
			sqlite3_bind_int64(upd, 2, now);
		}
	} else {
		error = prepare_cached(
		    &upd, j,
		    "UPDATE deliveries SET attempts = attempts + 1, updated_at = ?2, "
		    "status = ?3, deferrals = ?4, next_attempt_at = ?5, http_status = "
		    "?6, last_error = ?7, lease_owner = CASE WHEN ?8 THEN NULL ELSE "
		    "lease_owner END, lease_until = CASE WHEN ?8 THEN NULL ELSE "
		    "lease_until END WHERE id = ?1",
		    err);
		if (!error) {
			sqlite3_bind_int64(upd, 1, delivery_id);
			sqlite3_bind_int64(upd, 2, now);
			bind_text(upd, 3, status);
			sqlite3_bind_int(upd, 4, deferrals);
			bind_int_or_null(upd, 5, next_at);
			bind_int_or_null(upd, 6, result->http_status);
			if (result->error)
				bind_text(upd, 7, result->error);
			else if (result->outcome != WH_JOURNAL_OUTCOME_DELIVERED &&
				 result->http_status)
				sqlite3_bind_text(upd, 7, http_text, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(upd, 7);
			sqlite3_bind_int(upd, 8, release);
		}
	}
	if (error < 0)
		goto out;
	if ((rc = sqlite3_step(upd)) != SQLITE_DONE) {
		error = db_error(j, rc, err, "updating a delivery");
		goto out;
	}
	release_cached(j, get);
	get = NULL;
	error = j->batch ? exec_cached(j, "RELEASE wh_record", err, "committing") : commit(j, err);
out:
	release_cached(j, get);
	release_cached(j, add);
	release_cached(j, upd);
	if (error < 0 && j->batch && !sqlite3_get_autocommit(j->db)) {
		/* undo this attempt's rows only; the batch goes on */
		sqlite3_exec(j->db, "ROLLBACK TO wh_record; RELEASE wh_record", NULL, NULL, NULL);
	} else if (error < 0) {
		rollback(j);
	}
	free(request);
	free(response);
	return error;
}

int wh_journal_batch_begin(struct wh_journal *journal, struct wh_error *err)
{
	int error = 0;

	if (journal->batch++ == 0 && (error = begin_write(journal, err)) < 0)
		journal->batch = 0;
	return error;
}

int wh_journal_batch_end(struct wh_journal *journal, struct wh_error *err)
{
	int error = 0;

	if (journal->batch == 0 || --journal->batch > 0)
		return 0;
	if ((error = commit(journal, err)) < 0)
		rollback(journal);
	return error;
}

/* --- reading -------------------------------------------------------------- */

int wh_journal_list(struct wh_journal_deliveries *out, struct wh_journal *journal,
		    const struct wh_journal_list_filter *filter, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = prepare(&stmt, j,
			     "SELECT " DELIVERY_COLUMNS
			     "WHERE (?1 IS NULL OR d.hook = ?1) AND (?2 IS NULL OR d.stage = ?2) "
			     "AND (?3 IS NULL OR d.status = ?3) ORDER BY d.id DESC LIMIT ?4",
			     err)) < 0)
		return error;
	bind_text(stmt, 1, filter ? filter->hook : NULL);
	bind_text(stmt, 2, filter ? filter->stage : NULL);
	bind_text(stmt, 3,
		  filter && filter->status >= 0
		      ? wh_journal_status_name((enum wh_journal_status)filter->status)
		      : NULL);
	sqlite3_bind_int64(stmt, 4, filter && filter->limit ? (int64_t)filter->limit : -1);
	error = collect_deliveries(out, j, stmt, err);
	sqlite3_finalize(stmt);
	if (error < 0)
		wh_journal_deliveries_release(out);
	return error;
}

int wh_journal_gone_before(int64_t *out, struct wh_journal *journal, const char *hook,
			   const char *url, int64_t before_id, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	*out = 0;
	if ((error = prepare_cached(&stmt, j,
				    "SELECT max(id) FROM deliveries WHERE hook = ?1 AND url = ?2 "
				    "AND status = 'gone' AND (?3 = 0 OR id < ?3)",
				    err)) < 0)
		return error;
	bind_text(stmt, 1, hook);
	bind_text(stmt, 2, url);
	sqlite3_bind_int64(stmt, 3, before_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		error = db_error(j, rc, err, "reading deliveries");
	release_cached(j, stmt);
	return error;
}

int wh_journal_next_due(int64_t *out, struct wh_journal *journal, const char *hook,
			struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int error, rc;

	*out = 0;
	/* A row leased by a live process is due again when its lease ends at
	 * the earliest; a dead owner's lease counts as ended (claim agrees). */
	if ((error = prepare(&stmt, j,
			     "SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > ?2 "
			     "AND NOT lease_dead(lease_owner) THEN max(lease_until, "
			     "next_attempt_at) ELSE next_attempt_at END) FROM deliveries WHERE "
			     "status = 'pending' AND (?1 IS NULL OR hook = ?1)",
			     err)) < 0)
		return error;
	bind_text(stmt, 1, hook);
	sqlite3_bind_int64(stmt, 2, wh_journal_now());
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		error = db_error(j, rc, err, "reading deliveries");
	sqlite3_finalize(stmt);
	return error;
}

/* "dlv_42" or "42" -> 42; 0 when id is not of that form. */
static int64_t parse_delivery_id(const char *id)
{
	const char *p = id;
	int64_t v = 0;

	if (strncmp(p, WH_JOURNAL_ID_PREFIX, strlen(WH_JOURNAL_ID_PREFIX)) == 0)
		p += strlen(WH_JOURNAL_ID_PREFIX);
	if (!*p || strlen(p) > 18)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int wh_journal_lookup(struct wh_journal_deliveries *out, struct wh_journal *journal, const char *id,
		      struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int64_t number = parse_delivery_id(id);
	int error;

	memset(out, 0, sizeof(*out));
	if (!number && strncmp(id, "msg_", 4) != 0)
		return wh_error_set(err, WH_ENOTFOUND,
				    "'%s' is neither a delivery id (dlv_N) nor a message id "
				    "(msg_...)",
				    id);
	if (number)
		error = prepare(&stmt, j, "SELECT " DELIVERY_COLUMNS "WHERE d.id = ?1", err);
	else
		error = prepare(&stmt, j,
				"SELECT " DELIVERY_COLUMNS
				"WHERE d.message_id = ?1 ORDER BY d.target_index, d.id",
				err);
	if (error < 0)
		return error;
	if (number)
		sqlite3_bind_int64(stmt, 1, number);
	else
		bind_text(stmt, 1, id);
	error = collect_deliveries(out, j, stmt, err);
	sqlite3_finalize(stmt);
	if (!error && out->count == 0)
		error = wh_error_set(err, WH_ENOTFOUND, "no delivery or message '%s' in %s", id,
				     j->path);
	if (error < 0)
		wh_journal_deliveries_release(out);
	return error;
}

void wh_journal_message_release(struct wh_journal_stored_message *message)
{
	if (!message)
		return;
	free(message->id);
	free(message->type);
	free(message->hook);
	free(message->kind);
	free(message->config_commit);
	free(message->envelope);
	free(message->body);
	memset(message, 0, sizeof(*message));
}

int wh_journal_get_message(struct wh_journal_stored_message *out, struct wh_journal *journal,
			   const char *message_id, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	int error, rc, oom = 0;

	memset(out, 0, sizeof(*out));
	if ((error = prepare(&stmt, j,
			     "SELECT id, type, hook, kind, config_commit, envelope, body, "
			     "created_at FROM messages WHERE id = ?1",
			     err)) < 0)
		return error;
	bind_text(stmt, 1, message_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->id = column_dup(stmt, 0, &oom);
		out->type = column_dup(stmt, 1, &oom);
		out->hook = column_dup(stmt, 2, &oom);
		out->kind = column_dup(stmt, 3, &oom);
		out->config_commit = column_dup(stmt, 4, &oom);
		out->envelope = column_dup(stmt, 5, &oom);
		out->created_at = sqlite3_column_int64(stmt, 7);
		/* body is NOT NULL in the schema, so NULL here is out of memory */
		if (!(out->body = column_blob_dup(stmt, 6, &out->body_len, &oom)))
			oom = 1;
		if (oom)
			error = wh_error_set(err, WH_ENOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		error =
		    wh_error_set(err, WH_ENOTFOUND, "no message '%s' in %s", message_id, j->path);
	} else {
		error = db_error(j, rc, err, "reading a message");
	}
	sqlite3_finalize(stmt);
	if (error < 0)
		wh_journal_message_release(out);
	return error;
}

void wh_journal_attempts_release(struct wh_journal_attempts *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		struct wh_journal_attempt *a = &list->items[i];
		free(a->error);
		free(a->request_headers);
		free(a->response_headers);
		free(a->response_body);
		free(a->lease_owner);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int wh_journal_get_attempts(struct wh_journal_attempts *out, struct wh_journal *journal,
			    int64_t delivery_id, struct wh_error *err)
{
	struct wh_journal *j = journal;
	sqlite3_stmt *stmt = NULL;
	size_t alloc = 0;
	int error, rc = SQLITE_DONE, oom = 0;

	memset(out, 0, sizeof(*out));
	if ((error = prepare(&stmt, j,
			     "SELECT number, started_at, duration_ms, http_status, outcome, error, "
			     "request_headers, response_headers, response_body, "
			     "response_truncated, lease_owner FROM attempts WHERE delivery_id = ?1 "
			     "ORDER BY number",
			     err)) < 0)
		return error;
	sqlite3_bind_int64(stmt, 1, delivery_id);
	while (!oom && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct wh_journal_attempt *a;

		if (out->count == alloc) {
			size_t n = alloc ? alloc * 2 : 8;
			void *p = realloc(out->items, n * sizeof(*out->items));
			if (!p) {
				oom = 1;
				break;
			}
			out->items = p;
			alloc = n;
		}
		a = &out->items[out->count++];
		memset(a, 0, sizeof(*a));
		a->number = sqlite3_column_int(stmt, 0);
		a->started_at = sqlite3_column_int64(stmt, 1);
		a->duration_ms = sqlite3_column_int64(stmt, 2);
		a->http_status = sqlite3_column_int(stmt, 3);
		a->outcome = (enum wh_journal_outcome)outcome_parse(
		    (const char *)sqlite3_column_text(stmt, 4));
		a->error = column_dup(stmt, 5, &oom);
		a->request_headers = column_dup(stmt, 6, &oom);
		a->response_headers = column_dup(stmt, 7, &oom);
		a->response_body = column_blob_dup(stmt, 8, &a->response_body_len, &oom);
		a->response_truncated = sqlite3_column_int(stmt, 9);
		a->lease_owner = column_dup(stmt, 10, &oom);
	}
	if (oom)
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
	else if (rc != SQLITE_DONE)
		error = db_error(j, rc, err, "reading attempts");
	sqlite3_finalize(stmt);
	if (error < 0)
		wh_journal_attempts_release(out);
	return error;
}
