/*
 * check: the unit tests' few macros (after antirez's test_cond). Each test
 * program ends with `return check_done();`, which prints the closing line
 * "N passed, N failed" and fails the program if anything failed.
 */
#ifndef WH_TEST_CHECK_H
#define WH_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(what, expr)                                                                          \
	do {                                                                                       \
		if (expr) {                                                                        \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #expr); \
		}                                                                                  \
	} while (0)

#define CHECK_STR(what, got, want)                                                                 \
	do {                                                                                       \
		const char *check_got_ = (got), *check_want_ = (want);                            \
		if (check_got_ && check_want_ && strcmp(check_got_, check_want_) == 0) {          \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "FAIL %s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__,     \
				__LINE__, what, check_got_ ? check_got_ : "(null)",                \
				check_want_ ? check_want_ : "(null)");                             \
		}                                                                                  \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed || !check_passed ? 1 : 0;
}

#endif
