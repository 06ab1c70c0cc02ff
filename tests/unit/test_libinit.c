/*
 * test_libinit: library initialisation, and that an mbedTLS-backed libgit2
 * skips its CA bundle during git_libgit2_init only (libinit.c): the skip
 * happens once, libgit2 still works, and a later CA load through libgit2
 * reaches mbedTLS's own parser (a missing file fails, a real bundle loads).
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include <git2.h>

#include "check.h"
#include "libinit.h"

int main(void)
{
	int mbedtls, https;
	const char *bundle = "/etc/ssl/certs/ca-certificates.crt";

	CHECK("libraries initialise", wh_libinit() == 0);
	https = (git_libgit2_features() & GIT_FEATURE_HTTPS) != 0;
#ifdef WH_MBEDTLS_WRAPPED
	mbedtls = https; /* linked from libmbedx509.a, wrapped (libinit.c) */
#else
	mbedtls = https && dlsym(RTLD_DEFAULT, "mbedtls_x509_crt_init") != NULL;
#endif
	printf("libgit2 %s HTTPS, %s mbedTLS\n", https ? "with" : "without",
	       mbedtls ? "on" : "not on");
	CHECK("the CA bundle is skipped exactly when libgit2 is on mbedTLS",
	      wh_libinit_skipped_ca_loads() == (mbedtls ? 1u : 0u));

	/* libgit2 is usable: a discovery from / finds nothing, cleanly */
	{
		git_buf buf = {0};
		CHECK("libgit2 answers after init",
		      git_repository_discover(&buf, "/", 0, NULL) == GIT_ENOTFOUND);
		git_buf_dispose(&buf);
	}

	if (https) {
		CHECK("a missing CA file is an error after init (mbedTLS's parser runs)",
		      git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, "/nonexistent/ca.pem",
				       NULL) < 0);
		if (access(bundle, R_OK) == 0)
			CHECK("the system bundle loads after init",
			      git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, bundle, NULL) == 0);
		CHECK("loads after init are not skipped",
		      wh_libinit_skipped_ca_loads() == (mbedtls ? 1u : 0u));
	}
	wh_libshutdown();
	return check_done();
}
