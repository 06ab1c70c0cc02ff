/*
 * yaml: turns one YAML file into a jansson value, with a table of where
 * every node came from so later checks can name path:line:column.
 *
 * It reads libyaml's event stream (yaml_parser_parse) and builds JSON
 * directly; there is no intermediate YAML tree.
 *
 * What it guarantees:
 * - Plain scalars are typed by the YAML 1.2 core schema, whatever %YAML
 *   directive the file carries: null (~, null, Null, NULL, empty), bool
 *   (true/True/TRUE/false/False/FALSE), int ([-+]?[0-9]+ decimal, so 010 is
 *   10; 0o[0-7]+; 0x[0-9a-fA-F]+), float ([-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)
 *   ([eE][-+]?[0-9]+)?). Everything else is a string: yes, no, on, off, NO,
 *   y, 1_000, 0b1, 2024-01-01. Quoted and block scalars are always strings.
 * - Explicit tags !!str !!int !!float !!bool !!null !!map !!seq (or their
 *   tag:yaml.org,2002: long forms) and the non-specific "!" (a string) are
 *   honoured; a value that does not fit its tag is an error, and so is any
 *   other tag (!foo, !!binary, !!timestamp, %TAG-defined ones).
 * - .inf and .nan (any core-schema spelling, plain or under !!float), an
 *   integer outside json_int_t and a float that overflows a double are
 *   errors: JSON cannot carry them, and silently turning a large integer
 *   into a rounded real would change ids and sizes.
 * - Anchors and aliases work; an alias is a deep copy of its anchor's value
 *   (the caller may modify the result freely: no two places share a
 *   jansson value). An anchor is defined once its node is complete, so an
 *   alias inside its own anchor ("&a [*a]") is an "undefined alias" error,
 *   which rules out cycles. A redefined anchor refers to the latest node.
 * - Merge keys: a plain, untagged "<<" whose value is a mapping, or a
 *   sequence of mappings (inline or aliased). Keys written in the mapping
 *   win over merged ones wherever they appear; in a sequence, earlier
 *   mappings win. A merged key is never a duplicate of an explicit one.
 *   A quoted "<<" is an ordinary key.
 * - Duplicate keys in one mapping, non-scalar keys, NUL characters in a
 *   scalar, invalid UTF-8, control characters and more than one document are
 *   errors. Keys are used as their text (`1: x` gives the key "1").
 * - Limits (struct wh_yaml_limits): file size; nesting depth of collections
 *   (the root collection is depth 1; an alias counts with the depth of its
 *   anchor's value); nodes produced (keys included), where an alias counts as the whole
 *   subtree it expands to (measured when its anchor completes), so the
 *   limit is checked before any copy is made and "billion laughs" inputs
 *   fail in microseconds; the text that aliases add (a few nodes can hold
 *   long strings). The position table is bounded too (see wh_yaml_load).
 * - Every error is WH_ECONFIG (WH_ENOMEM when memory runs out) with
 *   err->path set and, when the error has a place, err->line/column
 *   (1-based, columns counted in characters as libyaml does).
 *
 * What it does not do: it does not interpret the document (that is the
 * definitions module's job), it does not read files (callers pass the text),
 * and it does not keep positions for the insides of an alias: a lookup
 * there falls back to the alias itself (wh_yaml_position). Float parsing
 * uses strtod, adjusted for the locale's decimal point.
 */
#ifndef WH_YAML_H
#define WH_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

struct wh_yaml_limits {
	size_t max_bytes;	/* the largest accepted text; default 1 MiB */
	size_t max_depth;	/* nesting of collections; default 64. It also bounds
				   the loader's recursion: keep it to thousands at most */
	size_t max_nodes;	/* nodes produced, every alias expansion counted in full;
				   default 100000 */
	size_t max_alias_bytes; /* text (scalars and keys) that alias expansions may
				   add in total; default 16 MiB */
	size_t position_depth;	/* not a limit on the input: when not 0, positions are
				   recorded only for pointers of at most this many
				   tokens (2: "/webhooks/3"), a cheap table for callers
				   that only locate top-level items; default 0 (all) */
};

#define WH_YAML_MAX_BYTES	(1024 * 1024)
#define WH_YAML_MAX_DEPTH	64
#define WH_YAML_MAX_NODES	100000
#define WH_YAML_MAX_ALIAS_BYTES (16 * 1024 * 1024)

/* Fills limits with the defaults above. */
void wh_yaml_limits_default(struct wh_yaml_limits *limits);

/*
 * Parses text (len bytes, need not be NUL-terminated) into *out, a new
 * reference the caller json_decref()s. An empty file (or one holding only
 * comments) gives JSON null. `path` names the file in error locations only.
 * limits may be NULL for the defaults.
 *
 * If positions is non-NULL, *positions receives a new jansson object (the
 * caller json_decref()s it) mapping the JSON pointer (RFC 6901; "" is the
 * root, e.g. "/webhooks/0/targets/1/url") of every node to the array
 * [line, column, key_line, key_column] (1-based). key_* is where the mapping
 * key was written for members of a mapping, 0 otherwise. Members added by a
 * merge key point at the merge value and at the "<<" key. Nodes inside an
 * alias's expansion have no entry of their own. The table is read-only: its
 * entries share integer values. Its keys total at most 32 times the input
 * size plus 1 MiB (only hostile input, say a long key above many nodes,
 * comes near); nodes past that have no entry, and lookups fall back.
 * The table is not free: for 10,000 hooks (3.2 MB) it takes loading from
 * about 0.16 s to 0.45 s and memory from 36 MB to 82 MB, so pass NULL when
 * no location will be reported (a caller can reload a file with positions
 * once it has something to report: loading is deterministic).
 *
 * Returns 0, or WH_ECONFIG / WH_ENOMEM with err filled; on failure *out and
 * *positions are NULL.
 */
int wh_yaml_load(json_t **out, json_t **positions, const char *text, size_t len, const char *path,
		 const struct wh_yaml_limits *limits, struct wh_error *err);

/*
 * Looks up where the node at `pointer` was written in a table made by
 * wh_yaml_load: its value position, or with want_key its mapping key's
 * position (the value's when it has no key, e.g. an array item). A pointer
 * without an entry falls back to its nearest ancestor that has one. Sets
 * *line and *column to 0 when nothing is known (positions NULL, empty).
 */
void wh_yaml_position(int *line, int *column, const json_t *positions, const char *pointer,
		      int want_key);

#endif
