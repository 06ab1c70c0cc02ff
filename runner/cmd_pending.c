/* cmd_pending: commands whose issue is still open; each says so plainly. */
#include <stdlib.h>

#include "commands.h"

#define PENDING(fn, what)                                                                          \
	int fn(const struct wh_options *opts, struct wh_error *err)                                \
	{                                                                                          \
		return wh_error_set(err, WH_EUSAGE, "'whrun %s' is not built yet", what);          \
	}

const char *wh_exec_path(void)
{
	const char *env = getenv("WHRUN_EXEC_PATH");
	return env && *env ? env : WHRUN_LIBEXEC_DIR;
}
