/* Unit tests for util and error. */
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "util.h"

int main(void)
{
	struct wh_buf buf = WH_BUF_INIT(8);
	struct wh_error err = WH_ERROR_INIT;
	struct wh_diags diags;
	char line[256], small[4];

	CHECK("buf add within cap", wh_buf_adds(&buf, "abcd") == 0);
	CHECK("buf add up to cap", wh_buf_addf(&buf, "%d", 1234) == 0);
	CHECK("buf refuses past cap", wh_buf_adds(&buf, "x") == WH_EIO);
	CHECK_STR("buf content", buf.ptr, "abcd1234");
	wh_buf_release(&buf);

	CHECK("strlcpy returns source length", wh_strlcpy(small, "hello", sizeof(small)) == 5);
	CHECK_STR("strlcpy truncates", small, "hel");

	wh_error_set_at(&err, WH_ECONFIG, "hooks/a.yaml", 3, 7, "duplicate key '%s'", "name");
	wh_error_format(&err, line, sizeof(line));
	CHECK_STR("located error", line, "hooks/a.yaml:3:7: duplicate key 'name'");
	wh_error_prefix(&err, "hook %s", "x");
	wh_error_format(&err, line, sizeof(line));
	CHECK_STR("prefixed error", line, "hooks/a.yaml:3:7: hook x: duplicate key 'name'");
	CHECK("config errors exit 3", wh_error_exit_code(WH_ECONFIG) == 3);
	CHECK("payload errors exit 4", wh_error_exit_code(WH_EPAYLOAD) == 4);
	CHECK("usage errors exit 2", wh_error_exit_code(WH_EUSAGE) == 2);

	wh_diags_init(&diags);
	wh_diags_add(&diags, WH_SEVERITY_ERROR, "b.yaml", 1, 1, "second");
	wh_diags_add(&diags, WH_SEVERITY_WARNING, "a.yaml", 9, 1, "first");
	wh_diags_sort(&diags);
	CHECK_STR("diags sorted by path", diags.items[0].message, "first");
	CHECK("diags count errors", diags.errors == 1 && diags.warnings == 1);
	wh_diags_release(&diags);
	return check_done();
}
