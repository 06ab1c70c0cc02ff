/* embedded: lookup over the generated table (see embedded.h). */
#include <string.h>

#include "embedded.h"

const struct wh_embedded_file *wh_embedded_find(const char *name)
{
	for (size_t i = 0; i < wh_embedded_count; i++)
		if (strcmp(wh_embedded_files[i].name, name) == 0)
			return &wh_embedded_files[i];
	return NULL;
}
