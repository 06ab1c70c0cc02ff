/* Unit tests for yaml: core-schema typing, tags, anchors, merges, errors, limits, positions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "error.h"
#include "util.h"
#include "yaml.h"

/* Loads yaml and compares the result with the JSON text want. */
static void ok_case(const char *what, const char *yaml, const char *want)
{
	struct wh_error err = WH_ERROR_INIT;
	json_t *got = NULL, *expected = json_loads(want, JSON_DECODE_ANY, NULL);
	int error = wh_yaml_load(&got, NULL, yaml, strlen(yaml), "t.yaml", NULL, &err);
	char *dump =
	    got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (error)
		fprintf(stderr, "  %s: unexpected error %d: %d:%d: %s\n", what, error, err.line,
			err.column, err.message);
	CHECK(what, expected != NULL);
	CHECK_STR(what, dump ? dump : err.message, want);
	/* json_equal also tells 1 from 1.0, which the dump above does too. */
	CHECK(what, error == 0 && got && expected && json_equal(got, expected));
	free(dump);
	json_decref(got);
	json_decref(expected);
}

/* Loads len bytes (which may hold NULs) with limits and expects an error at line:column. */
static void err_case_n(const char *what, const char *yaml, size_t len,
		       const struct wh_yaml_limits *limits, int code, int line, int column,
		       const char *message)
{
	struct wh_error err = WH_ERROR_INIT;
	json_t *got = (json_t *)&err, *positions = (json_t *)&err;
	int error = wh_yaml_load(&got, &positions, yaml, len, "hooks/t.yaml", limits, &err);
	char where[64];

	CHECK(what, error == code && err.code == code);
	snprintf(where, sizeof(where), "%d:%d", err.line, err.column);
	if (line >= 0) {
		char want[64];

		snprintf(want, sizeof(want), "%d:%d", line, column);
		CHECK_STR(what, where, want);
	}
	CHECK_STR(what, err.path, "hooks/t.yaml");
	CHECK_STR(what, err.message, message);
	CHECK(what, got == NULL && positions == NULL);
}

static void err_case(const char *what, const char *yaml, int line, int column, const char *message)
{
	err_case_n(what, yaml, strlen(yaml), NULL, WH_ECONFIG, line, column, message);
}

static void test_core_schema(void)
{
	ok_case("null forms", "a: ~\nb: null\nc: Null\nd: NULL\ne:\n",
		"{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null}");
	ok_case("bool forms", "[true, True, TRUE, false, False, FALSE]",
		"[true,true,true,false,false,false]");
	ok_case("1.1 booleans stay strings", "[yes, no, on, off, y, n, Yes, NO, tRUE, nULL]",
		"[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\",\"Yes\",\"NO\",\"tRUE\",\"nULL\"]");
	ok_case("country NO", "country: NO\n", "{\"country\":\"NO\"}");
	ok_case("decimal ints", "[0, 7, -5, +12, 010, 007]", "[0,7,-5,12,10,7]");
	ok_case("octal and hex ints", "[0o17, 0o0, 0x1F, 0xff, 0x0]", "[15,0,31,255,0]");
	ok_case("not ints in 1.2", "[0o8, 0b101, 1_000, -0x1, 0x, 0o, +0o7, 1:20, 0xg]",
		"[\"0o8\",\"0b101\",\"1_000\",\"-0x1\",\"0x\",\"0o\",\"+0o7\",\"1:20\",\"0xg\"]");
	ok_case("int limits", "[9223372036854775807, -9223372036854775808, 0x7fffffffffffffff]",
		"[9223372036854775807,-9223372036854775808,9223372036854775807]");
	ok_case("floats", "[1.5, -1.5, .5, +.5e3, 1., 1e3, 1E-2, -0.0, 3.0]",
		"[1.5,-1.5,0.5,500.0,1.0,1000.0,0.01,-0.0,3.0]");
	ok_case("not floats", "[1.2.3, ., .e3, 1e, e3, 1,5, .infinity, inf, nan, 1.5x]",
		"[\"1.2.3\",\".\",\".e3\",\"1e\",\"e3\",1,5,\".infinity\",\"inf\",\"nan\","
		"\"1.5x\"]");
	ok_case("other strings", "[2024-01-01, 12:30, ~x, -, '', hello world, 1.0.0]",
		"[\"2024-01-01\",\"12:30\",\"~x\",\"-\",\"\",\"hello world\",\"1.0.0\"]");
	ok_case("quoted scalars are strings", "[\"123\", '7', \"true\", 'null', \"~\", '']",
		"[\"123\",\"7\",\"true\",\"null\",\"~\",\"\"]");
	ok_case("block scalars are strings", "a: |\n  123\nb: >-\n  true\n",
		"{\"a\":\"123\\n\",\"b\":\"true\"}");
	ok_case("%YAML 1.1 does not change typing", "%YAML 1.1\n---\n[yes, 010]\n", "[\"yes\",10]");
	ok_case("unicode survives", "a: \"caf\\u00e9 \\U0001F600\"\nb: 日本\n",
		"{\"a\":\"caf\\u00E9 \\uD83D\\uDE00\",\"b\":\"\\u65E5\\u672C\"}");

	err_case("int too large", "size: 9223372036854775808\n", 1, 7,
		 "integer 9223372036854775808 does not fit in 64 bits (quote it to keep it as a "
		 "string)");
	err_case("negative int too large", "- -9223372036854775809\n", 1, 3,
		 "integer -9223372036854775809 does not fit in 64 bits (quote it to keep it as a "
		 "string)");
	err_case("hex too large", "a:\n  b: 0x10000000000000000\n", 2, 6,
		 "integer 0x10000000000000000 does not fit in 64 bits (quote it to keep it as a "
		 "string)");
	ok_case("float underflow", "[1e-400, -1e-400]", "[0.0,-0.0]");
	err_case("float overflow", "a: 1e999\n", 1, 4, "float 1e999 is out of range");
	err_case(".inf", "a: .inf\n", 1, 4, ".inf (infinity or NaN) cannot be represented in JSON");
	err_case("-.Inf", "[1, -.Inf]", 1, 5,
		 "-.Inf (infinity or NaN) cannot be represented in JSON");
	err_case(".NaN", "x:\n  - .NaN\n", 2, 5,
		 ".NaN (infinity or NaN) cannot be represented in JSON");
	ok_case("quoted .inf is a string", "a: '.inf'\n", "{\"a\":\".inf\"}");
}

static void test_tags(void)
{
	ok_case("!!str", "[!!str 123, !!str true, !!str ~]", "[\"123\",\"true\",\"~\"]");
	ok_case("empty !!str", "a: !!str\n", "{\"a\":\"\"}");
	ok_case("!!int", "[!!int \"42\", !!int 0x10, !!int -3, !!int '0o7']", "[42,16,-3,7]");
	ok_case("!!float", "[!!float 1, !!float \"2.5\", !!float -1e2]", "[1.0,2.5,-100.0]");
	ok_case("!!bool and !!null", "[!!bool True, !!bool 'false', !!null ~, !!null '']",
		"[true,false,null,null]");
	ok_case("empty !!null", "a: !!null\n", "{\"a\":null}");
	ok_case("!!map and !!seq", "a: !!map {b: !!seq [1]}\nc: !!map\n  d: 1\n",
		"{\"a\":{\"b\":[1]},\"c\":{\"d\":1}}");
	ok_case("long form tags", "[!<tag:yaml.org,2002:str> 5, !<tag:yaml.org,2002:int> '6']",
		"[\"5\",6]");
	ok_case("non-specific tag is a string", "[! 12, ! true, ! {a: 1}]",
		"[\"12\",\"true\",{\"a\":1}]");
	ok_case("tagged keys use their text", "!!str 1: a\n!!int 2: b\n",
		"{\"1\":\"a\",\"2\":\"b\"}");

	err_case("!!int abc", "port: !!int abc\n", 1, 7, "'abc' is not an integer (tagged !!int)");
	err_case("!!int 1.5", "- !!int 1.5\n", 1, 3, "'1.5' is not an integer (tagged !!int)");
	err_case("!!float abc", "a: !!float abc\n", 1, 4, "'abc' is not a float (tagged !!float)");
	err_case("!!float .inf", "a: !!float .inf\n", 1, 4,
		 ".inf (infinity or NaN) cannot be represented in JSON");
	err_case("!!bool yes", "a: !!bool yes\n", 1, 4, "'yes' is not a boolean (tagged !!bool)");
	err_case("!!null x", "a: !!null x\n", 1, 4, "'x' is not null (tagged !!null)");
	err_case("unknown local tag", "a:\n  b: !foo x\n", 2, 6, "unsupported tag '!foo'");
	err_case("unknown tag on a mapping", "a: !secret {b: 1}\n", 1, 4,
		 "unsupported tag '!secret'");
	err_case("!!binary", "a: !!binary aGk=\n", 1, 4, "unsupported tag '!!binary'");
	err_case("!!timestamp", "a: !!timestamp 2024-01-01\n", 1, 4,
		 "unsupported tag '!!timestamp'");
	err_case("unknown verbatim tag", "a: !<tag:example.com,2000:x> 1\n", 1, 4,
		 "unsupported tag 'tag:example.com,2000:x'");
	err_case("!!map on a sequence", "a: !!map [1]\n", 1, 4,
		 "tag !!map cannot be used on a sequence");
	err_case("!!seq on a mapping", "a: !!seq {b: 1}\n", 1, 4,
		 "tag !!seq cannot be used on a mapping");
	err_case("!!str on a mapping", "a: !!str {b: 1}\n", 1, 4,
		 "tag !!str cannot be used on a mapping");
	err_case("!!map on a scalar", "a: !!map x\n", 1, 4, "tag !!map cannot be used on a scalar");
	err_case("tag checked on keys", "!!int k: 1\n", 1, 1,
		 "'k' is not an integer (tagged !!int)");
	err_case("undefined tag handle (libyaml)", "a: !e!x 1\n", 1, 4,
		 "YAML syntax error: found undefined tag handle (while parsing a node at line 1, "
		 "column 4)");
}

/* 1 when no value in the tree is referenced twice (true/false/null are jansson singletons). */
static int unshared(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_boolean(v) || json_is_null(v))
		return 1;
	if (v->refcount != 1)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child)
		{
			if (!unshared(child))
				return 0;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			if (!unshared(child))
				return 0;
		}
	}
	return 1;
}

static void test_anchors_and_merges(void)
{
	static const char sharing[] = "a: &a {x: [1], y: {z: 2}}\n"
				      "b: *a\n"
				      "c: {<<: *a}\n"
				      "d:\n"
				      "  <<: &m {p: [3], q: *a}\n"
				      "e: *m\n"
				      "f: {<<: [*m, *a]}\n"
				      "g: &s str\n"
				      "h: [*s, *s]\n";
	struct wh_error err = WH_ERROR_INIT;
	json_t *doc = NULL;
	const char *shared = "a: &x {k: [1]}\nb: *x\n";

	ok_case("alias", "a: &x [1, 2]\nb: *x\nc: &s hi\nd: *s\n",
		"{\"a\":[1,2],\"b\":[1,2],\"c\":\"hi\",\"d\":\"hi\"}");
	ok_case("redefined anchor", "a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
		"{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
	ok_case("anchored key and alias key", "&k name: 1\nother: {*k : 2}\n",
		"{\"name\":1,\"other\":{\"name\":2}}");
	ok_case("alias key uses the scalar's text", "a: &n 010\n*n : x\n",
		"{\"a\":10,\"010\":\"x\"}");

	/* An alias is a copy: changing one place leaves the other alone. */
	CHECK("alias copy loads",
	      wh_yaml_load(&doc, NULL, shared, strlen(shared), "t", NULL, &err) == 0);
	json_array_append_new(json_object_get(json_object_get(doc, "b"), "k"), json_integer(2));
	CHECK("alias is not shared",
	      json_array_size(json_object_get(json_object_get(doc, "a"), "k")) == 1 &&
		  json_array_size(json_object_get(json_object_get(doc, "b"), "k")) == 2);
	json_decref(doc);
	CHECK("sharing cases load",
	      wh_yaml_load(&doc, NULL, sharing, strlen(sharing), "t", NULL, &err) == 0);
	CHECK("no value is shared after aliases and merges", doc && unshared(doc));
	CHECK("merged alias value", json_is_array(json_object_get(json_object_get(doc, "f"), "x")));
	json_decref(doc);

	ok_case("users' headers merge",
		"commonHeaders: &h {X-Team: infra, X-Env: prod}\n"
		"webhooks:\n"
		"  - name: a\n"
		"    targets:\n"
		"      - url: https://x.example\n"
		"        headers:\n"
		"          <<: *h\n"
		"          X-Env: staging\n",
		"{\"commonHeaders\":{\"X-Team\":\"infra\",\"X-Env\":\"prod\"},\"webhooks\":[{"
		"\"name\":\"a\",\"targets\":[{\"url\":\"https://x.example\",\"headers\":{"
		"\"X-Env\":\"staging\",\"X-Team\":\"infra\"}}]}]}");
	ok_case("explicit key before << wins", "a: &a {x: 1, y: 1}\nb: {x: 9, <<: *a}\n",
		"{\"a\":{\"x\":1,\"y\":1},\"b\":{\"x\":9,\"y\":1}}");
	ok_case(
	    "earlier mapping in a merge sequence wins",
	    "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n",
	    "{\"a\":{\"x\":1,\"y\":1},\"b\":{\"x\":2,\"z\":2},\"c\":{\"y\":3,\"x\":1,\"z\":2}}");
	ok_case("inline merge mapping", "a:\n  <<: {x: 1, y: {z: 2}}\n  x: 0\n",
		"{\"a\":{\"x\":0,\"y\":{\"z\":2}}}");
	ok_case("merge of an alias to a sequence of mappings",
		"l: &l [{x: 1}, {x: 2, y: 2}]\nm: {<<: *l}\n",
		"{\"l\":[{\"x\":1},{\"x\":2,\"y\":2}],\"m\":{\"x\":1,\"y\":2}}");
	ok_case("nested merges", "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n",
		"{\"a\":{\"x\":1},\"b\":{\"y\":2,\"x\":1},\"c\":{\"z\":3,\"y\":2,\"x\":1}}");
	ok_case("merged values are copies", "a: &a {x: [1]}\nb: {<<: *a}\n",
		"{\"a\":{\"x\":[1]},\"b\":{\"x\":[1]}}");
	ok_case("quoted << is an ordinary key", "\"<<\": 1\nx: {'<<': [2]}\n",
		"{\"<<\":1,\"x\":{\"<<\":[2]}}");
	ok_case("tagged << is an ordinary key", "!!str <<: {a: 1}\n", "{\"<<\":{\"a\":1}}");
	ok_case("anchor on a merge value", "a:\n  <<: &m {x: 1}\nb: *m\n",
		"{\"a\":{\"x\":1},\"b\":{\"x\":1}}");

	err_case("merge of a scalar", "a: &s hi\nb:\n  <<: *s\n", 3, 7,
		 "merge key '<<' needs a mapping or a sequence of mappings, not a string");
	err_case("merge of an inline scalar", "b:\n  x: 1\n  <<: 5\n", 3, 7,
		 "merge key '<<' needs a mapping or a sequence of mappings, not a number");
	err_case("merge sequence holding a scalar", "a: &a {x: 1}\nb: {<<: [*a, 2]}\n", 2, 14,
		 "merge key '<<' needs a mapping or a sequence of mappings, not a number");
	err_case("merge sequence holding a sequence", "b: {<<: [{x: 1},\n  [1]]}\n", 2, 3,
		 "merge key '<<' needs a mapping or a sequence of mappings, not a sequence");
	err_case("merge of an alias to a sequence of scalars", "l: &l [1]\nm: {<<: *l}\n", 2, 9,
		 "merge key '<<' needs a mapping or a sequence of mappings, not a sequence "
		 "holding a number");
	err_case("two merge keys", "a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n", 4, 3,
		 "duplicate key '<<' (first at line 3)");
	err_case("undefined alias", "a: 1\nb: *nope\n", 2, 4,
		 "alias *nope refers to an undefined anchor");
	err_case("alias inside its own anchor", "a: &a [1, *a]\n", 1, 11,
		 "alias *a refers to an undefined anchor");
	err_case("alias used before its anchor", "a: *b\nb: &b 1\n", 1, 4,
		 "alias *b refers to an undefined anchor");
	err_case("undefined alias as a key", "{*k : 1}\n", 1, 2,
		 "alias *k refers to an undefined anchor");
	err_case("undefined alias in a merge", "a: {<<: *m}\n", 1, 9,
		 "alias *m refers to an undefined anchor");
}

static void test_keys_and_documents(void)
{
	ok_case("keys are their text", "1: a\ntrue: b\nnull: c\n~: d\n\"\": e\n0x1: f\n",
		"{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\",\"~\":\"d\",\"\":\"e\",\"0x1\":\"f\"}");
	ok_case("empty file", "", "null");
	ok_case("comments only", "# nothing\n\n# here\n", "null");
	ok_case("empty document", "---\n", "null");
	ok_case("document end marker", "a: 1\n...\n", "{\"a\":1}");
	ok_case("explicit document", "---\na: 1\n", "{\"a\":1}");
	ok_case("scalar document", "hello\n", "\"hello\"");

	err_case("duplicate key", "name: a\nx: 1\nname: b\n", 3, 1,
		 "duplicate key 'name' (first at line 1)");
	err_case("nested duplicate key",
		 "webhooks:\n  - name: a\n    url: x\n    events: [a]\n    url: y\n", 5, 5,
		 "duplicate key 'url' (first at line 3)");
	err_case("duplicate key in flow mapping", "a: {b: 1, c: 2, b: 3}\n", 1, 17,
		 "duplicate key 'b' (first at line 1)");
	err_case("duplicate key by text", "1: a\n\"1\": b\n", 2, 1,
		 "duplicate key '1' (first at line 1)");
	err_case("duplicate key after a merge", "a: &a {x: 1}\nb:\n  x: 2\n  <<: *a\n  x: 3\n", 5,
		 3, "duplicate key 'x' (first at line 3)");
	err_case("duplicate key after nested mappings", "a:\n  b: {c: 1}\n  d: [e]\n  b: 2\n", 4, 3,
		 "duplicate key 'b' (first at line 2)");
	err_case("sequence key", "? [a]\n: 1\n", 1, 3,
		 "a mapping key must be a scalar, not a sequence");
	err_case("mapping key", "a:\n  ? {b: 1}\n  : 2\n", 2, 5,
		 "a mapping key must be a scalar, not a mapping");
	err_case("alias to a mapping as key", "a: &m {x: 1}\n*m : 2\n", 2, 1,
		 "a mapping key must be a scalar, not a mapping");
	err_case("second document", "a: 1\n---\nb: 2\n", 2, 1,
		 "a definition file holds one YAML document; a second one starts here");
	err_case("second document after an end marker", "--- 1\n...\n--- 2\n", 3, 1,
		 "a definition file holds one YAML document; a second one starts here");
}

static void test_syntax_and_encoding(void)
{
	struct wh_yaml_limits limits;

	err_case("bad indentation", "a:\n  b: 1\n c: 2\n", 3, 2,
		 "YAML syntax error: did not find expected key (while parsing a block mapping at "
		 "line 1, column 1)");
	err_case("unclosed quote", "a: \"abc\nb: 1\n", 3, 1,
		 "YAML syntax error: found unexpected end of stream (while scanning a quoted "
		 "scalar at line 1, column 4)");
	err_case("tab indentation", "a:\n\tb: 1\n", 2, 1,
		 "YAML syntax error: found character that cannot start any token (while "
		 "scanning for the next token at line 2, column 1)");
	err_case("unclosed flow sequence", "a: [1, 2\n", 2, 1,
		 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
		 "sequence at line 1, column 4)");
	err_case("mapping value in a plain scalar", "a: b: c\n", 1, 5,
		 "YAML syntax error: mapping values are not allowed in this context");
	err_case_n("invalid UTF-8", "a: ok\nb: \xff\n", 10, NULL, WH_ECONFIG, 2, 4,
		   "invalid input: invalid leading UTF-8 octet (#xFF)");
	err_case_n("truncated UTF-8 at the end", "a: caf\xc3", 7, NULL, WH_ECONFIG, 1, 7,
		   "invalid input: incomplete UTF-8 octet sequence");
	err_case("truncated UTF-8", "a: caf\xc3\n", 1, 8,
		 "invalid input: invalid trailing UTF-8 octet (#xA)");
	err_case_n("NUL byte", "a: x\0y\n", 7, NULL, WH_ECONFIG, 1, 5,
		   "invalid input: control characters are not allowed (#x0)");
	err_case_n("NUL byte after a multibyte character", "é: \0\n", 6, NULL, WH_ECONFIG, 1, 4,
		   "invalid input: control characters are not allowed (#x0)");
	err_case("control character", "a: x\x01y\n", 1, 5,
		 "invalid input: control characters are not allowed (#x1)");
	err_case("escaped NUL", "a: \"x\\0y\"\n", 1, 4, "NUL character in a scalar");
	err_case("escaped NUL in a key", "\"k\\0\": 1\n", 1, 1, "NUL character in a scalar");
	err_case("UTF-16 is not accepted",
		 "\xff\xfe"
		 "a\0",
		 1, 1, "invalid input: invalid leading UTF-8 octet (#xFF)");

	wh_yaml_limits_default(&limits);
	CHECK("default max_bytes", limits.max_bytes == 1024 * 1024);
	CHECK("default max_depth", limits.max_depth == 64);
	CHECK("default max_nodes", limits.max_nodes == 100000);
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void test_limits(void)
{
	struct wh_yaml_limits limits;
	struct wh_error err = WH_ERROR_INIT;
	struct wh_buf laughs = WH_BUF_INIT(1 << 20);
	struct timespec start;
	json_t *doc = NULL;
	char *deep;

	wh_yaml_limits_default(&limits);
	limits.max_bytes = 8;
	err_case_n("file too large", "a: 12345\n", 9, &limits, WH_ECONFIG, 0, 0,
		   "file is larger than the limit of 8 bytes");
	CHECK("file at the size limit",
	      wh_yaml_load(&doc, NULL, "a: 12345", 8, "t", &limits, &err) == 0);
	json_decref(doc);

	deep = nested(64);
	CHECK("64 levels load", wh_yaml_load(&doc, NULL, deep, strlen(deep), "t", NULL, &err) == 0);
	json_decref(doc);
	free(deep);
	deep = nested(65);
	err_case("65 levels fail", deep, 1, 65, "nesting too deep: more than 64 levels");
	free(deep);
	deep = nested(100000);
	err_case("100000 levels fail fast", deep, 1, 65, "nesting too deep: more than 64 levels");
	free(deep);

	limits.max_bytes = 1024;
	limits.max_depth = 3;
	CHECK("alias within depth",
	      wh_yaml_load(&doc, NULL, "a: &a [1]\nb: [*a]\n", 18, "t", &limits, &err) == 0);
	json_decref(doc);
	err_case_n("alias expanding past the depth limit", "a: &a [[1]]\nb: [*a]\n", 20, &limits,
		   WH_ECONFIG, 2, 5, "nesting too deep: more than 3 levels");

	limits.max_depth = 64;
	limits.max_nodes = 7; /* mapping, a, [ , 1, 2, b, alias (4) = 10 */
	CHECK("nodes within the limit",
	      wh_yaml_load(&doc, NULL, "a: [1, 2]\n", 10, "t", &limits, &err) == 0);
	json_decref(doc);
	err_case_n("too many nodes", "a: [1, 2, 3, 4, 5, 6]\n", 22, &limits, WH_ECONFIG, 1, 17,
		   "too many nodes: more than 7 (aliases count as their expansion)");
	err_case_n("alias expansion over the limit", "a: &a [1, 2]\nb: *a\n", 19, &limits,
		   WH_ECONFIG, 2, 4,
		   "too many nodes: expanding alias *a would make more than 7 (aliases count as "
		   "their expansion)");

	/* Billion laughs: 9^9 strings if expanded. */
	wh_buf_adds(&laughs, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
			     "\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++)
		wh_buf_addf(&laughs, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c - 1,
			    c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Subtrees: a 10, b 91, c 820, d 7381, e 66430 nodes; keys and the root
	 * count too, so the first *e in f passes 100000. */
	err_case_n("billion laughs", laughs.ptr, laughs.len, NULL, WH_ECONFIG, 6, 8,
		   "too many nodes: expanding alias *e would make more than 100000 (aliases "
		   "count as their expansion)");
	CHECK("billion laughs fails fast", seconds_since(&start) < 1.0);
	wh_buf_release(&laughs);

	/* Few nodes, much text: six copies of a 1000-byte string pass 5000 bytes. */
	wh_yaml_limits_default(&limits);
	limits.max_alias_bytes = 5000;
	wh_buf_adds(&laughs, "a: &a ");
	for (int i = 0; i < 1000; i++)
		wh_buf_adds(&laughs, "x");
	wh_buf_adds(&laughs, "\nb: [*a, *a, *a, *a, *a, *a, *a]\n");
	err_case_n("alias text over the limit", laughs.ptr, laughs.len, &limits, WH_ECONFIG, 2, 25,
		   "too much text: expanding alias *a would make aliases add more than 5000 "
		   "bytes");
	limits.max_alias_bytes = 7000;
	CHECK("alias text within the limit",
	      wh_yaml_load(&doc, NULL, laughs.ptr, laughs.len, "t", &limits, &err) == 0 &&
		  json_array_size(json_object_get(doc, "b")) == 7);
	json_decref(doc);
	wh_buf_release(&laughs);
	wh_yaml_limits_default(&limits);
	CHECK("default max_alias_bytes", limits.max_alias_bytes == 16 * 1024 * 1024);
}

/* A long key above many nodes must not make the position table quadratic. */
static void test_position_budget(void)
{
	struct wh_buf text = WH_BUF_INIT(SIZE_MAX / 2), key = WH_BUF_INIT(SIZE_MAX / 2);
	struct wh_error err = WH_ERROR_INIT;
	struct timespec start;
	json_t *doc = NULL, *positions = NULL;
	int line, column;

	for (int i = 0; i < 200000; i++)
		wh_buf_adds(&key, "k");
	/* libyaml takes implicit keys of up to 1024 characters only. */
	wh_buf_addf(&text, "? %s\n:\n", key.ptr);
	for (int i = 0; i < 20000; i++)
		wh_buf_adds(&text, "  - 1\n");
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK("long key above many nodes loads",
	      wh_yaml_load(&doc, &positions, text.ptr, text.len, "t", NULL, &err) == 0 &&
		  json_array_size(json_object_get(doc, key.ptr)) == 20000);
	CHECK("long key above many nodes is fast", seconds_since(&start) < 5.0);
	CHECK("position table stays bounded", json_object_size(positions) < 100);
	wh_buf_reset(&text);
	wh_buf_addf(&text, "/%s/19999", key.ptr);
	wh_yaml_position(&line, &column, positions, text.ptr, 0);
	CHECK("a node past the budget falls back to an ancestor", line == 3 && column == 3);
	json_decref(doc);
	json_decref(positions);
	wh_buf_release(&text);
	wh_buf_release(&key);
}

static void check_position(const char *what, const json_t *positions, const char *pointer,
			   int want_key, int line, int column)
{
	int got_line, got_column;
	char got[64], want[64];

	wh_yaml_position(&got_line, &got_column, positions, pointer, want_key);
	snprintf(got, sizeof(got), "%d:%d", got_line, got_column);
	snprintf(want, sizeof(want), "%d:%d", line, column);
	CHECK_STR(what, got, want);
}

static void test_positions(void)
{
	static const char yaml[] = "version: 1\n"			 /* 1 */
				   "commonHeaders: &h {X-Team: infra}\n" /* 2 */
				   "webhooks:\n"			 /* 3 */
				   "  - name: a\n"			 /* 4 */
				   "    targets:\n"			 /* 5 */
				   "      - url: https://x.example\n"	 /* 6 */
				   "      -   url: https://y.example\n"	 /* 7 */
				   "          headers:\n"		 /* 8 */
				   "            <<: *h\n"		 /* 9 */
				   "            X-Env: staging\n"	 /* 10 */
				   "          copy: *h\n"		 /* 11 */
				   "  - {name: b, \"a/b~c\": [x, y]}\n"; /* 12 */
	struct wh_error err = WH_ERROR_INIT;
	json_t *doc = NULL, *positions = NULL, *entry;

	CHECK("positions load",
	      wh_yaml_load(&doc, &positions, yaml, strlen(yaml), "t", NULL, &err) == 0);
	entry = json_object_get(positions, "/webhooks/0/targets/1/url");
	CHECK("position entry is [line, column, key_line, key_column]",
	      json_array_size(entry) == 4 && json_integer_value(json_array_get(entry, 0)) == 7 &&
		  json_integer_value(json_array_get(entry, 1)) == 16 &&
		  json_integer_value(json_array_get(entry, 2)) == 7 &&
		  json_integer_value(json_array_get(entry, 3)) == 11);
	check_position("root", positions, "", 0, 1, 1);
	check_position("root has no key", positions, "", 1, 1, 1);
	check_position("scalar value", positions, "/version", 0, 1, 10);
	check_position("scalar key", positions, "/version", 1, 1, 1);
	check_position("sequence", positions, "/webhooks", 0, 4, 3);
	check_position("sequence item", positions, "/webhooks/0", 0, 4, 5);
	check_position("sequence item has no key", positions, "/webhooks/0", 1, 4, 5);
	check_position("deep value", positions, "/webhooks/0/targets/0/url", 0, 6, 14);
	check_position("deep key", positions, "/webhooks/0/targets/0/url", 1, 6, 9);
	check_position("second target", positions, "/webhooks/0/targets/1", 0, 7, 11);
	check_position("explicit key next to a merge", positions,
		       "/webhooks/0/targets/1/headers/X-Env", 1, 10, 13);
	check_position("merged member points at the merge value", positions,
		       "/webhooks/0/targets/1/headers/X-Team", 0, 9, 17);
	check_position("merged member's key is the << key", positions,
		       "/webhooks/0/targets/1/headers/X-Team", 1, 9, 13);
	check_position("alias", positions, "/webhooks/0/targets/1/copy", 0, 11, 17);
	check_position("inside an alias falls back to the alias", positions,
		       "/webhooks/0/targets/1/copy/X-Team", 0, 11, 17);
	check_position("inside an alias, key", positions, "/webhooks/0/targets/1/copy/X-Team", 1,
		       11, 11);
	check_position("anchored mapping member", positions, "/commonHeaders/X-Team", 0, 2, 28);
	check_position("escaped pointer", positions, "/webhooks/1/a~1b~0c/1", 0, 12, 28);
	check_position("escaped pointer key", positions, "/webhooks/1/a~1b~0c", 1, 12, 15);
	check_position("missing member falls back to its parent", positions,
		       "/webhooks/1/missing/deeper", 0, 12, 5);
	check_position("missing top-level member falls back to the root", positions, "/nope", 0, 1,
		       1);
	CHECK("merge value positions are not recorded",
	      !json_object_get(positions, "/webhooks/0/targets/1/headers/<<"));
	check_position("no table", NULL, "/version", 0, 0, 0);
	json_decref(doc);
	json_decref(positions);

	CHECK("empty file positions", wh_yaml_load(&doc, &positions, "", 0, "t", NULL, &err) == 0 &&
					  json_is_null(doc) && json_object_size(positions) == 0);
	check_position("empty table", positions, "/a", 0, 0, 0);
	json_decref(doc);
	json_decref(positions);
}

/* A definition file in the shape of SPEC section 2. */
static void test_definition_file(void)
{
	static const char yaml[] =
	    "version: 1\n"
	    "defaults:\n"
	    "  timeout: 10s\n"
	    "webhooks:\n"
	    "  - name: deploy-notify\n"
	    "    enabled: true\n"
	    "    events: [clusters_deployed, \"*\"]\n"
	    "    filter:\n"
	    "      /application/name: [\"billing-*\", checkout]\n"
	    "    secret: ${env:DEPLOY_NOTIFY_SECRET}\n"
	    "    retry: {attempts: 3, backoff: 1s, max_backoff: 30s}\n"
	    "    targets:\n"
	    "      - url: https://hooks.example.com/deploys\n"
	    "        headers: {X-Team: infra, Authorization: \"Bearer ${env:TOKEN}\"}\n"
	    "        tls_verify: true\n";
	struct wh_error err = WH_ERROR_INIT;
	json_t *doc = NULL, *positions = NULL, *hook;
	int line, column;

	CHECK("definition file loads",
	      wh_yaml_load(&doc, &positions, yaml, strlen(yaml), "t", NULL, &err) == 0);
	hook = json_array_get(json_object_get(doc, "webhooks"), 0);
	CHECK("version is an integer", json_integer_value(json_object_get(doc, "version")) == 1 &&
					   json_is_integer(json_object_get(doc, "version")));
	CHECK_STR("durations are strings",
		  json_string_value(json_object_get(json_object_get(doc, "defaults"), "timeout")),
		  "10s");
	CHECK("enabled is a boolean", json_is_true(json_object_get(hook, "enabled")));
	CHECK_STR("references are strings", json_string_value(json_object_get(hook, "secret")),
		  "${env:DEPLOY_NOTIFY_SECRET}");
	CHECK("retry attempts is an integer",
	      json_integer_value(json_object_get(json_object_get(hook, "retry"), "attempts")) == 3);
	CHECK_STR("filter key keeps its slashes",
		  json_string_value(json_array_get(
		      json_object_get(json_object_get(hook, "filter"), "/application/name"), 1)),
		  "checkout");
	wh_yaml_position(&line, &column, positions, "/webhooks/0/filter/~1application~1name/1", 0);
	CHECK("filter glob position", line == 9 && column == 40);
	wh_yaml_position(&line, &column, positions, "/webhooks/0/filter/~1application~1name", 1);
	CHECK("filter key position", line == 9 && column == 7);
	wh_yaml_position(&line, &column, positions, "/webhooks/0/targets/0/headers/Authorization",
			 0);
	CHECK("flow mapping value position", line == 14 && column == 49);
	json_decref(doc);
	json_decref(positions);
}

/* Loads a generated file of `hooks` webhooks of about 10 lines each, with positions. */
static void test_many_hooks(size_t hooks)
{
	struct wh_buf text = WH_BUF_INIT(SIZE_MAX / 2);
	struct wh_yaml_limits limits;
	struct wh_error err = WH_ERROR_INIT;
	struct timespec start;
	json_t *doc = NULL, *positions = NULL;
	double elapsed;
	int line, column;

	wh_buf_adds(&text, "version: 1\ncommon: &h {X-Team: infra, X-Env: prod}\nwebhooks:\n");
	for (size_t i = 0; i < hooks; i++)
		wh_buf_addf(&text,
			    "  - name: hook-%zu\n"
			    "    description: Tell release channel %zu\n"
			    "    events: [clusters_deployed, clusters_rollbacked]\n"
			    "    kind: standard\n"
			    "    secret: ${env:SECRET_%zu}\n"
			    "    retry: {attempts: 3, backoff: 1s}\n"
			    "    targets:\n"
			    "      - url: https://hooks.example.com/%zu\n"
			    "        headers:\n"
			    "          <<: *h\n"
			    "          X-Env: staging\n",
			    i, i, i, i);
	wh_yaml_limits_default(&limits);
	limits.max_bytes = text.len;
	limits.max_nodes = SIZE_MAX;
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK("many hooks load",
	      wh_yaml_load(&doc, &positions, text.ptr, text.len, "t", &limits, &err) == 0);
	elapsed = seconds_since(&start);
	printf("loaded %zu hooks (%zu bytes, %zu position entries) in %.3f s\n", hooks, text.len,
	       json_object_size(positions), elapsed);
	CHECK("all hooks present", json_array_size(json_object_get(doc, "webhooks")) == hooks);
	wh_yaml_position(&line, &column, positions, "/webhooks/9999/targets/0/url", 0);
	CHECK("last hook's url position",
	      hooks != 10000 || (line == 3 + 9999 * 11 + 8 && column == 14));
	/* Generous (sanitizers and a shared machine): a bound against accidental
	 * quadratic work, not a benchmark. */
	CHECK("many hooks load in reasonable time", elapsed < 30.0);
	json_decref(doc);
	json_decref(positions);
	wh_buf_release(&text);
}

int main(void)
{
	test_core_schema();
	test_tags();
	test_anchors_and_merges();
	test_keys_and_documents();
	test_syntax_and_encoding();
	test_limits();
	test_positions();
	test_definition_file();
	test_position_budget();
	test_many_hooks(10000);
	return check_done();
}
