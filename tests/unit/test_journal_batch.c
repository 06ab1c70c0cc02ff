/*
 * test_journal_batch: wh_journal_batch_begin/_end against a real SQLite
 * file: records in a batch are seen by another connection only after the
 * batch commits, a failed record inside a batch is undone alone, the
 * reused (cached) statements give the same rows as a record outside a
 * batch, and closing with a batch open keeps its records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "journal.h"
#include "util.h"

static char base[256];

/* One value from a query on the journal file (independent connection). */
static long long sql_int(const char *dir, const char *sql)
{
	char *path = wh_strdupf("%s/journal.db", dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return v;
}

static struct wh_journal_result delivered(void)
{
	struct wh_journal_result r;

	memset(&r, 0, sizeof(r));
	r.outcome = WH_JOURNAL_OUTCOME_DELIVERED;
	r.http_status = 200;
	r.final = 1;
	r.duration_ms = 3;
	return r;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct wh_error err = WH_ERROR_INIT;
	struct wh_journal *j = NULL;
	struct wh_journal_target targets[6];
	struct wh_journal_message m;
	struct wh_journal_result r = delivered();
	char id[WH_JOURNAL_MESSAGE_ID_LEN + 1], urls[6][40], cmd[300];
	static const char body[] = "{\"id\":\"x\"}";
	int lost = -1;

	snprintf(base, sizeof(base), "%s/whrun-jbatch.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK("open", wh_journal_open(&j, base, WH_JOURNAL_CREATE, &err) == 0 && j);
	if (!j)
		return check_done();
	CHECK("id", wh_journal_new_message_id(id, sizeof(id), &err) == 0);
	memset(targets, 0, sizeof(targets));
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < 6; i++) {
		snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:9/t/%zu", i);
		targets[i].index = i;
		targets[i].url = urls[i];
		targets[i].method = "POST";
	}
	m.id = id;
	m.type = "clusters_deployed";
	m.hook = "h";
	m.kind = "standard";
	m.config_commit = "0123456789abcdef0123456789abcdef01234567";
	m.body = body;
	m.body_len = sizeof(body) - 1;
	m.targets = targets;
	m.ntargets = 6;
	CHECK("insert", wh_journal_insert(j, &m, 1, 60000, &err) == 0);

	/* outside a batch: committed at once */
	CHECK("record 0", wh_journal_record(j, targets[0].id, &r, &lost, &err) == 0 && lost == 0);
	CHECK("seen at once", sql_int(base, "SELECT count(*) FROM attempts") == 1);

	/* inside: nothing visible until the end; a failure is undone alone */
	CHECK("begin", wh_journal_batch_begin(j, &err) == 0);
	CHECK("nested begin", wh_journal_batch_begin(j, &err) == 0);
	CHECK("record 1", wh_journal_record(j, targets[1].id, &r, NULL, &err) == 0);
	CHECK("unknown in batch", wh_journal_record(j, 999999, &r, NULL, &err) == WH_ENOTFOUND);
	r.outcome = WH_JOURNAL_OUTCOME_FAILED;
	r.http_status = 400;
	CHECK("record 2", wh_journal_record(j, targets[2].id, &r, NULL, &err) == 0);
	CHECK("not yet seen", sql_int(base, "SELECT count(*) FROM attempts") == 1);
	CHECK("nested end", wh_journal_batch_end(j, &err) == 0);
	CHECK("still not seen", sql_int(base, "SELECT count(*) FROM attempts") == 1);
	CHECK("end", wh_journal_batch_end(j, &err) == 0);
	CHECK("seen after end", sql_int(base, "SELECT count(*) FROM attempts") == 3);
	CHECK("statuses", sql_int(base, "SELECT count(*) FROM deliveries WHERE status = "
					"'delivered' AND http_status = 200") == 2 &&
			      sql_int(base, "SELECT count(*) FROM deliveries WHERE status = "
					    "'failed' AND http_status = 400") == 1);
	CHECK("end without begin", wh_journal_batch_end(j, &err) == 0);

	/* the same delivery twice in one batch: attempts count on */
	r = delivered();
	r.outcome = WH_JOURNAL_OUTCOME_RETRY;
	r.http_status = 503;
	r.final = 0; /* retried in this run: the lease stays */
	CHECK("begin again", wh_journal_batch_begin(j, &err) == 0);
	CHECK("retry 3", wh_journal_record(j, targets[3].id, &r, NULL, &err) == 0);
	r = delivered();
	CHECK("delivered 3", wh_journal_record(j, targets[3].id, &r, NULL, &err) == 0);
	CHECK("record 4", wh_journal_record(j, targets[4].id, &r, NULL, &err) == 0);
	/* closing with the batch open commits it */
	wh_journal_close(j);
	CHECK("kept at close", sql_int(base, "SELECT count(*) FROM attempts") == 6);
	CHECK("two attempts", sql_int(base, "SELECT attempts FROM deliveries WHERE status = "
					    "'delivered' AND target_index = 3") == 2);
	CHECK("one pending left",
	      sql_int(base, "SELECT count(*) FROM deliveries WHERE status = 'pending'") == 1);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return check_done();
}
