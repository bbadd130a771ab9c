/*
 * harness.h: a small typed-assert unit test harness.
 *
 * A test is a void function registered in tests/unit/main.c. Failed checks
 * print file, line and both sides, and mark the test failed; the test goes
 * on (later checks may tell more). The run ends with "N passed, N failed".
 */
#ifndef PV_TEST_HARNESS_H
#define PV_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int t_failed(void);

#define T_ASSERT(c) do { if (!(c)) t_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define T_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) t_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_); } while (0)
#define T_EQ_U64(a, b) do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ != b_) t_fail(__FILE__, __LINE__, "%s == %llu, expected %llu", #a, a_, b_); } while (0)
#define T_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) \
		t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define T_EQ_MEM(a, b, n) do { if (memcmp((a), (b), (n)) != 0) \
	t_fail(__FILE__, __LINE__, "%s and %s differ in %zu bytes", #a, #b, (size_t)(n)); } while (0)

/* Returns a fresh temporary directory for this test (removed at exit). */
const char *t_tmpdir(void);

#endif
