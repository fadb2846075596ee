/* test_main.c - the one translation unit with UNIQL_IMPLEMENTATION, and the list of
   suites. Every other tests/test_*.c includes uniql.h for declarations only, which also
   proves that the header links from several translation units. */
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
    RUN_SUITE(bad_suite);
    RUN_SUITE(ppl_suite);
    RUN_SUITE(bpe_suite);
    RUN_SUITE(speed_suite);
    RUN_SUITE(recover_suite);
    RUN_SUITE(tokenizer_suite);
    UQ_MAIN_END();
}
