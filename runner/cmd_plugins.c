/*
 * cmd_plugins: `whrun plugins` lists the plugin kinds whrun would find
 * (plugin.h): each whrun-kind-NAME on the search path, where it is, the
 * description its describe schema gives, and whether an earlier directory
 * shadows it or its describe fails.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "plugin.h"
#include "banned.h"

int wh_cmd_plugins(const struct wh_options *opts, struct wh_error *err)
{
	json_t *list = NULL, *item;
	char *where = NULL;
	size_t i;
	int error;

	if ((error = wh_plugin_list(&list, err)) < 0)
		goto out;
	if (opts->output == WH_OUTPUT_JSON) {
		error = wh_print_json(list, err);
		list = NULL;
		goto out;
	}
	where = wh_plugin_search_path();
	if (json_array_size(list) == 0)
		printf("no plugins found (searched %s)\n", where ? where : "?");
	json_array_foreach(list, i, item)
	{
		const char *shadowed = json_string_value(json_object_get(item, "shadowed"));
		const char *problem = json_string_value(json_object_get(item, "error"));
		const char *description = json_string_value(json_object_get(item, "description"));

		printf("%-16s %s", json_string_value(json_object_get(item, "kind")),
		       json_string_value(json_object_get(item, "path")));
		if (shadowed)
			printf("  (shadowed by %s)", shadowed);
		else if (problem)
			printf("  (describe failed: %s)", problem);
		else if (description && *description)
			printf("  %s", description);
		printf("\n");
	}
out:
	free(where);
	json_decref(list);
	return error;
}
