/* uq_test.h - the project's own minimal unit-test harness, in the style of `greatest`
   (TEST / SUITE / RUN_TEST / ASSERT_* / PASS), written for uniql.h.

   A test is a function returning uq_status:

       TEST rounds_to_even(void) {
           ASSERT_EQ(0x3C00, uniql_fp32_to_fp16(1.0f));
           ASSERT_IN_RANGE(1.0, x, 1e-6);
           PASS();
       }
       SUITE(fp16) { RUN_TEST(rounds_to_even); }

   and one file defines main():

       UQ_MAIN_DEFS();
       int main(int argc, char **argv) { UQ_MAIN_BEGIN(argc, argv); RUN_SUITE(fp16); UQ_MAIN_END(); }

   Command line: -t SUBSTR runs only tests whose name contains SUBSTR, -s SUBSTR only
   suites, -v prints every test name and its time. The last line printed is always
   "N passed, N failed" (skipped tests are reported on the line before).
   UQ_NOTE(fmt, ...) prints a measured figure under the current test, so a test that
   compares two methods shows both numbers, not only the verdict. */
#ifndef UQ_TEST_H
#define UQ_TEST_H

#include <stdio.h>
#include <string.h>
#include <math.h>
#include <time.h>

/* UQ_SANITIZED is 1 in the AddressSanitizer build (make asan). The few tests that check
   numerics at scale (perplexity over thousands of tokens against transformers) run the same
   code paths the small tests cover, at 10-20x the cost under the sanitizer; they shorten or
   skip themselves there and run in full in `make test`. -DUQ_FULL keeps them whole. */
#ifndef UQ_SANITIZED
#  if defined(UQ_FULL)
#    define UQ_SANITIZED 0
#  elif defined(__SANITIZE_ADDRESS__)
#    define UQ_SANITIZED 1
#  elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#      define UQ_SANITIZED 1
#    endif
#  endif
#  ifndef UQ_SANITIZED
#    define UQ_SANITIZED 0
#  endif
#endif

typedef enum { UQ_PASS = 0, UQ_FAIL = 1, UQ_SKIP = 2 } uq_status;

typedef struct uq_state {
    int passed, failed, skipped;
    const char *test_filter, *suite_filter, *suite;
    int verbose;
    const char *fail_file;
    int fail_line;
    char fail_msg[512];
} uq_state;

extern uq_state uq__st;

#define TEST static uq_status
#define SUITE(name) void name(void)
#define SUITE_EXTERN(name) extern void name(void)

#define UQ__FAILF(...) do { \
        snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, __VA_ARGS__); \
        uq__st.fail_file = __FILE__; uq__st.fail_line = __LINE__; \
        return UQ_FAIL; } while (0)

#define PASS() return UQ_PASS
#define FAIL() UQ__FAILF("FAIL()")
#define FAILm(msg) UQ__FAILF("%s", (msg))
#define SKIPm(msg) do { snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s", (msg)); return UQ_SKIP; } while (0)
#define ASSERT(cond) do { if (!(cond)) UQ__FAILF("expected: %s", #cond); } while (0)
#define ASSERTm(msg, cond) do { if (!(cond)) UQ__FAILF("%s (%s)", (msg), #cond); } while (0)
#define ASSERT_FALSE(cond) do { if (cond) UQ__FAILF("expected false: %s", #cond); } while (0)
/* integers (compared as long long) */
#define ASSERT_EQ(exp, got) do { long long uq__e = (long long)(exp), uq__g = (long long)(got); \
        if (uq__e != uq__g) UQ__FAILF("%s == %s: expected %lld, got %lld", #exp, #got, uq__e, uq__g); } while (0)
/* |exp - got| <= tol, as doubles; NaN always fails */
#define ASSERT_IN_RANGE(exp, got, tol) do { double uq__e = (double)(exp), uq__g = (double)(got), uq__t = (double)(tol); \
        if (!(fabs(uq__e - uq__g) <= uq__t)) UQ__FAILF("%s ~ %s: expected %.9g, got %.9g (tol %.3g)", #exp, #got, uq__e, uq__g, uq__t); } while (0)
/* got <= bound, as doubles; NaN always fails */
#define ASSERT_LE(got, bound) do { double uq__g = (double)(got), uq__b = (double)(bound); \
        if (!(uq__g <= uq__b)) UQ__FAILF("%s <= %s: got %.9g > %.9g", #got, #bound, uq__g, uq__b); } while (0)
#define ASSERT_STR_EQ(exp, got) do { const char *uq__e = (exp), *uq__g = (got); \
        if (!uq__e || !uq__g || strcmp(uq__e, uq__g)) UQ__FAILF("%s == %s: expected \"%s\", got \"%s\"", #exp, #got, uq__e ? uq__e : "(null)", uq__g ? uq__g : "(null)"); } while (0)
#define ASSERT_MEM_EQ(exp, got, n) do { if (memcmp((exp), (got), (n))) UQ__FAILF("%s and %s differ in their first %lu bytes", #exp, #got, (unsigned long)(n)); } while (0)
/* uniql_result values */
#define ASSERT_OK(expr) do { int uq__r = (int)(expr); \
        if (uq__r != 0) UQ__FAILF("%s returned %d (%s)", #expr, uq__r, uniql_result_string((uniql_result)uq__r)); } while (0)
#define ASSERT_ERR(code, expr) do { int uq__r = (int)(expr); \
        if (uq__r != (int)(code)) UQ__FAILF("%s returned %d (%s), expected %s", #expr, uq__r, uniql_result_string((uniql_result)uq__r), #code); } while (0)

#define UQ_NOTE(...) do { printf("    note: "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

#define RUN_TEST(fn) uq__run_test(#fn, fn)
#define RUN_SUITE(fn) uq__run_suite(#fn, fn)

void uq__run_test(const char *name, uq_status (*fn)(void));
void uq__run_suite(const char *name, void (*fn)(void));

#define UQ_MAIN_DEFS() \
    uq_state uq__st; \
    void uq__run_suite(const char *name, void (*fn)(void)) { \
        if (uq__st.suite_filter && !strstr(name, uq__st.suite_filter)) return; \
        uq__st.suite = name; \
        if (uq__st.verbose) printf("* suite %s\n", name); \
        fn(); \
    } \
    void uq__run_test(const char *name, uq_status (*fn)(void)) { \
        clock_t t0; uq_status s; \
        if (uq__st.test_filter && !strstr(name, uq__st.test_filter)) return; \
        uq__st.fail_msg[0] = 0; \
        if (uq__st.verbose) { printf("  %s.%s\n", uq__st.suite, name); fflush(stdout); } \
        t0 = clock(); \
        s = fn(); \
        if (s == UQ_PASS) { uq__st.passed++; \
            if (uq__st.verbose) printf("    ok (%.2f s)\n", (double)(clock() - t0) / CLOCKS_PER_SEC); } \
        else if (s == UQ_SKIP) { uq__st.skipped++; printf("  SKIP %s.%s: %s\n", uq__st.suite, name, uq__st.fail_msg); } \
        else { uq__st.failed++; printf("  FAIL %s.%s: %s (%s:%d)\n", uq__st.suite, name, uq__st.fail_msg, \
                                      uq__st.fail_file ? uq__st.fail_file : "?", uq__st.fail_line); } \
        fflush(stdout); \
    }

#define UQ_MAIN_BEGIN(argc, argv) do { int uq__i; memset(&uq__st, 0, sizeof uq__st); \
        for (uq__i = 1; uq__i < (argc); uq__i++) { \
            if (!strcmp((argv)[uq__i], "-t") && uq__i + 1 < (argc)) uq__st.test_filter = (argv)[++uq__i]; \
            else if (!strcmp((argv)[uq__i], "-s") && uq__i + 1 < (argc)) uq__st.suite_filter = (argv)[++uq__i]; \
            else if (!strcmp((argv)[uq__i], "-v")) uq__st.verbose = 1; \
            else { printf("usage: %s [-v] [-s suite-substring] [-t test-substring]\n", (argv)[0]); return 2; } \
        } } while (0)

#define UQ_MAIN_END() do { \
        if (uq__st.skipped) printf("%d skipped\n", uq__st.skipped); \
        printf("%d passed, %d failed\n", uq__st.passed, uq__st.failed); \
        return uq__st.failed ? 1 : 0; } while (0)

#endif /* UQ_TEST_H */
