/* Unit tests of the schema module: compile once, validate many, error shape,
 * numbers, strings, patterns, references, annotations and bounds. The
 * official suite runs separately (tests/conformance). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "schema.h"
#include "schema_internal.h"
#include "util.h"

static json_t *parse(const char *text)
{
	struct wh_error err = WH_ERROR_INIT;
	json_t *v = NULL;

	if (wh_schema_parse(&v, text, strlen(text), "test", &err))
		fprintf(stderr, "parse failed: %s: %s\n", text, err.message);
	return v;
}

static struct wh_schema *compile(const char *text)
{
	struct wh_schema_config cfg = {NULL, NULL, 0, 1, NULL};
	struct wh_error err = WH_ERROR_INIT;
	struct wh_schema *s = NULL;
	json_t *doc = parse(text);

	if (wh_schema_compile(&s, doc, &cfg, NULL, &err))
		fprintf(stderr, "compile failed: %s: %s\n", text, err.message);
	json_decref(doc);
	return s;
}

/* 1 valid, 0 invalid, -1 on trouble */
static int check(struct wh_schema *s, const char *instance)
{
	json_t *v = parse(instance);
	int rc = v && s ? wh_schema_validate(s, v, NULL) : -1;

	json_decref(v);
	return rc == 0 ? 1 : rc == WH_EPAYLOAD ? 0 : -1;
}

static void test_numbers(void)
{
	struct wh_schema *s = compile("{\"type\": \"integer\"}");

	CHECK("1 is an integer", check(s, "1") == 1);
	CHECK("1.0 is an integer", check(s, "1.0") == 1);
	CHECK("1.5 is not", check(s, "1.5") == 0);
	CHECK("2^64 is an integer (read as a double)", check(s, "18446744073709551616") == 1);
	CHECK("1e308 is an integer", check(s, "1e308") == 1);
	wh_schema_free(s);

	s = compile("{\"const\": 1}");
	CHECK("1.0 equals 1", check(s, "1.0") == 1);
	CHECK("1.000001 does not", check(s, "1.000001") == 0);
	wh_schema_free(s);

	s = compile("{\"enum\": [[1, {\"a\": 2.0}]]}");
	CHECK("deep numeric equality", check(s, "[1.0, {\"a\": 2}]") == 1);
	CHECK("deep inequality", check(s, "[1, {\"a\": 3}]") == 0);
	wh_schema_free(s);

	s = compile("{\"multipleOf\": 0.01}");
	CHECK("19.99 multipleOf 0.01", check(s, "19.99") == 1);
	CHECK("0.07 multipleOf 0.01", check(s, "0.07") == 1);
	CHECK("19.995 is not", check(s, "19.995") == 0);
	wh_schema_free(s);

	s = compile("{\"multipleOf\": 0.123456789}");
	CHECK("1e308 overflowing the quotient is not a multiple", check(s, "1e308") == 0);
	wh_schema_free(s);

	s = compile("{\"maximum\": 9007199254740993}");
	CHECK("big integer bound, equal", check(s, "9007199254740993") == 1);
	CHECK("big integer bound, one more", check(s, "9007199254740994") == 0);
	wh_schema_free(s);
}

static void test_strings_and_patterns(void)
{
	struct wh_schema *s = compile("{\"maxLength\": 2, \"minLength\": 2}");

	CHECK("two code points, four bytes", check(s, "\"\\u00e9\\u00e9\"") == 1);
	CHECK("one emoji is one code point", check(s, "\"\\ud83d\\ude00\"") == 0);
	CHECK("three ASCII", check(s, "\"abc\"") == 0);
	wh_schema_free(s);

	s = compile("{\"pattern\": \"a+\"}");
	CHECK("patterns are not anchored", check(s, "\"xxaaxx\"") == 1);
	CHECK("no match", check(s, "\"xyz\"") == 0);
	CHECK("pattern ignores non-strings", check(s, "12") == 1);
	wh_schema_free(s);

	s = compile("{\"pattern\": \"^\\\\d$\"}");
	CHECK("\\d is ASCII", check(s, "\"5\"") == 1);
	CHECK("\\d does not match a Devanagari digit", check(s, "\"\\u0967\"") == 0);
	wh_schema_free(s);

	s = compile("{\"pattern\": \"^\\\\p{Letter}+$\"}");
	CHECK("long property names", check(s, "\"\\u00e9t\\u00e9\"") == 1);
	CHECK("digits are not letters", check(s, "\"42\"") == 0);
	wh_schema_free(s);

	s = compile("{\"pattern\": \"^a$\"}");
	CHECK("$ does not match before a final newline", check(s, "\"a\\n\"") == 0);
	wh_schema_free(s);

	/* the same answer before and after the pattern is JIT-compiled, even
	 * where the JIT's stack is too small for the match */
	{
		static char text[100004];
		int same = 1;

		memset(text, 'a', sizeof(text) - 1);
		text[0] = '"';
		text[sizeof(text) - 2] = '"';
		s = compile("{\"pattern\": \"^(a|b)*$\"}");
		for (int i = 0; i < 100; i++)
			same &= check(s, text) == 1;
		CHECK("a long match holds on every check, interpreted and JIT", same);
		wh_schema_free(s);
	}
}

static void test_errors(void)
{
	struct wh_schema *s = compile("{\"$defs\": {\"name\": {\"type\": \"string\"}},"
				      " \"type\": \"object\", \"required\": [\"a\", \"b\"],"
				      " \"properties\": {\"n\": {\"$ref\": \"#/$defs/name\"},"
				      "                \"list\": {\"items\": {\"minimum\": 0}}},"
				      " \"additionalProperties\": false}");
	struct wh_schema_issues issues = WH_SCHEMA_ISSUES_INIT;
	json_t *v = parse("{\"n\": 5, \"list\": [1, -1, -2], \"zzz\": 1, \"a\": 1}");
	int rc = wh_schema_validate(s, v, &issues);
	int saw_ref = 0, saw_items = 0, saw_required = 0, saw_additional = 0;

	CHECK("invalid", rc == WH_EPAYLOAD);
	CHECK("every error, not just the first", issues.count == 6); /* "a" is additional too */
	for (size_t i = 0; i < issues.count; i++) {
		const struct wh_schema_issue *it = &issues.items[i];

		if (strcmp(it->instance_location, "/n") == 0) {
			saw_ref = 1;
			CHECK_STR("keyword location through $ref", it->keyword_location,
				  "/properties/n/$ref/type");
			CHECK_STR("absolute location", it->absolute_location, "#/$defs/name/type");
			CHECK_STR("message", it->message, "must be string");
		}
		if (strcmp(it->instance_location, "/list/2") == 0) {
			saw_items = 1;
			CHECK_STR("items location", it->keyword_location,
				  "/properties/list/items/minimum");
		}
		if (strcmp(it->message, "must have required property 'b'") == 0)
			saw_required = 1;
		if (strcmp(it->message, "must NOT have additional property 'zzz'") == 0)
			saw_additional = 1;
	}
	CHECK("ref error", saw_ref);
	CHECK("second item error", saw_items);
	CHECK("required error", saw_required);
	CHECK("additionalProperties error", saw_additional);
	wh_schema_issues_release(&issues);

	/* errors of a passing anyOf branch are dropped */
	json_decref(v);
	wh_schema_free(s);
	s = compile("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}");
	v = parse("\"x\"");
	CHECK("anyOf valid", wh_schema_validate(s, v, &issues) == 0 && issues.count == 0);
	json_decref(v);
	v = parse("1.5");
	CHECK("anyOf invalid", wh_schema_validate(s, v, &issues) == WH_EPAYLOAD);
	CHECK("both branches and the anyOf itself", issues.count == 3);
	CHECK_STR("last is the anyOf", issues.count == 3 ? issues.items[2].message : NULL,
		  "must match a schema in anyOf");
	wh_schema_issues_release(&issues);
	json_decref(v);
	wh_schema_free(s);
}

static void test_reuse_and_unevaluated(void)
{
	struct wh_schema *s = compile("{\"allOf\": [{\"properties\": {\"a\": true}}],"
				      " \"properties\": {\"b\": true},"
				      " \"unevaluatedProperties\": false}");
	int ok = 1;

	for (int i = 0; i < 1000; i++)
		ok &=
		    check(s, "{\"a\": 1, \"b\": 2}") == 1 && check(s, "{\"a\": 1, \"c\": 2}") == 0;
	CHECK("one compiled schema validates many instances", ok);
	wh_schema_free(s);

	s = compile("{\"anyOf\": [{\"properties\": {\"a\": {\"type\": \"string\"}}}, true],"
		    " \"unevaluatedProperties\": false}");
	CHECK("annotations of a failed branch do not count", check(s, "{\"a\": 1}") == 0);
	CHECK("annotations of a passing branch do", check(s, "{\"a\": \"x\"}") == 1);
	wh_schema_free(s);
}

static void test_bad_schemas(void)
{
	struct wh_schema_config cfg = {NULL, NULL, 0, 1, NULL};
	struct wh_schema_issues issues = WH_SCHEMA_ISSUES_INIT;
	struct wh_error err = WH_ERROR_INIT;
	struct wh_schema *s = NULL;
	json_t *doc = parse("{\"type\": \"strng\"}");

	CHECK("meta-schema check fails",
	      wh_schema_compile(&s, doc, &cfg, &issues, &err) == WH_ECONFIG);
	CHECK("with errors", issues.count > 0);
	CHECK("and no schema", s == NULL);
	wh_schema_issues_release(&issues);
	json_decref(doc);

	doc = parse("{\"$ref\": \"other.json\"}");
	CHECK("unresolvable ref", wh_schema_compile(&s, doc, &cfg, NULL, &err) == WH_ECONFIG);
	CHECK("names the ref", strstr(err.message, "other.json") != NULL);
	json_decref(doc);

	s = compile("{\"$ref\": \"#\"}");
	CHECK("a ref cycle compiles", s != NULL);
	CHECK("and terminates as invalid", check(s, "1") == 0);
	wh_schema_free(s);
}

static void test_uri(void)
{
	char *u;

	u = wh_suri_resolve("http://a/b/c/d;p?q", "../../g");
	CHECK_STR("RFC 3986 ../../g", u, "http://a/g");
	free(u);
	u = wh_suri_resolve("http://a/b/c/d;p?q", "#s");
	CHECK_STR("RFC 3986 #s", u, "http://a/b/c/d;p?q#s");
	free(u);
	u = wh_suri_resolve("http://a/b/c/d;p?q", "g/./h/../i");
	CHECK_STR("dot segments", u, "http://a/b/c/g/i");
	free(u);
	u = wh_suri_resolve("urn:uuid:deadbeef", "#/$defs/x");
	CHECK_STR("URN base", u, "urn:uuid:deadbeef#/$defs/x");
	free(u);
	u = wh_suri_resolve("", "#foo");
	CHECK_STR("empty base", u, "#foo");
	free(u);
}

int main(void)
{
	test_numbers();
	test_strings_and_patterns();
	test_errors();
	test_reuse_and_unevaluated();
	test_bad_schemas();
	test_uri();
	return check_done();
}
