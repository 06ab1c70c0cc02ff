/*
 * cmd_outbox: the commands that deliver from the journal or on demand:
 * `whrun retry` (what is due in the outbox, once or --watch), `whrun
 * resend ID` (a message again, as a new delivery with the same
 * webhook-id) and `whrun ping HOOK` (a `ping` message to every target).
 *
 * Requests are rebuilt, never replayed: the message's exact body and id
 * come from the journal, the hook (URL, headers, signature scheme, secret
 * references) from the definitions at the commit the message recorded,
 * read back from Git (--repo), each distinct commit loaded once per
 * command; secrets are resolved now. Every send goes through dispatch, so
 * it is signed with a fresh timestamp and journaled like the main job's.
 *
 * Retry makes one try per delivery each time it is due: the outbox
 * schedule (SPEC 5, journal.h) is its retry policy, and the journal marks
 * a delivery `failed` once that schedule is exhausted. Claims lease the
 * rows (journal.h), so any number of `retry` processes, the main job and
 * cron can run at once without sending one attempt twice at the same time.
 *
 * A delivery whose request cannot be rebuilt (its commit is missing from
 * the repository, a secret cannot be resolved) is not attempted: it is
 * reported on stderr, stays pending, and its lease is kept until the
 * command ends, so `--watch` does not report it again every second; the
 * command then exits 3.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "commands.h"
#include "dispatch.h"
#include "load.h"
#include "util.h"
#include "banned.h"

#define OUTBOX_LEASE_MS (10 * 60 * 1000)
#define WATCH_POLL_MS	1000 /* new rows are noticed within this */
#define WATCH_SLICE_MS	100  /* a stop is noticed within this while asleep */

static int stop_requested(const struct wh_options *opts)
{
	return opts->stop && opts->stop->requested;
}

/* --- definitions at recorded commits, each loaded once ------------------- */

struct loaded_commit {
	char commit[41];
	struct wh_config config;
	struct wh_error error; /* code 0: loaded */
};

struct commit_cache {
	const char *repo;
	struct wh_gitsrc *src; /* opened at the first load */
	struct wh_error open_error;
	struct loaded_commit **items; /* pointers: hooks stay put as the list grows */
	size_t n, alloc;
};

static void commit_cache_release(struct commit_cache *cc)
{
	for (size_t i = 0; i < cc->n; i++) {
		wh_config_release(&cc->items[i]->config);
		free(cc->items[i]);
	}
	free(cc->items);
	wh_gitsrc_free(cc->src);
	memset(cc, 0, sizeof(*cc));
}

/* The definitions at commit (borrowed from cc), or an error naming it. */
static int commit_cache_get(const struct wh_config **out, struct commit_cache *cc,
			    const char *commit, struct wh_error *err)
{
	struct loaded_commit *lc;
	struct wh_diags diags;
	git_oid oid;

	*out = NULL;
	for (size_t i = 0; i < cc->n; i++) {
		lc = cc->items[i];
		if (strcmp(lc->commit, commit) != 0)
			continue;
		if (lc->error.code) {
			*err = lc->error;
			return err->code;
		}
		*out = &lc->config;
		return 0;
	}
	if (!cc->src && !cc->open_error.code &&
	    wh_gitsrc_open(&cc->src, cc->repo, &cc->open_error) < 0 && !cc->open_error.code)
		cc->open_error.code = WH_ECONFIG;
	if (cc->open_error.code) {
		*err = cc->open_error;
		return err->code;
	}
	if (cc->n == cc->alloc) {
		size_t n = cc->alloc ? cc->alloc * 2 : 4;
		void *p = realloc(cc->items, n * sizeof(*cc->items));
		if (!p)
			return wh_error_set(err, WH_ENOMEM, "out of memory");
		cc->items = p;
		cc->alloc = n;
	}
	if (!(lc = calloc(1, sizeof(*lc))))
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	cc->items[cc->n++] = lc;
	wh_strlcpy(lc->commit, commit, sizeof(lc->commit));
	wh_config_init(&lc->config);
	wh_diags_init(&diags);
	if (git_oid_fromstr(&oid, commit) < 0)
		wh_error_set(&lc->error, WH_ECONFIG, "the journal names commit '%s', not a sha",
			     commit);
	else if (wh_load_config(&lc->config, cc->src, &oid, &diags, &lc->error) < 0) {
		wh_diags_sort(&diags);
		wh_print_diags(&diags);
		if (!lc->error.code)
			lc->error.code = WH_ECONFIG;
		wh_error_prefix(&lc->error,
				"the definitions at commit %.12s (recorded with the "
				"message) cannot be read from %s",
				commit, cc->repo);
	}
	wh_diags_release(&diags);
	if (lc->error.code) {
		*err = lc->error;
		return err->code;
	}
	*out = &lc->config;
	return 0;
}

/* The hook of a stored message, ready to rebuild its requests. */
static int recorded_hook(const struct wh_hook **out, struct commit_cache *cc, const char *commit,
			 const char *name, struct wh_error *err)
{
	const struct wh_config *config;
	const struct wh_hook *hook;
	int error;

	*out = NULL;
	if ((error = commit_cache_get(&config, cc, commit, err)) < 0)
		return error;
	if (!(hook = wh_config_find(config, name)))
		return wh_error_set(err, WH_ECONFIG, "no hook '%s' in the definitions at %.12s",
				    name, commit);
	*out = hook;
	return 0;
}

/* --- delivering and reporting -------------------------------------------- */

/*
 * Runs d (already in the journal) and prints its summary. *missing
 * receives the number of required deliveries not delivered. deadline_ms
 * (wall clock, 0: none) bounds the run.
 */
static int deliver_and_report(struct wh_dispatch *d, struct wh_journal *journal,
			      const struct wh_options *opts, int64_t deadline_ms, size_t *missing,
			      struct wh_error *err)
{
	struct wh_deliver_options dopts;
	int error;

	*missing = 0;
	memset(&dopts, 0, sizeof(dopts));
	dopts.concurrency = opts->concurrency;
	dopts.max_time_s = opts->max_time;
	if (deadline_ms) {
		int64_t left = deadline_ms - wh_journal_now();
		dopts.max_time_s = left > 1 ? (double)left / 1000.0 : 0.001;
	}
	dopts.allow_net = opts->allow_net;
	dopts.nallow_net = opts->nallow_net;
	dopts.stop = opts->stop ? &opts->stop->requested : NULL;
	if ((error = wh_dispatch_run(d, journal, &dopts, err)) < 0)
		return error;

	if (opts->output == WH_OUTPUT_JSON) {
		for (size_t i = 0; i < d->ndeliveries; i++)
			if (d->deliveries[i].outcome != WH_OUTCOME_DELIVERED &&
			    d->messages[d->deliveries[i].message].hook->required)
				(*missing)++;
		if ((error = wh_print_json(wh_dispatch_summary_json(d), err)) < 0)
			return error;
	} else {
		*missing = wh_dispatch_summary(d, stdout);
	}
	fflush(stdout);
	if (d->journal_error.code)
		fprintf(stderr, "whrun: warning: some attempts could not be journaled: %s\n",
			d->journal_error.message);
	return 0;
}

static int missing_error(size_t missing, struct wh_error *err)
{
	if (!missing)
		return 0;
	return wh_error_set(err, WH_EDELIVERY,
			    "%zu required deliver%s not delivered (see 'whrun deliveries "
			    "--status pending'; 'whrun retry' sends what is due)",
			    missing, missing == 1 ? "y was" : "ies were");
}

/* Opens the journal for writing; with only_existing, *journal stays NULL
 * (and 0 is returned) when there is none yet. */
static int open_journal(struct wh_journal **journal, const struct wh_options *opts,
			int only_existing, struct wh_error *err)
{
	char *state = NULL;
	int error;

	*journal = NULL;
	if ((error = wh_journal_state_dir(&state, opts->state_dir, err)) < 0)
		goto out;
	if (only_existing) {
		error = wh_journal_open(journal, state, WH_JOURNAL_EXISTING, err);
		wh_journal_close(*journal);
		*journal = NULL;
		if (error == WH_ENOTFOUND) {
			wh_error_clear(err);
			error = 0;
			goto out;
		}
		if (error < 0)
			goto out;
	}
	error = wh_journal_open(journal, state, WH_JOURNAL_CREATE, err);
out:
	free(state);
	return error;
}

/* --- retry ------------------------------------------------------------------ */

struct retry {
	const struct wh_options *opts;
	struct wh_journal *journal;
	struct commit_cache commits;
	int64_t *held; /* deliveries we could not rebuild: leased until the end */
	size_t nheld, aheld;
	int config_errors;
	size_t attempted, missing;
};

static int by_message(const void *a, const void *b)
{
	const struct wh_journal_delivery *x = a, *y = b;
	int c = strcmp(x->message_id, y->message_id);

	if (c)
		return c;
	return x->target_index < y->target_index ? -1 : x->target_index > y->target_index;
}

static void hold(struct retry *r, const struct wh_journal_delivery *dl, const struct wh_error *why)
{
	fprintf(stderr, "whrun: " WH_JOURNAL_ID_PREFIX "%" PRId64 " (%s, %s): not sent: %s\n",
		dl->id, dl->hook, dl->url, why->message);
	r->config_errors++;
	if (r->nheld == r->aheld) {
		size_t n = r->aheld ? r->aheld * 2 : 16;
		void *p = realloc(r->held, n * sizeof(*r->held));
		if (!p) {
			wh_journal_release(r->journal, dl->id, NULL);
			return;
		}
		r->held = p;
		r->aheld = n;
	}
	r->held[r->nheld++] = dl->id;
}

static void release_held(struct retry *r)
{
	for (size_t i = 0; i < r->nheld; i++)
		wh_journal_release(r->journal, r->held[i], NULL);
	r->nheld = 0;
}

/* One claim and its deliveries. *sent receives how many of the claimed
 * rows were rebuilt and handed to dispatch. */
static int retry_batch(struct retry *r, int64_t deadline_ms, size_t *sent, struct wh_error *err)
{
	const struct wh_options *opts = r->opts;
	struct wh_journal_claim_filter filter;
	struct wh_journal_deliveries list = {0};
	struct wh_dispatch d;
	size_t missing = 0;
	int error;

	wh_dispatch_init(&d);
	d.max_attempts = 1;
	memset(&filter, 0, sizeof(filter));
	filter.hook = opts->hook;
	filter.all = opts->all;
	filter.limit = opts->limit > 0 ? (size_t)opts->limit : 0;
	if ((error = wh_journal_claim_due(&list, r->journal, &filter, OUTBOX_LEASE_MS, err)) < 0)
		goto out;
	if (!list.count)
		goto out;
	qsort(list.items, list.count, sizeof(*list.items), by_message);

	for (size_t i = 0; i < list.count;) {
		const struct wh_journal_delivery *first = &list.items[i];
		struct wh_journal_stored_message m = {0};
		const struct wh_hook *hook = NULL;
		struct wh_error why = WH_ERROR_INIT;
		size_t end = i, index = 0;

		while (end < list.count &&
		       strcmp(list.items[end].message_id, first->message_id) == 0)
			end++;
		error = recorded_hook(&hook, &r->commits, first->config_commit, first->hook, &why);
		if (!error)
			error = wh_journal_get_message(&m, r->journal, first->message_id, &why);
		if (!error)
			error = wh_dispatch_add_message(&d, &index, hook, m.config_commit, m.type,
							NULL, 0, m.id, m.body, m.body_len, &why);
		wh_journal_message_release(&m);
		if (error == WH_ENOMEM) {
			*err = why;
			goto out;
		}
		for (; i < end; i++) {
			if (error < 0) {
				hold(r, &list.items[i], &why);
				continue;
			}
			wh_error_clear(&why);
			if (wh_dispatch_add_delivery(&d, index, list.items[i].target_index,
						     list.items[i].id, &why) < 0)
				hold(r, &list.items[i], &why);
			else
				d.deliveries[d.ndeliveries - 1].deferrals = list.items[i].deferrals;
		}
		error = 0;
	}
	if (!(*sent = d.ndeliveries))
		goto out;
	if ((error = deliver_and_report(&d, r->journal, opts, deadline_ms, &missing, err)) < 0)
		goto out;
	r->attempted += d.ndeliveries;
	r->missing += missing;
out:
	if (error < 0) {
		/* nothing of this batch was sent: give every lease back */
		for (size_t i = 0; i < list.count; i++)
			wh_journal_release(r->journal, list.items[i].id, NULL);
	}
	wh_dispatch_release(&d);
	wh_journal_deliveries_release(&list);
	return error;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* EINTR (a stop signal) ends it early: fine */
}

/* --watch: claim what is due, deliver it, sleep until the next due time
 * (at most WATCH_POLL_MS, to notice new rows), until a stop or --max-time. */
static int retry_watch(struct retry *r, struct wh_error *err)
{
	const struct wh_options *opts = r->opts;
	int64_t deadline =
	    opts->max_time > 0 ? wh_journal_now() + (int64_t)(opts->max_time * 1000.0) : 0;
	int error = 0;

	while (!stop_requested(opts) && (!deadline || wh_journal_now() < deadline)) {
		size_t sent = 0;
		int64_t next = 0, now, wake;

		if ((error = retry_batch(r, deadline, &sent, err)) < 0)
			break;
		if (sent)
			continue; /* more may be due already */
		if ((error = wh_journal_next_due(&next, r->journal, opts->hook, err)) < 0)
			break;
		now = wh_journal_now();
		wake = now + WATCH_POLL_MS;
		if (next && next < wake)
			wake = next;
		if (deadline && deadline < wake)
			wake = deadline;
		while (!stop_requested(opts) && (now = wh_journal_now()) < wake)
			sleep_ms(wake - now < WATCH_SLICE_MS ? wake - now : WATCH_SLICE_MS);
	}
	return error;
}

int wh_cmd_retry(const struct wh_options *opts, struct wh_error *err)
{
	struct retry r;
	size_t sent = 0;
	int error;

	memset(&r, 0, sizeof(r));
	r.opts = opts;
	r.commits.repo = opts->repo;
	if (opts->dry_run)
		return wh_error_set(err, WH_EUSAGE,
				    "'whrun retry' has no --dry-run; 'whrun deliveries --status "
				    "pending' lists the outbox");
	if (opts->watch && opts->all)
		return wh_error_set(err, WH_EUSAGE,
				    "--all and --watch do not go together (--all would send every "
				    "pending delivery again at once, forever)");
	if ((error = open_journal(&r.journal, opts, !opts->watch, err)) < 0)
		goto out;
	if (!r.journal) {
		if (opts->output == WH_OUTPUT_JSON)
			error = wh_print_json(json_array(), err);
		else
			printf("nothing due: there is no journal yet\n");
		goto out;
	}
	if (opts->watch) {
		if (opts->output != WH_OUTPUT_JSON)
			fprintf(stderr,
				"whrun: watching the outbox of %s (SIGINT or SIGTERM ends)\n",
				wh_journal_path(r.journal));
		error = retry_watch(&r, err);
		goto out;
	}

	if ((error = retry_batch(&r, 0, &sent, err)) < 0)
		goto out;
	if (!sent && !r.config_errors) {
		int64_t next = 0;
		char when[40];

		if ((error = wh_journal_next_due(&next, r.journal, opts->hook, err)) < 0)
			goto out;
		if (opts->output == WH_OUTPUT_JSON) {
			error = wh_print_json(json_array(), err);
		} else if (next) {
			wh_journal_format_time(when, sizeof(when), next);
			printf("nothing due in the outbox; the next pending delivery is due at %s "
			       "(--all sends it now)\n",
			       when);
		} else {
			printf("nothing due: the outbox is empty\n");
		}
	}
	if (!error)
		error = missing_error(r.missing, err);
out:
	if (r.journal)
		release_held(&r);
	if ((!error || error == WH_EDELIVERY) && r.config_errors)
		error = wh_error_set(err, WH_ECONFIG,
				     "%d deliver%s could not be rebuilt and stay%s pending (see "
				     "above)",
				     r.config_errors, r.config_errors == 1 ? "y" : "ies",
				     r.config_errors == 1 ? "s" : "");
	free(r.held);
	commit_cache_release(&r.commits);
	wh_journal_close(r.journal);
	return error;
}

/* --- resend --------------------------------------------------------------- */

int wh_cmd_resend(const struct wh_options *opts, struct wh_error *err)
{
	struct commit_cache commits;
	struct wh_journal *journal = NULL;
	struct wh_journal_deliveries list = {0};
	struct wh_journal_stored_message m = {0};
	const struct wh_hook *hook;
	struct wh_dispatch d;
	size_t index, missing = 0;
	int error;

	memset(&commits, 0, sizeof(commits));
	commits.repo = opts->repo;
	wh_dispatch_init(&d);
	if ((error = open_journal(&journal, opts, 1, err)) < 0)
		goto out;
	if (!journal) {
		error =
		    wh_error_set(err, WH_ENOTFOUND, "nothing to resend: there is no journal yet");
		goto out;
	}
	if ((error = wh_journal_lookup(&list, journal, opts->args[0], err)) < 0 ||
	    (error = wh_journal_get_message(&m, journal, list.items[0].message_id, err)) < 0 ||
	    (error = recorded_hook(&hook, &commits, m.config_commit, m.hook, err)) < 0 ||
	    (error = wh_dispatch_add_message(&d, &index, hook, m.config_commit, m.type, NULL, 0,
					     m.id, m.body, m.body_len, err)) < 0)
		goto out;
	/* one new delivery per target (a message id names them all; earlier
	 * resends make several rows per target) */
	for (size_t i = 0; i < list.count; i++) {
		int seen = 0;
		for (size_t k = 0; k < i; k++)
			seen |= list.items[k].target_index == list.items[i].target_index;
		if (!seen && (error = wh_dispatch_add_delivery(
				  &d, index, list.items[i].target_index, 0, err)) < 0)
			goto out;
	}
	if (opts->dry_run) {
		printf("# dry run: resend %s (%zu request%s), nothing sent\n", m.id, d.ndeliveries,
		       d.ndeliveries == 1 ? "" : "s");
		wh_dispatch_print_requests(&d, stdout);
		goto out;
	}
	if ((error = wh_dispatch_insert(&d, journal, err)) < 0 ||
	    (error = deliver_and_report(&d, journal, opts, 0, &missing, err)) < 0)
		goto out;
	error = missing_error(missing, err);
out:
	wh_dispatch_release(&d);
	wh_journal_message_release(&m);
	wh_journal_deliveries_release(&list);
	commit_cache_release(&commits);
	wh_journal_close(journal);
	return error;
}

/* --- ping ----------------------------------------------------------------- */

int wh_cmd_ping(const struct wh_options *opts, struct wh_error *err)
{
	struct wh_config config;
	struct wh_gitsrc *src = NULL;
	struct wh_diags diags;
	struct wh_journal *journal = NULL;
	struct wh_dispatch d;
	const struct wh_hook *hook;
	git_oid commit;
	char *data = NULL;
	size_t data_len = 0, index, missing = 0;
	int error;

	wh_config_init(&config);
	wh_diags_init(&diags);
	wh_dispatch_init(&d);
	error = wh_load_at_ref(&config, &src, &commit, opts->repo, opts->ref, &diags, err);
	wh_diags_sort(&diags);
	if (error < 0) {
		wh_print_diags(&diags);
		goto out;
	}
	if (!(hook = wh_config_find(&config, opts->args[0]))) {
		error = wh_error_set(err, WH_ECONFIG,
				     "no hook '%s' at %s (%.12s); 'whrun list' "
				     "names them",
				     opts->args[0], opts->ref, config.commit);
		goto out;
	}
	if (!hook->enabled)
		fprintf(stderr,
			"whrun: note: hook %s is disabled (%s:%d); pinging its targets anyway\n",
			hook->name, hook->file, hook->line);
	if ((error = wh_envelope_ping_data(&data, &data_len, hook->name, config.commit, err)) < 0 ||
	    (error = wh_dispatch_add_message(&d, &index, hook, config.commit, "ping", data,
					     data_len, NULL, NULL, 0, err)) < 0)
		goto out;
	for (size_t t = 0; t < hook->ntargets; t++)
		if ((error = wh_dispatch_add_delivery(&d, index, t, 0, err)) < 0)
			goto out;
	if (opts->dry_run) {
		printf("# dry run: ping %s (%zu request%s), nothing sent\n", hook->name,
		       d.ndeliveries, d.ndeliveries == 1 ? "" : "s");
		wh_dispatch_print_requests(&d, stdout);
		goto out;
	}
	if ((error = open_journal(&journal, opts, 0, err)) < 0 ||
	    (error = wh_dispatch_insert(&d, journal, err)) < 0 ||
	    (error = deliver_and_report(&d, journal, opts, 0, &missing, err)) < 0)
		goto out;
	/* a ping that does not arrive is a failure, required hook or not */
	missing = 0;
	for (size_t i = 0; i < d.ndeliveries; i++)
		missing +=
		    d.deliveries[i].outcome != WH_OUTCOME_DELIVERED || d.deliveries[i].pending;
	if (missing)
		error = wh_error_set(err, WH_EDELIVERY, "%zu of %zu ping%s not delivered", missing,
				     d.ndeliveries, d.ndeliveries == 1 ? " was" : "s were");
out:
	wh_dispatch_release(&d);
	free(data);
	wh_journal_close(journal);
	wh_gitsrc_free(src);
	wh_diags_release(&diags);
	wh_config_release(&config);
	return error;
}
