/* main.c: runs the unit tests; the last line is "N passed, N failed". */
#include "harness.h"
#include "tests.h"

#include <stdio.h>
#include <string.h>

struct test {
	const char *name;
	void (*fn)(void);
};

#define PV_TEST_ENTRY(name) { #name, name },
static const struct test tests[] = { PV_TEST_LIST(PV_TEST_ENTRY) };

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		tests[i].fn();
		if (t_failed()) {
			printf("FAIL: %s\n", tests[i].name);
			failed++;
		} else {
			printf("PASS: %s\n", tests[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
