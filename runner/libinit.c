/*
 * libinit: library initialisation (libinit.h).
 *
 * Why libgit2 is initialised without its CA bundle. Debian builds libgit2
 * with mbedTLS and a compiled-in CA location, and git_libgit2_init parses
 * the whole bundle (/etc/ssl/certs/ca-certificates.crt) into an mbedTLS
 * chain, for HTTPS fetches: 55 million instructions and about 7 ms, more
 * than half of a one-target `whrun --stage` run and a third of the wall
 * time of the `curl -X POST` that tests/bench/deliver-vs-curl.sh compares
 * with. No option or environment variable turns it off. whrun never fetches
 * with libgit2: it opens local repositories only, and its own HTTPS goes
 * through libcurl and OpenSSL, which load CAs per transfer.
 *
 * So this file replaces mbedtls_x509_crt_parse_file for libgit2's calls.
 * While git_libgit2_init runs, it loads nothing and returns success:
 * libgit2's chain stays empty, so an HTTPS fetch through libgit2 would fail
 * certificate verification (fail closed), never trust more. Every other
 * call, before or after, goes on to mbedTLS's own function:
 * git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS) still loads a bundle.
 * With a libgit2 built on OpenSSL or without HTTPS nothing calls this, and
 * nothing changes. How the call is replaced depends on the link:
 *
 *  - libgit2 from its static archives (CMakeLists.txt, WHRUN_STATIC_LIBGIT2,
 *    which defines WH_MBEDTLS_WRAPPED): the linker's --wrap sends libgit2's
 *    reference to __wrap_mbedtls_x509_crt_parse_file, and
 *    __real_mbedtls_x509_crt_parse_file is mbedTLS's own.
 *  - shared libgit2 and mbedTLS: this file defines the symbol itself; the
 *    dynamic linker binds libgit2's call to the executable's definition ahead
 *    of libmbedx509's (interposition), and dlsym(RTLD_NEXT) finds mbedTLS's.
 *
 * The alternative, building libgit2 with USE_HTTPS=OFF from Debian's source
 * package, was tried: the security update's sources (deb12u2) are not on
 * every mirror, and an older build would lose its fixes. The static archive
 * comes from the installed libgit2-dev, the same version as the shared one.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>

#include <curl/curl.h>
#include <git2.h>

#include "libinit.h"
#include "banned.h"

static int in_git_init;
static unsigned skipped_ca_loads;

#ifdef WH_MBEDTLS_WRAPPED
int __real_mbedtls_x509_crt_parse_file(void *chain, const char *path);
int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path);
int __wrap_mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	if (in_git_init) {
		skipped_ca_loads++;
		return 0;
	}
	return __real_mbedtls_x509_crt_parse_file(chain, path);
}
#else
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	static union {
		void *sym;
		int (*fn)(void *, const char *);
	} real;

	if (in_git_init) {
		skipped_ca_loads++;
		return 0;
	}
	if (!real.sym)
		real.sym = dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
	/* MBEDTLS_ERR_X509_FILE_IO_ERROR: no mbedTLS in the process at all */
	return real.sym ? real.fn(chain, path) : -0x2900;
}
#endif

int wh_libinit(void)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	in_git_init = 1;
	rc = git_libgit2_init();
	in_git_init = 0;
	if (rc < 0) {
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

void wh_libshutdown(void)
{
	git_libgit2_shutdown();
	curl_global_cleanup();
}

unsigned wh_libinit_skipped_ca_loads(void)
{
	return skipped_ca_loads;
}
