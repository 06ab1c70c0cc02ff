/*
 * libinit: process-wide initialisation and shutdown of the libraries whrun
 * links that need it (libcurl, libgit2), for the CLI and the tests.
 *
 * It also owns one start-up cost decision: during git_libgit2_init, an
 * mbedTLS-backed libgit2 (Debian's) does not parse the system CA bundle,
 * which whrun would never use. libinit.c says why and how.
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
 * an mbedTLS-backed libgit2, 0 with any other. For tests. */
unsigned wh_libinit_skipped_ca_loads(void);

#endif
