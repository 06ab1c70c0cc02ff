/*
 * test_builtin_schemas: every payload schema compiled into whrun is valid
 * against its meta-schema. wh_stage_schema skips that check for them at
 * run time (it costs a meta-schema compile per run), so it is made here.
 * Also: whrun reads every embedded JSON file (stage schemas, hook.schema.json,
 * meta-schemas) with wh_schema_parse_trusted, which must give the value
 * jansson gives.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "embedded.h"
#include "schema.h"

int main(void)
{
	size_t checked = 0, parsed = 0;

	for (size_t i = 0; i < wh_embedded_count; i++) {
		const struct wh_embedded_file *f = &wh_embedded_files[i];
		size_t len = strlen(f->name);
		struct wh_error err = WH_ERROR_INIT;
		json_t *loaded, *trusted = NULL;

		if (len < 5 || strcmp(f->name + len - 5, ".json") != 0)
			continue;
		loaded = json_loadb((const char *)f->data, f->size, 0, NULL);
		CHECK(f->name, loaded != NULL);
		CHECK(f->name, wh_schema_parse_trusted(&trusted, (const char *)f->data, f->size,
						       f->name, &err) == 0);
		CHECK(f->name, loaded && trusted && json_equal(loaded, trusted));
		json_decref(loaded);
		json_decref(trusted);
		parsed++;
	}
	CHECK("embedded JSON files", parsed >= 12);

	for (size_t i = 0; i < wh_embedded_count; i++) {
		const struct wh_embedded_file *f = &wh_embedded_files[i];
		struct wh_schema_config cfg;
		struct wh_schema *schema = NULL;
		struct wh_error err = WH_ERROR_INIT;
		json_error_t jerr;
		json_t *doc;
		size_t len = strlen(f->name);

		if (strncmp(f->name, "schemas/", 8) != 0 || len < 5 ||
		    strcmp(f->name + len - 5, ".json") != 0)
			continue;
		doc = json_loadb((const char *)f->data, f->size, 0, &jerr);
		CHECK(f->name, doc != NULL);
		if (!doc)
			continue;
		memset(&cfg, 0, sizeof(cfg));
		cfg.check_metaschema = 1;
		if (wh_schema_compile(&schema, doc, &cfg, NULL, &err) < 0)
			fprintf(stderr, "%s: %s\n", f->name, err.message);
		CHECK(f->name, schema != NULL);
		wh_schema_free(schema);
		json_decref(doc);
		checked++;
	}
	/* the nine stages and hook.schema.json */
	CHECK("every shipped schema", checked >= 10);
	return check_done();
}
