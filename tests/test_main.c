/* test_main.c - the one translation unit with UNIQL_IMPLEMENTATION, and the list of
   suites. Every other tests/test_*.c includes uniql.h for declarations only, which also
   proves that the header links from several translation units. */
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include "tutil.h"

/* Every allocation of the library goes through a counting allocator, so tests can check
   what a parse or a load costs (tutil_alloc_live / tutil_alloc_peak, bytes requested).
   A 16-byte header in front keeps malloc's alignment (the .uniql reader needs 16). */
size_t tutil_alloc_live, tutil_alloc_peak;
static void *uq_malloc(size_t n)
{
    unsigned char *p = n <= (size_t)-1 - 16 ? (unsigned char *)malloc(n + 16) : NULL;
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    tutil_alloc_live += n;
    if (tutil_alloc_live > tutil_alloc_peak) tutil_alloc_peak = tutil_alloc_live;
    return p + 16;
}
static void uq_free(void *q)
{
    size_t n;
    unsigned char *p;
    if (!q) return;
    p = (unsigned char *)q - 16;
    memcpy(&n, p, sizeof n);
    tutil_alloc_live -= n;
    free(p);
}
#define UNIQL_MALLOC(size, user) ((void)(user), uq_malloc(size))
#define UNIQL_FREE(ptr, user) ((void)(user), uq_free(ptr))
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "uq_test.h"

SUITE_EXTERN(core_suite);
SUITE_EXTERN(linalg_suite);
SUITE_EXTERN(parse_suite);
SUITE_EXTERN(model_suite);
SUITE_EXTERN(lsaq_suite);
SUITE_EXTERN(quant_suite);
SUITE_EXTERN(gptq_suite);
SUITE_EXTERN(uniql_suite);
SUITE_EXTERN(pack_suite);
SUITE_EXTERN(layerwise_suite);
SUITE_EXTERN(packtool_suite);
SUITE_EXTERN(bad_suite);
SUITE_EXTERN(ppl_suite);
SUITE_EXTERN(bpe_suite);
SUITE_EXTERN(speed_suite);
SUITE_EXTERN(recover_suite);
SUITE_EXTERN(tokenizer_suite);

UQ_MAIN_DEFS()

int main(int argc, char **argv)
{
    UQ_MAIN_BEGIN(argc, argv);
    RUN_SUITE(core_suite);
    RUN_SUITE(linalg_suite);
    RUN_SUITE(parse_suite);
    RUN_SUITE(model_suite);
    RUN_SUITE(lsaq_suite);
    RUN_SUITE(quant_suite);
    RUN_SUITE(gptq_suite);
    RUN_SUITE(uniql_suite);
    RUN_SUITE(pack_suite);
    RUN_SUITE(layerwise_suite);
    RUN_SUITE(packtool_suite);
    RUN_SUITE(bad_suite);
    RUN_SUITE(ppl_suite);
    RUN_SUITE(bpe_suite);
    RUN_SUITE(speed_suite);
    RUN_SUITE(recover_suite);
    RUN_SUITE(tokenizer_suite);
    UQ_MAIN_END();
}
