/*
 * main: process-wide set-up only (library initialisation, locale-free
 * behaviour, SIGPIPE), then the CLI. Everything else lives in the library.
 */
#include <signal.h>

#include <curl/curl.h>
#include <git2.h>

#include "cli.h"

int main(int argc, char **argv)
{
	int code;

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || git_libgit2_init() < 0)
		return 3;
	code = wh_cli_main(argc, argv);
	git_libgit2_shutdown();
	curl_global_cleanup();
	return code;
}
