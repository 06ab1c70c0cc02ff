/*
 * test_libinit: library initialisation, and that libgit2's TLS costs whrun
 * nothing (libinit.c). libgit2 works after wh_libinit either way. With
 * libgit2's static archive (WH_LIBGIT2_NO_TLS) its TLS is not linked: CA
 * locations and HTTPS remotes fail with libinit's error, before any
 * connection. With a shared mbedTLS-backed libgit2, the CA bundle is skipped
 * during git_libgit2_init only: once, and a later CA load through libgit2
 * reaches mbedTLS's own parser (a missing file fails, a real bundle loads).
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "check.h"
#include "libinit.h"

static const char *bundle = "/etc/ssl/certs/ca-certificates.crt";

#ifdef WH_LIBGIT2_NO_TLS
static int last_error_is_ours(void)
{
	const git_error *e = git_error_last();

	return e && e->klass == GIT_ERROR_SSL && strstr(e->message, "not linked into whrun");
}

static void test_tls_kept_out(void)
{
	git_remote *remote = NULL;

	printf("libgit2 from its archive, its TLS not linked\n");
	CHECK("CA locations are refused",
	      git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, bundle, NULL) < 0);
	CHECK("... with libinit's error", last_error_is_ours());
	/* a closed loopback port: even a broken guard sends nothing anywhere else */
	CHECK("an https remote can be described",
	      git_remote_create_detached(&remote, "https://127.0.0.1:9/repo.git") == 0);
	CHECK("connecting to it fails",
	      remote && git_remote_connect(remote, GIT_DIRECTION_FETCH, NULL, NULL, NULL) < 0);
	CHECK("... at the TLS stream, with libinit's error", last_error_is_ours());
	git_remote_free(remote);
}
#else
static void test_ca_skipped(void)
{
	int https = (git_libgit2_features() & GIT_FEATURE_HTTPS) != 0;
	int mbedtls = https && dlsym(RTLD_DEFAULT, "mbedtls_x509_crt_init") != NULL;

	printf("shared libgit2 %s HTTPS, %s mbedTLS\n", https ? "with" : "without",
	       mbedtls ? "on" : "not on");
	CHECK("the CA bundle is skipped exactly when libgit2 is on mbedTLS",
	      wh_libinit_skipped_ca_loads() == (mbedtls ? 1u : 0u));
	if (!https)
		return;
	CHECK("a missing CA file is an error after init (mbedTLS's parser runs)",
	      git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, "/nonexistent/ca.pem", NULL) < 0);
	if (access(bundle, R_OK) == 0)
		CHECK("the system bundle loads after init",
		      git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, bundle, NULL) == 0);
	CHECK("loads after init are not skipped",
	      wh_libinit_skipped_ca_loads() == (mbedtls ? 1u : 0u));
}
#endif

int main(void)
{
	CHECK("libraries initialise", wh_libinit() == 0);

	/* libgit2 is usable: a discovery from / finds nothing, cleanly */
	{
		git_buf buf = {0};
		CHECK("libgit2 answers after init",
		      git_repository_discover(&buf, "/", 0, NULL) == GIT_ENOTFOUND);
		git_buf_dispose(&buf);
	}
#ifdef WH_LIBGIT2_NO_TLS
	test_tls_kept_out();
#else
	test_ca_skipped();
#endif
	wh_libshutdown();
	return check_done();
}
