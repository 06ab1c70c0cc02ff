/*
 * libinit: library initialisation (libinit.h).
 *
 * Why libgit2's TLS is kept out. Debian builds libgit2 with mbedTLS, and
 * git_libgit2_init sets up an mbedTLS client for HTTPS fetches: it seeds a
 * random generator and parses the whole system CA bundle
 * (/etc/ssl/certs/ca-certificates.crt), over 55 million instructions and
 * about 7 ms, more than half of a one-target `whrun --stage` run and a third of
 * the wall time of the `curl -X POST` that tests/bench/deliver-vs-curl.sh
 * compares with. No option or environment variable turns it off. whrun
 * never fetches with libgit2: it opens local repositories only, and its own
 * HTTPS goes through libcurl and OpenSSL. How it is kept out depends on the
 * link (CMakeLists.txt, WHRUN_STATIC_LIBGIT2):
 *
 *  - libgit2 from its static archive (WH_LIBGIT2_NO_TLS): the linker's
 *    --wrap sends the four calls into libgit2's mbedTLS stream
 *    (streams/mbedtls.c) to the __wrap_ functions below, so that object and
 *    mbedTLS's TLS and X.509 code are not linked at all, as with libgit2's
 *    own USE_HTTPS=OFF. Initialisation does nothing; creating a TLS stream
 *    or setting CA locations fails with a libgit2 error, before any
 *    connection (fail closed). (mbedTLS's SHA-256 is still linked: libgit2
 *    hashes with it.)
 *  - shared libgit2 and mbedTLS: calls inside libgit2.so cannot be
 *    replaced, so this file defines mbedtls_x509_crt_parse_file; the dynamic
 *    linker binds libgit2's call to the executable's definition ahead of
 *    libmbedx509's (interposition). While git_libgit2_init runs it loads
 *    nothing: libgit2's chain stays empty, so an HTTPS fetch through
 *    libgit2 would fail certificate verification, never trust more. Every
 *    other call goes on to mbedTLS's own function, found with
 *    dlsym(RTLD_NEXT). With a libgit2 built on OpenSSL or without HTTPS
 *    nothing calls it, and nothing changes.
 *
 * Building libgit2 with USE_HTTPS=OFF from Debian's source package was
 * tried: the security update's sources (deb12u2) are not on every mirror,
 * and an older build would lose its fixes. The static archive comes from
 * the installed libgit2-dev, the same version as the shared library.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>

#include <curl/curl.h>
#include <git2.h>

#include "libinit.h"
#include "banned.h"

static int in_git_init;
static unsigned skipped_ca_loads;

#ifdef WH_LIBGIT2_NO_TLS
struct git_stream; /* <git2/sys/stream.h> */

static int no_tls(void)
{
	git_error_set_str(GIT_ERROR_SSL, "libgit2's HTTPS is not linked into whrun");
	return -1;
}

int __wrap_git_mbedtls_stream_global_init(void);
int __wrap_git_mbedtls_stream_global_init(void)
{
	return 0;
}

int __wrap_git_mbedtls_stream_new(struct git_stream **out, const char *host, const char *port);
int __wrap_git_mbedtls_stream_new(struct git_stream **out, const char *host, const char *port)
{
	return no_tls();
}

int __wrap_git_mbedtls_stream_wrap(struct git_stream **out, struct git_stream *in,
				   const char *host);
int __wrap_git_mbedtls_stream_wrap(struct git_stream **out, struct git_stream *in, const char *host)
{
	return no_tls();
}

int __wrap_git_mbedtls__set_cert_location(const char *file, const char *path);
int __wrap_git_mbedtls__set_cert_location(const char *file, const char *path)
{
	return no_tls();
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
