#!/usr/bin/env bash
# The command line itself: help, version, usage errors and exit code 2.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "--version" --version
contains "--version names whrun" "$OUT" "whrun "
expect_exit 0 "--help" --help
contains "--help lists commands" "$OUT" "validate"
expect_exit 0 "per-command help" list --help
contains "list --help shows its usage" "$OUT" "usage: whrun list"
expect_exit 0 "help after options" --repo /nonexistent validate --help
expect_exit 2 "no command" 
expect_exit 2 "unknown command" frobnicate
contains "unknown command named" "$ERR" "frobnicate"
expect_exit 2 "unknown option" list --frob
expect_exit 2 "option a command does not take" list --ndjson x
contains "names the option" "$ERR" "--ndjson"
expect_exit 2 "missing option value" list --repo
expect_exit 2 "bad --output" list --output yaml
expect_exit 2 "bad --max-time" --stage x --max-time abc
expect_exit 2 "bad --concurrency" --stage x --concurrency 0
expect_exit 2 "missing argument" show
expect_exit 2 "markdown is for diff only" list --output markdown
done_testing
