/* hookschema: hook.schema.json applied to definition files (see hookschema.h). */
#include "hookschema.h"

int wh_hookschema_check(const json_t *doc, const json_t *positions, const char *path,
			struct wh_diags *diags)
{
	/* TODO(schema branch): compile the embedded hook.schema.json and validate. */
	return 0;
}
