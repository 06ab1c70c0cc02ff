/*
 * main: process-wide set-up only (library initialisation, locale-free
 * behaviour, SIGPIPE), then the CLI. Everything else lives in the library.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <signal.h>

#include <curl/curl.h>
#include <git2.h>

#include "cli.h"

/*
 * Debian's libgit2 (built with mbedTLS) parses the whole system CA bundle
 * inside git_libgit2_init: some 55 million instructions, more than half of
 * a one-target `whrun --stage` run and as much time as curl takes for its
 * whole POST, for HTTPS fetches that whrun never makes (it reads local
 * repositories only; its own HTTPS goes through libcurl and OpenSSL).
 * This definition is bound by the dynamic linker ahead of libmbedx509's:
 * during git_libgit2_init it loads nothing (libgit2 keeps an empty CA
 * list); any other caller gets mbedTLS's own function. With a libgit2
 * built on OpenSSL nothing calls it.
 */
static int in_git_init;

int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	static union {
		void *sym;
		int (*fn)(void *, const char *);
	} real;

	if (in_git_init)
		return 0;
	if (!real.sym)
		real.sym = dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
	return real.sym ? real.fn(chain, path) : -1;
}

static int git_init(void)
{
	int rc;

	in_git_init = 1;
	rc = git_libgit2_init();
	in_git_init = 0;
	return rc;
}

int main(int argc, char **argv)
{
	int code;

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || git_init() < 0)
		return 3;
	code = wh_cli_main(argc, argv);
	git_libgit2_shutdown();
	curl_global_cleanup();
	return code;
}
