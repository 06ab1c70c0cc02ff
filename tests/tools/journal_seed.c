/*
 * journal_seed: writes journal rows through journal.c for the CLI tests,
 * so `deliveries` and `show` can be tested against real journals without
 * the main job. Reads a script on stdin, one command a line, all through
 * one journal handle (so it holds the leases it takes):
 *
 *   msg HOOK STAGE URL...        one message with a delivery per URL;
 *                                prints "MSG_ID dlv_N dlv_M ..."
 *   bodysize N                   later responses carry N bytes of 'x'
 *   msgsize N                    later messages carry N more bytes of data
 *   attempt K OUTCOME HTTP FINAL [ERROR...]
 *                                records an attempt of the K-th delivery
 *                                made by this script (1-based); OUTCOME is
 *                                delivered|retry|failed|gone, HTTP 0 for
 *                                none, FINAL 0|1
 *   claim [all]                  claims what is due; prints the ids
 *
 * Usage: journal_seed STATE_DIR < script. Exit 0, or 3 with the error on
 * stderr (the journal's own message, e.g. for a read-only directory).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "util.h"

#define MAX_DELIVERIES 1024
#define MAX_WORDS      64

static int fail(const struct wh_error *err)
{
	fprintf(stderr, "journal_seed: %s\n", err->message);
	return 3;
}

int main(int argc, char **argv)
{
	struct wh_journal *journal = NULL;
	struct wh_error err = WH_ERROR_INIT;
	static int64_t ids[MAX_DELIVERIES];
	size_t nids = 0, body_size = 0, msg_size = 0;
	char line[8192];
	int status = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: journal_seed STATE_DIR < script\n");
		return 2;
	}
	if (wh_journal_open(&journal, argv[1], WH_JOURNAL_CREATE, &err) < 0)
		return fail(&err);

	while (!status && fgets(line, sizeof(line), stdin)) {
		char *words[MAX_WORDS], *save = NULL, *rest = NULL;
		size_t n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (char *w = strtok_r(line, " ", &save); w && n < MAX_WORDS;
		     w = strtok_r(NULL, " ", &save)) {
			words[n++] = w;
			if (n == 5 && strcmp(words[0], "attempt") == 0) {
				rest = save && *save ? save : NULL;
				break;
			}
		}
		if (n == 0)
			continue;
		if (strcmp(words[0], "msg") == 0 && n >= 4) {
			struct wh_journal_target targets[MAX_WORDS];
			struct wh_journal_message m = {0};
			char id[WH_JOURNAL_MESSAGE_ID_LEN + 1];
			char *envelope, *pad = calloc(1, msg_size + 1);

			if (wh_journal_new_message_id(id, sizeof(id), &err) < 0)
				return fail(&err);
			envelope = wh_strdupf(
			    "{\"id\":\"%s\",\"type\":\"%s\",\"timestamp\":\"2026-11-22T10:00:00Z\","
			    "\"hook\":\"%s\",\"config\":{\"commit\":"
			    "\"0123456789abcdef0123456789abcdef01234567\"},\"data\":{"
			    "\"application\":"
			    "{\"name\":\"billing\"},\"pad\":\"%s\"}}",
			    id, words[2], words[1], pad ? (char *)memset(pad, 'p', msg_size) : "");
			free(pad);
			if (!envelope) {
				fprintf(stderr, "journal_seed: out of memory\n");
				status = 3;
				break;
			}
			m.id = id;
			m.type = words[2];
			m.hook = words[1];
			m.kind = "standard";
			m.config_commit = "0123456789abcdef0123456789abcdef01234567";
			m.envelope = envelope;
			m.body = envelope;
			m.body_len = strlen(envelope);
			m.targets = targets;
			m.ntargets = n - 3;
			for (size_t i = 0; i < m.ntargets; i++) {
				targets[i].index = i;
				targets[i].url = words[3 + i];
				targets[i].method = "POST";
			}
			if (wh_journal_insert(journal, &m, 1, 600000, &err) < 0)
				status = fail(&err);
			printf("%s", id);
			for (size_t i = 0; !status && i < m.ntargets && nids < MAX_DELIVERIES;
			     i++) {
				ids[nids++] = targets[i].id;
				printf(" " WH_JOURNAL_ID_PREFIX "%" PRId64, targets[i].id);
			}
			printf("\n");
			free(envelope);
		} else if (strcmp(words[0], "msgsize") == 0 && n == 2) {
			msg_size = strtoul(words[1], NULL, 10);
		} else if (strcmp(words[0], "bodysize") == 0 && n == 2) {
			body_size = strtoul(words[1], NULL, 10);
		} else if (strcmp(words[0], "attempt") == 0 && n >= 5) {
			size_t k = strtoul(words[1], NULL, 10);
			struct wh_journal_header req[] = {
			    {"Content-Type", "application/json"},
			    {"User-Agent", "whrun/test"},
			    {"webhook-id", "msg_test"},
			    {"webhook-signature", "v1,c2lnbmF0dXJl"},
			    {"Authorization", "Bearer seed-secret-token"},
			    {"X-Team", "infra"},
			};
			struct wh_journal_header resp[] = {
			    {"Content-Type", "text/plain"},
			    {"X-Request-Id", "req-42"},
			};
			struct wh_journal_result r = {0};
			char *body = NULL;

			if (k < 1 || k > nids) {
				fprintf(stderr, "journal_seed: no delivery %zu\n", k);
				status = 2;
				break;
			}
			if (strcmp(words[2], "delivered") == 0)
				r.outcome = WH_JOURNAL_OUTCOME_DELIVERED;
			else if (strcmp(words[2], "retry") == 0)
				r.outcome = WH_JOURNAL_OUTCOME_RETRY;
			else if (strcmp(words[2], "gone") == 0)
				r.outcome = WH_JOURNAL_OUTCOME_GONE;
			else
				r.outcome = WH_JOURNAL_OUTCOME_FAILED;
			r.http_status = (int)strtol(words[3], NULL, 10);
			r.final = strcmp(words[4], "1") == 0;
			r.duration_ms = 12;
			r.error = rest;
			r.request_headers = req;
			r.nrequest_headers = WH_ARRAY_SIZE(req);
			if (r.http_status) {
				r.response_headers = resp;
				r.nresponse_headers = WH_ARRAY_SIZE(resp);
				if (body_size) {
					body = malloc(body_size);
					if (body)
						memset(body, 'x', body_size);
					r.response_body = body;
					r.response_body_len = body ? body_size : 0;
				} else {
					r.response_body = "ok from target";
					r.response_body_len = strlen("ok from target");
				}
			}
			if (wh_journal_record(journal, ids[k - 1], &r, NULL, &err) < 0)
				status = fail(&err);
			free(body);
		} else if (strcmp(words[0], "claim") == 0) {
			struct wh_journal_claim_filter filter = {NULL, n > 1, 0};
			struct wh_journal_deliveries list = {0};

			if (wh_journal_claim_due(&list, journal, &filter, 60000, &err) < 0)
				status = fail(&err);
			for (size_t i = 0; i < list.count; i++)
				printf("%s" WH_JOURNAL_ID_PREFIX "%" PRId64, i ? " " : "",
				       list.items[i].id);
			printf("\n");
			wh_journal_deliveries_release(&list);
		} else {
			fprintf(stderr, "journal_seed: cannot read '%s'\n", words[0]);
			status = 2;
		}
	}
	wh_journal_close(journal);
	return status;
}
