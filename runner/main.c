/*
 * main: process-wide set-up only (library initialisation, libinit.h; locale-free
 * behaviour, SIGPIPE, the SIGINT/SIGTERM stop request), then the CLI.
 * Everything else lives in the library.
 *
 * SIGINT and SIGTERM: while a command that delivers runs, the first one
 * only sets the stop request (struct wh_stop): the command starts nothing
 * new, lets attempts in flight finish and journals them, gives the rest
 * back to the outbox and exits. The handler is one-shot (SA_RESETHAND), so
 * a second signal kills at once, which loses nothing either: the outbox
 * rows exist, and a dead process's leases end with it (journal.h). Other
 * commands keep the default action. No SA_RESTART: a blocking call returns
 * EINTR so the command sees the request without waiting for a timeout.
 *
 * Exit: once the CLI returns, everything that matters is written (the
 * journal is closed, its last commit synced where it must be) and stdio
 * is flushed here. Tearing the libraries down and running their exit
 * handlers (OpenSSL's cleanup among them) only frees memory that the
 * kernel frees anyway: ~0.7 ms of a ~30 ms one-target run
 * (tests/bench/deliver-vs-curl.sh), so whrun leaves with _exit. A
 * sanitizer build (WHRUN_SANITIZE, which defines WH_FULL_EXIT) takes the
 * long way, so that LeakSanitizer still checks what the CLI left allocated.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "libinit.h"

static struct wh_stop stop;

static void on_stop_signal(int sig)
{
	if (!stop.honoured) {
		/* the handler was reset on entry: the default action applies */
		raise(sig);
		return;
	}
	stop.requested = 1;
}

static void install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	int code;

	signal(SIGPIPE, SIG_IGN);
	install_stop_handlers();
	if (wh_libinit() < 0)
		return 3;
	code = wh_cli_main(argc, argv, &stop);
#ifndef WH_FULL_EXIT
	fflush(NULL);
	_exit(code);
#else
	wh_libshutdown();
	return code;
#endif
}
