/*
 * libinit: process-wide initialisation and shutdown of the libraries whrun
 * links that need it (libcurl, libgit2), for the CLI and the tests.
 *
 * It also owns one start-up cost decision: libgit2's TLS, which whrun never
 * uses, is kept out (with libgit2's static archive) or initialised without
 * the system CA bundle (with the shared mbedTLS-backed libgit2, Debian's).
 * libinit.c says why and how.
 *
 * Call wh_libinit once, before any thread starts, and wh_libshutdown once
 * at the end; both are not thread-safe (neither are the libraries' own).
 */
#ifndef WH_LIBINIT_H
#define WH_LIBINIT_H

/* 0, or -1 when libcurl or libgit2 could not initialise. */
int wh_libinit(void);
void wh_libshutdown(void);

/* How many CA-file loads git_libgit2_init asked for and were skipped: 1 with
 * a shared mbedTLS-backed libgit2, 0 with any other (and with libgit2's TLS
 * kept out of the link). For tests. */
unsigned wh_libinit_skipped_ca_loads(void);

#endif
